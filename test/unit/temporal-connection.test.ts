/**
 * The Temporal connection settings the worker and the API share: the standard TEMPORAL_*
 * variables (as the chart sets them from its values) become the address, namespace, TLS and API
 * key, and a bad setting is refused by name without echoing the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { temporalTarget } from '../../src/common/temporal-connection.js';

// No profile file of the machine's user may leak into these cases.
/** The bytes of a certificate as text. */
const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString() : undefined);
const base = { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'shepherd-no-such-temporal.toml') };

test('no settings: the local dev server and namespace default, without TLS', () => {
  assert.deepEqual(temporalTarget(base), { connection: { address: '127.0.0.1:7233' }, namespace: 'default' });
});

test('Temporal Cloud: address, namespace and API key (TLS implied by the key)', () => {
  const target = temporalTarget({
    ...base,
    TEMPORAL_ADDRESS: 'shepherd.a1b2c.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'shepherd.a1b2c',
    TEMPORAL_API_KEY: 'key-that-must-stay-secret',
  });
  assert.equal(target.connection.address, 'shepherd.a1b2c.tmprl.cloud:7233');
  assert.equal(target.namespace, 'shepherd.a1b2c');
  assert.equal(target.connection.apiKey, 'key-that-must-stay-secret');
  assert.ok(target.connection.tls, 'an API key turns TLS on');
});

test('mTLS from mounted files: the client pair, the CA and the server name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-tls-'));
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, name), `-----${name}-----\n`);
  const target = temporalTarget({
    ...base,
    TEMPORAL_ADDRESS: 'temporal-frontend.temporal:7233',
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'tls.crt'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'tls.key'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
    TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  });
  const tls = target.connection.tls;
  assert.ok(tls && typeof tls === 'object');
  assert.equal(tls.serverNameOverride, 'temporal.internal');
  assert.equal(text(tls.clientCertPair?.crt), '-----tls.crt-----\n');
  assert.equal(text(tls.clientCertPair?.key), '-----tls.key-----\n');
  assert.equal(text(tls.serverRootCACertificate), '-----ca.crt-----\n');
});

test('a certificate file that is not there is refused by name, and the API key is not echoed', () => {
  assert.throws(
    () =>
      temporalTarget({
        ...base,
        TEMPORAL_API_KEY: 'key-that-must-stay-secret',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/tls.crt',
        TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/tls.key',
      }),
    (error: Error) =>
      /Temporal connection settings/.test(error.message) &&
      /tls\.crt|TLS|ENOENT/i.test(error.message) &&
      !error.message.includes('key-that-must-stay-secret'),
  );
});
