/**
 * A list's `continue` parameter is checked before it reaches the API server, so a truncated or
 * made-up token is a fast 400 naming the parameter rather than a wait on the API server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continueTokenProblem } from '../../src/runtime/kubernetes/continue-token.js';

const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test("a token in the API server's format passes", () => {
  assert.equal(
    continueTokenProblem(token({ v: 'meta.k8s.io/v1', rv: 1234, start: 'fix-build\u0000' })),
    undefined,
  );
});

test('a malformed token is refused with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['not base64!', /base64url/],
    ['%zz', /base64url/],
    ['abc', /continue token/],
    [token({ v: 'meta.k8s.io/v2', rv: 1, start: 'a' }), /continue token/],
    [token({ v: 'meta.k8s.io/v1', rv: 0, start: 'a' }), /resource version/],
    [token({ v: 'meta.k8s.io/v1', rv: '5', start: 'a' }), /resource version/],
    [token({ v: 'meta.k8s.io/v1', rv: 5 }), /start key/],
    [token(null), /continue token/],
    [token('text'), /continue token/],
  ];
  for (const [value, reason] of cases) assert.match(continueTokenProblem(value) ?? 'passed', reason, value);
});
