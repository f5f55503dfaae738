/**
 * SHEPHERD_EGRESS_HOSTS as the worker reads it: a JSON object of host → CIDRs that the egress
 * NetworkPolicy of a restricted session is built from. Anything else stops the worker at start
 * with an error naming the variable and the entry, rather than failing sessions one by one later.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCidr, parseEgressHosts, workerConfigFromEnv } from '../../src/worker/config.js';

// No Temporal profile file of the machine's user may leak into these cases.
const base = { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'shepherd-no-such-temporal.toml') };

test('unset or empty: no hosts', () => {
  assert.equal(workerConfigFromEnv(base).egressHosts, undefined);
  assert.equal(workerConfigFromEnv({ ...base, SHEPHERD_EGRESS_HOSTS: ' ' }).egressHosts, undefined);
});

test('hosts with IPv4 and IPv6 CIDRs, host names lower-cased', () => {
  const config = workerConfigFromEnv({
    ...base,
    SHEPHERD_EGRESS_HOSTS:
      '{"api.anthropic.com":["160.79.104.0/23"],"GitHub.com":["140.82.112.0/20","2a0a:a440::/29"]}',
  });
  assert.deepEqual(config.egressHosts, {
    'api.anthropic.com': ['160.79.104.0/23'],
    'github.com': ['140.82.112.0/20', '2a0a:a440::/29'],
  });
});

test('a bad value is refused, naming the variable and the entry', () => {
  const cases: Array<[string, RegExp]> = [
    ['{', /^SHEPHERD_EGRESS_HOSTS is not JSON \(.*\): set it to an object such as \{"api\.anthropic\.com"/],
    ['["github.com"]', /^SHEPHERD_EGRESS_HOSTS must be a JSON object of host → CIDRs/],
    [
      '{"https://github.com":["1.2.3.0/24"]}',
      /^SHEPHERD_EGRESS_HOSTS has the key "https:\/\/github\.com", which is not a host name/,
    ],
    ['{"github.com:443":["1.2.3.0/24"]}', /which is not a host name/],
    ['{"*.github.com":["1.2.3.0/24"]}', /which is not a host name/],
    [
      '{"github.com":"1.2.3.0/24"}',
      /^SHEPHERD_EGRESS_HOSTS\["github\.com"\] must be a non-empty array of CIDRs/,
    ],
    ['{"github.com":[]}', /must be a non-empty array of CIDRs/],
    [
      '{"github.com":["1.2.3.4"]}',
      /^SHEPHERD_EGRESS_HOSTS\["github\.com"\] has "1\.2\.3\.4", which is not a CIDR/,
    ],
    ['{"github.com":["1.2.3.0/33"]}', /has "1\.2\.3\.0\/33", which is not a CIDR/],
    ['{"a.example":["10.0.0.0/8"],"A.example":["10.0.0.0/8"]}', /names the host a\.example twice/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseEgressHosts(value), { message }, value);
    assert.throws(() => workerConfigFromEnv({ ...base, SHEPHERD_EGRESS_HOSTS: value }), { message }, value);
  }
});

test('CIDRs: an address of either family and a prefix length within it', () => {
  for (const good of [
    '0.0.0.0/0',
    '10.0.0.0/8',
    '192.0.2.7/32',
    '::/0',
    '2001:db8::/32',
    '2001:db8::1/128',
  ]) {
    assert.ok(isCidr(good), good);
  }
  for (const bad of [
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0/8',
    '300.0.0.0/8',
    '::1/129',
    'github.com/24',
    '10.0.0.0/8/8',
  ]) {
    assert.ok(!isCidr(bad), bad);
  }
});
