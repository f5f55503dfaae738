/**
 * The exit-code contract (docs/session-lifecycle.md): how one ended attempt of the runner turns
 * into the session's next step. Pure and free of Node built-ins, so the workflow decides with it
 * directly.
 *
 * Which failures are retried, and why:
 * - exit 1 (and any other non-zero code but 2): a runtime or agent failure; a fresh attempt on the
 *   same workspace may well succeed, so it is retried up to `spec.retries`, then Failed/RunnerExit.
 * - eviction, or a runner that vanished without an exit code: the node failed the runner, not the
 *   agent; retried exactly like exit 1.
 * - exit 2: a prerequisite is missing; the next attempt would miss it too. Never retried.
 * - OOM kill: the next attempt gets the same memory limit and would be killed again. Never retried;
 *   the message tells the user to raise the limit.
 * - image pull or container configuration errors: nothing changes between attempts. Never retried.
 * - deadline: the attempt used its whole timeout; a retry would double the time spent. TimedOut.
 */
import { Reason } from '../resources/conditions.js';
import { parseRunnerResult } from '../runner-contract/result.js';
import { formatDuration } from './duration.js';

/** How the runner's attempt ended, as the Job/Pod watcher observed it. */
export interface RunnerTermination {
  /** The runner container's exit code; absent when it never ran or vanished. */
  exitCode?: number;
  /**
   * Why it ended: the container's terminated reason (`Completed`, `Error`, `OOMKilled`,
   * `ContainerCannotRun`), the pod's reason (`Evicted`, `DeadlineExceeded`) or the Job's failed
   * condition reason (`DeadlineExceeded`, `BackoffLimitExceeded`), or `FailedCreate` when the
   * runtime refused to create the runner's pod (admission, quota): never retried.
   */
  reason?: string;
  /**
   * The runner container's waiting reason when it could not start, e.g. `ImagePullBackOff`,
   * `ErrImagePull`, `CreateContainerConfigError`.
   */
  waitingReason?: string;
  /** The termination message, pod message or event text that goes with the reason. */
  message?: string;
}

/** Where the attempt sits in the session's retry budget. */
export interface AttemptContext {
  /** The attempt that just ended, starting at 1. */
  attempt: number;
  /**
   * The first attempt of the current run. A restart begins a new run with a fresh retry budget,
   * while the attempt counter keeps growing on the same workspace.
   * @default 1
   */
  firstAttemptOfRun?: number;
  /** `spec.retries`: extra attempts allowed after a retryable failure. */
  retries: number;
  /** The per-attempt timeout, for the deadline message. */
  timeoutMs?: number;
}

/** The session's next step after an attempt ended. */
export type ExitOutcome =
  | { kind: 'succeeded'; reason: typeof Reason.Succeeded; message: string; exitCode: 0 }
  | { kind: 'retry'; reason: Reason; message: string; exitCode?: number }
  | { kind: 'failed'; reason: Reason; message: string; exitCode?: number }
  | { kind: 'timedOut'; reason: Reason; message: string; exitCode?: number };

/** Container waiting reasons of an image that cannot be pulled: final until the spec changes. */
export const IMAGE_PULL_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'SignatureValidationFailed',
]);

/** Container waiting reasons of a container that cannot be created: final until the spec changes. */
export const CONTAINER_CONFIG_REASONS: ReadonlySet<string> = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

const RETRIES_HINT = 'raise spec.retries to retry automatically';

/** Longest observed detail quoted in a message; a log tail can be long, the condition stays readable. */
const MAX_DETAIL_LENGTH = 2048;

/**
 * Appends the observed detail to a message, when there is one. A runner's JSON result is not a
 * detail for people: its summary is quoted instead (its other fields go into the status fields),
 * and a result without a summary adds nothing.
 */
function withDetail(message: string, detail: string | undefined): string {
  const result = parseRunnerResult(detail);
  const trimmed = (result ? result.summary : detail)?.trim();
  if (!trimmed) return message;
  const quoted = trimmed.length > MAX_DETAIL_LENGTH ? `…${trimmed.slice(-MAX_DETAIL_LENGTH)}` : trimmed;
  return `${message} (${quoted})`;
}

/** Names a signal for exit codes above 128, which a shell reports for a killed process. */
function describeExitCode(code: number): string {
  if (code > 128 && code < 160) return `exit code ${code} (killed by signal ${code - 128})`;
  return `exit code ${code}`;
}

/**
 * Maps an ended attempt to the session's next step.
 *
 * @param termination How the runner ended.
 * @param context The attempt number and retry budget.
 */
export function exitOutcome(termination: RunnerTermination, context: AttemptContext): ExitOutcome {
  const { exitCode, reason, waitingReason, message } = termination;
  const attemptsUsed = context.attempt - (context.firstAttemptOfRun ?? 1) + 1;
  const canRetry = attemptsUsed <= context.retries;
  const budget = `attempt ${attemptsUsed} of ${context.retries + 1}`;

  if (waitingReason && IMAGE_PULL_REASONS.has(waitingReason)) {
    return {
      kind: 'failed',
      reason: Reason.ImagePullBackOff,
      message: withDetail(
        `the runner image could not be pulled (${waitingReason}); check spec.image (or the AgentConfig's defaultImage) and the registry credentials`,
        message,
      ),
    };
  }
  if (waitingReason && CONTAINER_CONFIG_REASONS.has(waitingReason)) {
    return {
      kind: 'failed',
      reason: Reason.ContainerConfigError,
      message: withDetail(
        `the runner container could not be created (${waitingReason}); check that every Secret and ConfigMap named in spec.env exists and holds its key`,
        message,
      ),
    };
  }
  if (reason === 'FailedCreate') {
    return {
      kind: 'failed',
      reason: Reason.Rejected,
      message: withDetail(
        'the runner pod could not be created (refused by admission or a ResourceQuota); change the spec or the namespace policy',
        message,
      ),
    };
  }
  if (reason === 'DeadlineExceeded') {
    const limit =
      context.timeoutMs === undefined ? 'its timeout' : `its timeout of ${formatDuration(context.timeoutMs)}`;
    return {
      kind: 'timedOut',
      reason: Reason.DeadlineExceeded,
      message: `the runner was stopped after ${limit}; raise spec.timeout or give the agent a smaller task`,
      ...(exitCode === undefined ? {} : { exitCode }),
    };
  }
  if (reason === 'OOMKilled') {
    return {
      kind: 'failed',
      reason: Reason.OOMKilled,
      message:
        'the runner was killed for exceeding its memory limit; raise spec.resources.limits.memory (not retried, since the next attempt would get the same limit)',
      ...(exitCode === undefined ? {} : { exitCode }),
    };
  }
  if (reason === 'Evicted') {
    const text = withDetail('the runner pod was evicted from its node', message);
    return canRetry
      ? { kind: 'retry', reason: Reason.Evicted, message: `${text}; retrying (${budget})` }
      : {
          kind: 'failed',
          reason: Reason.Evicted,
          message: `${text}; no retries left (${budget}); check node pressure or ${RETRIES_HINT}`,
        };
  }
  if (exitCode === 0) {
    return {
      kind: 'succeeded',
      reason: Reason.Succeeded,
      message: 'the runner finished successfully',
      exitCode: 0,
    };
  }
  if (exitCode === 2) {
    return {
      kind: 'failed',
      reason: Reason.PrerequisiteFailed,
      message: withDetail(
        'the runner found a prerequisite missing (exit code 2) and did not start the agent; fix what it reports and restart the session',
        message,
      ),
      exitCode,
    };
  }
  if (exitCode === undefined) {
    const text = withDetail('the runner pod disappeared without reporting an exit code', message ?? reason);
    return canRetry
      ? { kind: 'retry', reason: Reason.RunnerLost, message: `${text}; retrying (${budget})` }
      : { kind: 'failed', reason: Reason.RunnerLost, message: `${text}; no retries left (${budget})` };
  }
  const text = withDetail(`the runner failed with ${describeExitCode(exitCode)}`, message);
  return canRetry
    ? { kind: 'retry', reason: Reason.RunnerExit, message: `${text}; retrying (${budget})`, exitCode }
    : {
        kind: 'failed',
        reason: Reason.RunnerExit,
        message: `${text}; no retries left (${budget}); read the runner's logs, or ${RETRIES_HINT}`,
        exitCode,
      };
}
