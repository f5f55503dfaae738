/**
 * The message of a status write the AgentSession's schema refused (HTTP 422). The API server's
 * Status names the field and the rule ("status.summary: Too long: may not be more than 4096
 * bytes"); that is what the user and the lead need to read, not the client's generic "HTTP-Code:
 * 422" wrapper with the whole response inside.
 */
import type { SessionRef } from '../session-activities.js';

/** Longest refusal quoted: a Status listing many causes stays readable in a failure. */
const MAX_REFUSAL_LENGTH = 2048;

/** The `message` of a Kubernetes Status response body, given as parsed JSON or as its text. */
export function statusMessageOf(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const message = (parsed as { message?: unknown }).message;
  return typeof message === 'string' && message.trim() ? message.trim() : undefined;
}

/** What `mirrorStatus` reports when the status subresource of `session` refused a status. */
export function statusRefusalMessage(session: SessionRef, error: unknown): string {
  const body = (error as { body?: unknown } | undefined)?.body;
  const detail = statusMessageOf(body) ?? (error instanceof Error ? error.message : String(error));
  const quoted = detail.length > MAX_REFUSAL_LENGTH ? `${detail.slice(0, MAX_REFUSAL_LENGTH)}…` : detail;
  return `the API server refused the status of AgentSession ${session.namespace}/${session.name} (not retried, the same status would be refused again): ${quoted}`;
}
