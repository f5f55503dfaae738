/**
 * Child object names are deterministic and valid for any session name the API server accepts, so
 * a retried activity finds what an earlier try created.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_NAME_LENGTH,
  jobName,
  sessionLabelValue,
  sessionObjectNames,
} from '../../src/runtime/kubernetes/builders/session-names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function allNames(session: string, attempt = 1): string[] {
  const { pvc, secret, runner, egress } = sessionObjectNames(session);
  return [pvc, secret, runner, egress, jobName(session, attempt), sessionLabelValue(session)];
}

describe('session object names', () => {
  it('a short session name is used as is, with a readable suffix per object', () => {
    assert.deepEqual(sessionObjectNames('fix-bug'), {
      pvc: 'fix-bug-workspace',
      secret: 'fix-bug-session',
      runner: 'fix-bug-runner',
      egress: 'fix-bug-egress',
    });
    assert.equal(jobName('fix-bug', 3), 'fix-bug-a3');
    assert.equal(sessionLabelValue('fix-bug'), 'fix-bug');
  });

  it('names are the same every time for the same session', () => {
    const name = 'a'.repeat(120);
    assert.deepEqual(allNames(name), allNames(name));
  });

  it('a 70-character session name still gives valid, distinct object names', () => {
    const first = `${'refactor-payment-service-'.repeat(2)}and-update-the-docs-one`;
    const second = `${'refactor-payment-service-'.repeat(2)}and-update-the-docs-two`;
    assert.equal(first.length, 73);
    const names = [...allNames(first), ...allNames(second)];
    for (const name of names) {
      assert.ok(name.length <= MAX_NAME_LENGTH, `${name} is ${name.length} characters`);
      assert.match(name, DNS_LABEL);
      assert.match(name, LABEL_VALUE);
    }
    assert.equal(new Set(names).size, names.length, 'every name is distinct');
    assert.ok(
      jobName(first, 1).startsWith('refactor-payment-service-'),
      'a shortened name keeps a readable prefix',
    );
  });

  it('a 253-character dotted session name gives valid names for every attempt up to 1000', () => {
    const name = `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(70)}`;
    assert.equal(name.length, 253);
    for (const attempt of [1, 9, 10, 1000]) {
      const job = jobName(name, attempt);
      assert.ok(job.length <= MAX_NAME_LENGTH);
      assert.match(job, DNS_SUBDOMAIN);
      assert.ok(job.endsWith(`-a${attempt}`));
    }
  });

  it('a cut that would end in a dot or dash is trimmed so the name stays valid', () => {
    const name = `${'b'.repeat(42)}.${'c'.repeat(40)}`;
    for (const value of allNames(name)) assert.match(value, DNS_SUBDOMAIN);
  });

  it('attempt numbers below 1 are a programming error', () => {
    assert.throws(() => jobName('s', 0), RangeError);
  });
});
