/**
 * Tells a Kubernetes refusal that retrying cannot fix from a failure that may pass. When the API
 * server answers a create or replace of a session's object with a 4xx — invalid (400, 422),
 * forbidden (403: RBAC, ResourceQuota, admission webhooks), not found (404: the namespace is
 * gone) — sending the same object again gets the same answer, so the activity fails with a
 * non-retryable RejectedError carrying the API server's message, which names the field. Conflicts
 * (409) are the caller's to handle; throttling (429), timeouts (408), the worker's own expired
 * credentials (401), 5xx and network errors stay retryable. Pure: it only reads the error.
 */
import * as k8s from '@kubernetes/client-node';
import { RejectedError } from '../errors.js';

/** 4xx answers that retrying may get past. */
const RETRYABLE_CLIENT_ERRORS = new Set([401, 408, 409, 429]);

/** The HTTP status of a Kubernetes client error, or undefined for any other error. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof k8s.ApiException ? error.code : undefined;
}

/** The object a request was about, for the message. */
export interface RefusedObject {
  kind: string;
  name: string;
}

/** The `message` of the Status the API server sent, if the body is one. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && 'message' in parsed) {
    const message = parsed.message;
    return typeof message === 'string' && message ? message : undefined;
  }
  return undefined;
}

/** Replaces every occurrence of each value (non-empty) with `[redacted]`. */
function redact(text: string, values: readonly string[]): string {
  return values
    .filter((value) => value.length > 0)
    .reduce((current, value) => current.split(value).join('[redacted]'), text);
}

/**
 * The RejectedError for a refused request, or undefined when the failure may pass on a retry (or
 * is not an answer of the API server at all).
 *
 * @param error What the client threw.
 * @param object The object sent, named in the message.
 * @param secretValues Values the message must never show (a Secret's contents), should the API
 *   server ever echo them.
 */
export function refusalOf(
  error: unknown,
  object: RefusedObject,
  secretValues: readonly string[] = [],
): RejectedError | undefined {
  if (!(error instanceof k8s.ApiException)) return undefined;
  const code = error.code;
  if (code < 400 || code >= 500 || RETRYABLE_CLIENT_ERRORS.has(code)) return undefined;
  const answer = statusMessage(error.body) ?? `HTTP ${code}`;
  return new RejectedError(
    redact(`Kubernetes refused ${object.kind} ${object.name}: ${answer}`, secretValues),
  );
}
