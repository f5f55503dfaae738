/**
 * The API's errors: every failure a caller can see has a stable `code`, an HTTP status and a
 * message that says what to do. Backends and auth throw `ApiError`s (or let client errors escape,
 * which `toApiError` classifies); the app's one error handler turns them into
 * `{ code, message, details }`. Anything unclassified becomes `Internal` with no internals.
 */
import * as k8s from '@kubernetes/client-node';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/** The stable error codes and their HTTP statuses. Clients switch on `code`, never on `message`. */
export const ErrorCode = {
  /** The session in the request body breaks a rule of the AgentSession CRD; `details.field` names it. */
  InvalidSession: 400,
  /** A path parameter or query parameter is malformed (e.g. `limit=abc`). */
  InvalidRequest: 400,
  /** No bearer token, or the token was rejected (TokenReview, or the static token in local mode). */
  Unauthenticated: 401,
  /**
   * A webhook delivery's signature is missing, forged, or (Slack) its timestamp is outside the
   * five-minute window: it verifies with the webhook secret of no trigger of its source.
   */
  InvalidSignature: 401,
  /** The caller may not do this to sessions in this namespace (SubjectAccessReview said no). */
  Forbidden: 403,
  /**
   * The session asks for something its namespace's NamespacePolicy does not allow;
   * `details.rule` names the (first) policy rule broken and `details.field` the session's field;
   * `details.violations` lists every broken rule with its field and message.
   */
  PolicyViolation: 403,
  /** The session (or route) does not exist. */
  NotFound: 404,
  /** The path exists but not with this HTTP method; the `Allow` header lists the methods it has. */
  MethodNotAllowed: 405,
  /** A session with this name already exists in the namespace. */
  AlreadyExists: 409,
  /**
   * The session cannot take this prompt or answer now (finished, stopping, running a turn, no
   * question waiting, or a workflow from before conversations); the message says why and what to do.
   */
  PromptRefused: 409,
  /**
   * The session takes no approval now: it is not WaitingForApproval (waiting at a budget cap), or
   * the cap given is not above what was spent; the message says which.
   */
  ApprovalRefused: 409,
  /** The `continue` token of a list has expired (the API server compacted past it); list again from the start. */
  ContinueExpired: 410,
  /** The request body is over the stated limit. */
  PayloadTooLarge: 413,
  /** The URL is longer than the server reads. */
  UriTooLong: 414,
  /** The body is not JSON (or not UTF-8). */
  UnsupportedMediaType: 415,
  /** The Kubernetes API server is throttling the API; retry after `details.retryAfterSeconds`. */
  TooManyRequests: 429,
  /** The request headers are larger than the server reads (16 KiB in all). */
  HeadersTooLarge: 431,
  /** The runner's logs could not be read from where they live (node or file). */
  LogsUnavailable: 502,
  /** The API has not read the AgentTriggers yet (it just started, or cannot reach Kubernetes); retry later. */
  TriggersNotReady: 503,
  /**
   * The session's workflow did not take or refuse a prompt or an approval in time (its worker is
   * down or restarting). It may still take it once the worker is back: check its turns (or phase)
   * before sending again.
   */
  SessionUnresponsive: 503,
  /** The Temporal server cannot be reached; retry later. */
  TemporalUnavailable: 503,
  /** The Kubernetes API server cannot be reached; retry later. */
  KubernetesUnavailable: 503,
  /** Anything else; the details are in the API's log, never in the response. */
  Internal: 500,
} as const;

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ErrorCode;

/** A failure with a stable code, safe to show to the caller as is. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.statusCode = ErrorCode[code];
  }
}

/** gRPC status codes that mean "the server is not there (or too slow)", not "the call was wrong". */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

function isTemporalUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth += 1) {
    if (isGrpcServiceError(e) && [GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED].includes(Number(e.code)))
      return true;
    const code = (e as { code?: unknown }).code;
    if (e instanceof ServiceError || (e as Error).name === 'ServiceError') {
      if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The message of a Kubernetes `Status` body, which the API server writes for people to read. */
function kubeStatusMessage(error: k8s.ApiException<unknown>): string | undefined {
  const body: unknown = error.body;
  const parsed: unknown = typeof body === 'string' ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Classifies any error as an `ApiError`, or returns undefined for a genuine internal failure.
 *
 * @param what What was being acted on, for NotFound/AlreadyExists messages, e.g. `session a/b`.
 */
export function toApiError(error: unknown, what = 'the object'): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof k8s.ApiException) {
    const code = (error as k8s.ApiException<unknown>).code;
    if (code === 404) return new ApiError('NotFound', `${what} does not exist`);
    if (code === 409) return new ApiError('AlreadyExists', `${what} already exists; choose another name`);
    if (code === 422) {
      // The API server's own validation (CRD schema and CEL): its message names the field.
      return new ApiError(
        'InvalidSession',
        kubeStatusMessage(error as k8s.ApiException<unknown>) ?? 'invalid session',
      );
    }
    if (code === 403) {
      // The API's own credentials lack a permission (the caller's were checked before the call).
      return new ApiError(
        'Forbidden',
        `the API is not allowed to act on ${what}: ${kubeStatusMessage(error as k8s.ApiException<unknown>) ?? 'forbidden'}; grant the API's service account the RBAC rules in the chart`,
      );
    }
    if (code === 410) {
      return new ApiError(
        'ContinueExpired',
        'the continue token has expired; list again without continue to start from the first page',
        { field: 'continue' },
      );
    }
    if (code === 429) {
      const retryAfter = Number((error as k8s.ApiException<unknown>).headers?.['retry-after'] ?? 1);
      return new ApiError(
        'TooManyRequests',
        'the Kubernetes API server is throttling requests; retry shortly',
        {
          retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
        },
      );
    }
    if (code === 503 || code === 504) {
      return new ApiError('KubernetesUnavailable', 'the Kubernetes API server is unavailable; retry shortly');
    }
    return undefined;
  }
  if (isTemporalUnreachable(error)) {
    return new ApiError('TemporalUnavailable', 'the Temporal server is unreachable; retry shortly');
  }
  if (isNetworkError(error)) {
    return new ApiError('KubernetesUnavailable', 'the Kubernetes API server is unreachable; retry shortly');
  }
  return undefined;
}
