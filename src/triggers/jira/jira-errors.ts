/**
 * The errors of Shepherd's Jira calls, in three kinds a caller (and Temporal's retry policy, which
 * goes by the class name) can act on: Jira was unreachable or overloaded (retry), Jira refused the
 * request (fix the trigger, the account or the ticket), or the trigger itself cannot be used (a
 * missing Secret, a bad URL). Each message names the site, the ticket and what to do, and never a
 * credential: jira.js's own messages quote the response, so they are not passed on as they are.
 */
import { isApiError, isNetworkError, isRateLimitError, isSchemaMismatchError } from 'jira.js';

/** Jira could not be reached, timed out, or answered 5xx or 429: retrying may help. */
export class JiraUnavailableError extends Error {
  override readonly name = 'JiraUnavailableError';
}

/** Jira refused the request (4xx): retrying the same request cannot help. */
export class JiraRefusedError extends Error {
  override readonly name = 'JiraRefusedError';

  constructor(
    message: string,
    /** The HTTP status Jira answered. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** The trigger's Jira settings cannot be used (missing Secret or key, bad URL). */
export class JiraConfigError extends Error {
  override readonly name = 'JiraConfigError';
}

/** What a call was doing, for the message. */
export interface JiraCallContext {
  /** The site's host. */
  site: string;
  /** What was being done, e.g. "reading ticket ABC-1", "searching with the trigger's JQL". */
  action: string;
  /** The Secret whose credentials were used. */
  credentialsSecret: string;
}

/** Longest part of Jira's own explanation quoted in a message. */
const MAX_DETAIL = 500;

/** Jira's explanation of a refusal: its `errorMessages` and per-field `errors`, bounded. */
export function jiraErrorDetail(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const { errorMessages, errors } = body as { errorMessages?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (Array.isArray(errorMessages)) {
    for (const message of errorMessages) if (typeof message === 'string') parts.push(message);
  }
  if (typeof errors === 'object' && errors !== null) {
    for (const [field, message] of Object.entries(errors as Record<string, unknown>)) {
      if (typeof message === 'string') parts.push(`${field}: ${message}`);
    }
  }
  const detail = parts.join('; ');
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail;
}

/** The fix for a refusal, by status. */
function refusalFix(status: number, context: JiraCallContext): string {
  switch (status) {
    case 401:
      return `check the email and apiToken in Secret ${context.credentialsSecret} (spec.jira.credentialsSecretRef): they must be an Atlassian account's email and one of its API tokens`;
    case 403:
      return `give the account of Secret ${context.credentialsSecret} the project permission this needs (browse, transition, assign or comment)`;
    case 404:
      return 'check that the ticket exists and the account can see it';
    default:
      return 'check the trigger (spec.jira, spec.match.jql, spec.feedback.jira)';
  }
}

/** The Shepherd error for a failure of a jira.js call. */
export function classifyJiraError(error: unknown, context: JiraCallContext): Error {
  if (error instanceof JiraUnavailableError || error instanceof JiraRefusedError) return error;
  const at = `Jira at ${context.site}`;
  if (isRateLimitError(error)) {
    const wait = error.retryAfterMs ? ` (it asks to wait ${Math.ceil(error.retryAfterMs / 1000)} s)` : '';
    return new JiraUnavailableError(`${at} is rate limiting ${context.action}${wait}; it is retried`);
  }
  if (isApiError(error)) {
    const detail = jiraErrorDetail(error.body);
    const said = detail ? `: ${detail}` : '';
    if (error.status >= 500 || error.status === 408 || error.status === 429) {
      return new JiraUnavailableError(
        `${at} failed ${context.action} (HTTP ${error.status})${said}; it is retried`,
      );
    }
    return new JiraRefusedError(
      `${at} refused ${context.action} (HTTP ${error.status})${said}; ${refusalFix(error.status, context)}`,
      error.status,
    );
  }
  if (isNetworkError(error)) {
    const code = error.code ? ` (${error.code})` : '';
    return new JiraUnavailableError(
      `could not reach ${at} while ${context.action}${code}; check spec.jira.url and the network, it is retried`,
    );
  }
  if (isSchemaMismatchError(error)) {
    return new JiraConfigError(
      `${at} answered ${context.action} with something that is not Jira's REST API; check spec.jira.url (the site's address, e.g. https://example.atlassian.net)`,
    );
  }
  return new JiraUnavailableError(
    `${at} failed ${context.action}: ${(error as Error).message ?? String(error)}`,
  );
}
