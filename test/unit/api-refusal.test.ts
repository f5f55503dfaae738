/**
 * Which answers of the API server end a session at once (RejectedError, carrying the server's own
 * message) and which are retried: what a user sees when Kubernetes refuses a session's object.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { refusalOf } from '../../src/runtime/kubernetes/api-refusal.js';
import { RejectedError } from '../../src/runtime/errors.js';

const status = (code: number, message: string) =>
  new ApiException(
    code,
    'Unknown API Status Code!',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }),
    {},
  );

const job = { kind: 'Job', name: 's1-a1' };

describe('refusalOf', () => {
  it('turns invalid, forbidden and not-found answers into RejectedError with the server message', () => {
    const cases: Array<[number, string]> = [
      [
        422,
        'Job.batch "s1-a1" is invalid: spec.template.labels: Invalid value: "a b": a valid label must be ...',
      ],
      [400, 'the body of the request was in an unknown format'],
      [
        403,
        'persistentvolumeclaims "s1-workspace" is forbidden: exceeded quota: q, requested: persistentvolumeclaims=1',
      ],
      [404, 'namespaces "gone" not found'],
    ];
    for (const [code, message] of cases) {
      const refusal = refusalOf(status(code, message), job);
      assert.ok(refusal instanceof RejectedError, String(code));
      assert.equal(refusal.name, 'RejectedError');
      assert.equal(refusal.message, `Kubernetes refused Job s1-a1: ${message}`);
    }
  });

  it('leaves conflicts, throttling, timeouts, expired credentials, 5xx and network errors to retries', () => {
    for (const code of [401, 408, 409, 429, 500, 503, 504]) {
      assert.equal(refusalOf(status(code, 'try later'), job), undefined, String(code));
    }
    assert.equal(refusalOf(new Error('connect ECONNREFUSED 127.0.0.1:6443'), job), undefined);
    assert.equal(refusalOf(new TypeError('fetch failed'), job), undefined);
  });

  it('reads a body that is not a Status, and falls back to the HTTP code', () => {
    assert.equal(
      refusalOf(new ApiException(403, 'Forbidden', 'plain text refusal', {}), job)?.message,
      'Kubernetes refused Job s1-a1: plain text refusal',
    );
    assert.equal(
      refusalOf(new ApiException(403, 'Forbidden', { message: 'parsed body' }, {}), job)?.message,
      'Kubernetes refused Job s1-a1: parsed body',
    );
    assert.equal(
      refusalOf(new ApiException(403, 'Forbidden', undefined, {}), job)?.message,
      'Kubernetes refused Job s1-a1: HTTP 403',
    );
  });

  it('never shows a secret value, even if the server echoed one', () => {
    const refusal = refusalOf(
      status(422, 'Secret "s1-session" is invalid: data[TOKEN]: Invalid value: "sk-secret-123"'),
      { kind: 'Secret', name: 's1-session' },
      ['sk-secret-123', ''],
    );
    assert.ok(refusal);
    assert.equal(refusal.message.includes('sk-secret-123'), false);
    assert.match(refusal.message, /data\[TOKEN\]: Invalid value: "\[redacted\]"/);
  });
});
