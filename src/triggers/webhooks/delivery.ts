/**
 * What the per-source parsers make of a verified delivery, and the decoding of its raw body. Kept
 * apart from the parsers so the route sees one result shape whatever the source: events to match
 * (several when a payload does not say which label or assignee changed, one per candidate), a
 * delivery to acknowledge and ignore, Slack's URL check, or an authentic but malformed body.
 */
import type { TriggerEvent } from '../trigger-event.js';

/** A verified delivery, parsed. */
export type ParsedDelivery =
  /** Candidate events; a trigger starts at most one session for the delivery, for the first it matches. */
  | { kind: 'events'; events: TriggerEvent[] }
  /** Nothing here can start a session (another event type or action, a bot's own message). */
  | { kind: 'ignored'; reason: string }
  /** Slack's `url_verification`: answer with the challenge. */
  | { kind: 'challenge'; challenge: string }
  /** Signed by the source but not what it documents (a header or field missing). */
  | { kind: 'invalid'; message: string };

/** A JSON object, as parsers read payloads. */
export type Json = Record<string, unknown>;

/** `value[key]` when `value` is an object. */
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Json)[key] : undefined;
}

/** `value[key]` when it is a non-empty string. */
export function text(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `value[key]` when it is a finite number. */
export function number(value: unknown, key: string): number | undefined {
  const v = field(value, key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `value[key]` when it is an array, else empty. */
export function list(value: unknown, key: string): unknown[] {
  const v = field(value, key);
  return Array.isArray(v) ? v : [];
}

/** A decoded body: the payload, or why it cannot be read. */
export type DecodedBody = { ok: true; payload: unknown } | { ok: false; message: string };

/** The media type of a Content-Type header, lower-case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseJson(raw: string, what: string): DecodedBody {
  try {
    return { ok: true, payload: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, message: `${what} is not valid JSON` };
  }
}

/**
 * The payload of a raw body:
 * - `application/json`: the JSON document;
 * - `application/x-www-form-urlencoded`: for Slack, the form's fields as an object (slash
 *   commands); otherwise the JSON in the form's `payload` field, which is how GitHub sends a
 *   webhook whose content type is set to form (and what it signs is the form body itself).
 */
export function decodeBody(contentType: string | undefined, body: Buffer, formFields: boolean): DecodedBody {
  const type = mediaType(contentType);
  const raw = body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw);
    if (formFields) return { ok: true, payload: Object.fromEntries(form) };
    const payload = form.get('payload');
    if (payload === null) return { ok: false, message: 'the form body has no payload field' };
    return parseJson(payload, 'the form field payload');
  }
  return parseJson(raw, 'the body');
}
