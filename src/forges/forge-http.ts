/**
 * What both forge adapters share about HTTP: every call bounded in time (and stoppable by the
 * caller's signal), and a failed call turned into the port's ForgeUnavailableError (retry) or
 * ForgeRefusedError (report) with a message that names the forge, the repository, the call and
 * the fix. Messages quote the forge's own words only after removing anything credential-like, and
 * the client library's error is never attached as `cause`: Temporal would serialize it (request
 * options, headers) into workflow history, where nobody can take it back.
 */
import { Redactor } from '../runner/redact.js';
import { ForgeRefusedError, type ForgeRepo, ForgeUnavailableError } from './forge.js';

/** What an adapter was doing when a call failed: everything an error message names. */
export interface ForgeCall {
  /** The forge as people know it, e.g. `GitHub https://github.com`. */
  forge: string;
  repo: ForgeRepo;
  /** What was asked, e.g. `opening a pull request shepherd/s → main`. */
  what: string;
  /** The permission the call needs, in the forge's words, e.g. `pull_requests:write`. */
  permission: string;
  /** Whose credentials, e.g. `the token of Secret default/forge`. */
  credentials: string;
  /** How to grant a missing permission, e.g. `in the GitHub App's settings, then accept it on the installation`. */
  grant: string;
  /** How to give the credentials access to a repository, e.g. `install the GitHub App on it`. */
  access: string;
}

/** How a failed HTTP answer of a forge reads, once the adapter has looked at its headers and body. */
export interface ForgeAnswer {
  status: number;
  /** The forge's own message, e.g. GitHub's `message` (and its `errors`). */
  message?: string;
  /** A 403 that is a (primary or secondary) rate limit rather than a missing permission. */
  rateLimited?: boolean;
  retryAfterSeconds?: number;
}

// A proxy's error page can be a whole HTML document; the first line or so says enough.
const MAX_FORGE_MESSAGE = 300;

/** Text from a forge, made safe for an error message: credentials replaced, bounded, on one line. */
export function forgeText(text: string, secrets: Iterable<string | undefined>): string {
  const line = new Redactor(secrets)
    .redact(text)
    // Credentials a forge might echo that we never held ourselves (an installation token minted
    // by @octokit/auth-app, an Authorization header quoted back).
    .replace(/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{10,}/g, '[redacted]')
    // (Credential-long only: Gitea's "token scope=write:issue" is worth keeping.)
    .replace(/\b(token|bearer|basic)\s+[A-Za-z0-9._~+/=-]{20,}/gi, '$1 [redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > MAX_FORGE_MESSAGE ? `${line.slice(0, MAX_FORGE_MESSAGE)}…` : line;
}

function repoName(repo: ForgeRepo): string {
  return `${repo.owner}/${repo.name}`;
}

/** What to do about a refusal, by status. */
function fixFor(call: ForgeCall, status: number): string {
  const repo = repoName(call.repo);
  switch (status) {
    case 401:
      return `${call.credentials} is not accepted (wrong, expired or revoked): replace it`;
    case 403:
      return `${call.credentials} lacks the ${call.permission} permission on ${repo}: grant it ${call.grant}`;
    case 404:
      return `${repo} does not exist on ${call.forge}, or ${call.credentials} cannot see it: check the repository URL, or ${call.access}`;
    case 409:
    case 422:
      return `the forge would not take the request as made: see its message`;
    default:
      return `see the forge's message`;
  }
}

/** The error for a failed answer: unavailable (retry) or refused (report), with a message naming the fix. */
export function forgeAnswerError(
  call: ForgeCall,
  answer: ForgeAnswer,
): ForgeUnavailableError | ForgeRefusedError {
  const said = answer.message ? `: ${answer.message}` : '';
  const head = `${call.forge}: ${call.what} in ${repoName(call.repo)} failed with HTTP ${answer.status}${said}`;
  const retryable =
    answer.status >= 500 ||
    answer.status === 429 ||
    answer.status === 408 ||
    (answer.status === 403 && answer.rateLimited === true);
  if (retryable) {
    const limited = answer.status === 429 || answer.rateLimited === true;
    const when =
      answer.retryAfterSeconds !== undefined ? ` (the forge asks to wait ${answer.retryAfterSeconds} s)` : '';
    return new ForgeUnavailableError(
      `${head}; ${limited ? `rate limited${when}: ${call.credentials} made too many calls` : `the forge is unavailable${when}`}; it is retried`,
      answer.retryAfterSeconds,
    );
  }
  return new ForgeRefusedError(`${head}; ${fixFor(call, answer.status)}`, answer.status);
}

/** The error for a call that got no answer: a network error or a timeout, always retryable. */
export function forgeUnreachableError(call: ForgeCall, reason: string): ForgeUnavailableError {
  return new ForgeUnavailableError(
    `${call.forge}: ${call.what} in ${repoName(call.repo)} got no answer (${forgeText(reason, [])}); it is retried`,
  );
}

/** How long one forge call may take, headers and body, before it counts as unanswered. */
export const DEFAULT_FORGE_TIMEOUT_MS = 30_000;

/**
 * `fetch` with every call ending after `timeoutMs` or when `signal` (the caller's: an activity's
 * cancellation) aborts, whichever is first, on top of any signal of the call itself.
 */
export function boundedFetch(base: typeof fetch, timeoutMs: number, signal?: AbortSignal): typeof fetch {
  return (input, init) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (init?.signal) signals.push(init.signal);
    if (signal) signals.push(signal);
    return base(input, { ...init, signal: AbortSignal.any(signals) });
  };
}

/**
 * Why a call got no answer, in words, from what fetch threw (or a client library wrapped): a
 * timeout, a cancellation, or the innermost cause (`connect ECONNREFUSED …` rather than fetch's
 * `fetch failed`).
 */
export function unansweredReason(error: unknown, timeoutMs: number): string {
  const seen = new Set<unknown>();
  let innermost: Error | undefined;
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
    if (e.name === 'AbortError') return 'the call was cancelled';
    innermost = e instanceof AggregateError && e.errors[0] instanceof Error ? e.errors[0] : e;
  }
  return innermost?.message || String(error);
}
