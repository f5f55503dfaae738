/**
 * Checks a list `continue` token before it reaches the API server. The API server's tokens are
 * unpadded base64url of `{"v":"meta.k8s.io/v1","rv":<resourceVersion>,"start":"<key>"}`; one the
 * API server cannot decode is refused there only after the client's retries, so a caller pasting
 * a truncated token would wait instead of being told at once which parameter is wrong.
 */

/** Why `token` is not a continue token the API server issued, or undefined when it may be one. */
export function continueTokenProblem(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return 'is not base64url text';
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return 'does not decode to a continue token';
  }
  const { v, rv, start } = (decoded ?? {}) as { v?: unknown; rv?: unknown; start?: unknown };
  if (v !== 'meta.k8s.io/v1') return 'does not decode to a continue token';
  if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv <= 0) return 'has no valid resource version';
  if (typeof start !== 'string' || start.length === 0) return 'has no start key';
  return undefined;
}
