/**
 * The signature schemes of the webhook sources, checked on the raw body exactly as each vendor
 * documents it, so a delivery is trusted only when it was signed with a trigger's shared secret:
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
 *   (docs.github.com, "Validating webhook deliveries").
 * - Gitea: `X-Gitea-Signature: <hex HMAC-SHA256(secret, body)>`; Forgejo sends the same value as
 *   `X-Forgejo-Signature` (services/webhook/deliver.go).
 * - Jira Cloud admin webhooks with a secret: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret,
 *   body)>` (the WebSub `method=signature` form; developer.atlassian.com, "Secure admin webhooks").
 * - Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + X-Slack-Request-Timestamp +
 *   ":" + body)>`, refused when the timestamp is more than five minutes from now, so a captured
 *   request cannot be replayed later (api.slack.com, "Verifying requests from Slack").
 *
 * Digests are compared with `timingSafeEqual` on equal-length buffers, so the time a comparison
 * takes says nothing about how much of a forged signature was right. Pure apart from the clock,
 * which the caller passes in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerSource } from '../../resources/types.js';

/** Why a delivery's signature was refused. */
export type SignatureFailure =
  /** The source's signature header is absent (or, for Slack, the timestamp). */
  | 'missing'
  /** The header is not in the source's format (prefix, 64 hex digits, a numeric timestamp). */
  | 'malformed'
  /** Well-formed, but not made with this secret over this body. */
  | 'mismatch'
  /** Slack: the timestamp is outside the five-minute window. */
  | 'stale';

/** The outcome of a signature check. */
export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

/** Request headers as Node gives them: lower-case names. */
export type Headers = Record<string, string | string[] | undefined>;

/** How far Slack's request timestamp may be from now, either way. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** One header's value; a repeated header counts as its first value. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Hex HMAC-SHA256 of `data` with `secret`. */
export function hmacSha256Hex(secret: string, data: Buffer | string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** Compares a hex digest from a header with the expected one, in constant time. */
function hexDigestMatches(expectedHex: string, givenHex: string | undefined, prefix = ''): SignatureCheck {
  if (givenHex === undefined || givenHex === '') return { ok: false, reason: 'missing' };
  if (!givenHex.startsWith(prefix)) return { ok: false, reason: 'malformed' };
  const hex = givenHex.slice(prefix.length).trim();
  if (!HEX_SHA256.test(hex)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(hex, 'hex');
  const expected = Buffer.from(expectedHex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { ok: true }
    : { ok: false, reason: 'mismatch' };
}

/** GitHub's `X-Hub-Signature-256` over the raw body. */
export function verifyGitHubSignature(
  secret: string,
  body: Buffer,
  header: string | undefined,
): SignatureCheck {
  return hexDigestMatches(hmacSha256Hex(secret, body), header, 'sha256=');
}

/** Gitea's (or Forgejo's) bare hex signature over the raw body. */
export function verifyGiteaSignature(
  secret: string,
  body: Buffer,
  header: string | undefined,
): SignatureCheck {
  return hexDigestMatches(hmacSha256Hex(secret, body), header);
}

/** Jira's `X-Hub-Signature: sha256=…` over the raw body. */
export function verifyJiraSignature(
  secret: string,
  body: Buffer,
  header: string | undefined,
): SignatureCheck {
  return hexDigestMatches(hmacSha256Hex(secret, body), header, 'sha256=');
}

/** Slack's v0 base string: `v0:<timestamp>:<body>`. */
export function slackBaseString(timestamp: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`v0:${timestamp}:`, 'utf8'), body]);
}

/**
 * Slack's `v0` signature. The timestamp is checked first: a stale request is refused whatever its
 * signature, as Slack recommends.
 *
 * @param nowMs The current time (the caller's clock).
 */
export function verifySlackSignature(
  secret: string,
  body: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  nowMs: number,
): SignatureCheck {
  if (!signature || !timestamp) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'stale' };
  }
  return hexDigestMatches(hmacSha256Hex(secret, slackBaseString(timestamp, body)), signature, 'v0=');
}

/**
 * Checks a delivery of `source` against one secret, reading the source's own headers.
 *
 * @param nowMs The current time, for Slack's window.
 */
export function verifyDelivery(
  source: TriggerSource,
  secret: string,
  headers: Headers,
  body: Buffer,
  nowMs: number,
): SignatureCheck {
  switch (source) {
    case 'github':
      return verifyGitHubSignature(secret, body, headerValue(headers, 'x-hub-signature-256'));
    case 'gitea':
      return verifyGiteaSignature(
        secret,
        body,
        headerValue(headers, 'x-gitea-signature') ?? headerValue(headers, 'x-forgejo-signature'),
      );
    case 'jira':
      return verifyJiraSignature(secret, body, headerValue(headers, 'x-hub-signature'));
    case 'slack':
      return verifySlackSignature(
        secret,
        body,
        headerValue(headers, 'x-slack-signature'),
        headerValue(headers, 'x-slack-request-timestamp'),
        nowMs,
      );
  }
}

/** The headers a signed delivery of `source` carries, for tests and the benchmark. */
export function signDelivery(
  source: TriggerSource,
  secret: string,
  body: Buffer | string,
  nowMs: number,
): Record<string, string> {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  switch (source) {
    case 'github':
      return { 'x-hub-signature-256': `sha256=${hmacSha256Hex(secret, raw)}` };
    case 'gitea':
      return { 'x-gitea-signature': hmacSha256Hex(secret, raw) };
    case 'jira':
      return { 'x-hub-signature': `sha256=${hmacSha256Hex(secret, raw)}` };
    case 'slack': {
      const timestamp = String(Math.floor(nowMs / 1000));
      return {
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': `v0=${hmacSha256Hex(secret, slackBaseString(timestamp, raw))}`,
      };
    }
  }
}
