/**
 * The session workflow: one run per session lifecycle, id `agent-session/<namespace>/<name>`.
 * It resolves the spec, provisions the workspace and secrets, runs the runner once per attempt
 * under the timeout, applies the exit-code contract, records what the runner reported, cleans up,
 * and mirrors every transition into the AgentSession status and the search attributes.
 *
 * It waits on signals from the shared Job/Pod watcher instead of holding an activity per session,
 * so a worker can carry a thousand sessions; a slow level-triggered `observeRunner` check covers a
 * lost signal.
 *
 * The run's state is one `SessionRun` (session-run.ts); what each step says in the status comes
 * from session-status.ts. The commands this file issues, and their order, are what recorded
 * histories replay against: see docs/workflow-upgrades.md before changing them.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SessionActivities } from '../runtime/session-activities.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../common/search-attributes.js';
import { Reason } from '../resources/conditions.js';
import type { AgentSessionStatus } from '../resources/types.js';
import { type ExitOutcome, exitOutcome, type RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import type { SessionState, SessionWorkflowInput } from './session-contract.js';
import { handOver, hasNews, type SessionRun, startRun, takeEvent } from './session-run.js';
import {
  attemptEnded,
  attemptStarting,
  type FinalPhase,
  finished,
  isNewRunnerStart,
  provisioned,
  provisioningFailed,
  provisioningFailureReason,
  reposReconciled,
  restartRequested,
  resultRecorded,
  retrying,
  runnerEnded,
  runnerLaunched,
  runnerStarted,
  sessionLoaded,
  stopping,
  timedOut,
  validated,
  validationFailed,
  workspacePending,
} from './session-status.js';

/** Failure types that retrying cannot fix: a bad spec, a missing provider or Secret, a gone CR. */
const NON_RETRYABLE = [
  'InvalidSpecError',
  'ProviderNotReadyError',
  'CredentialsNotFoundError',
  'SessionGoneError',
];

// Kubernetes calls are short; an API server outage is waited out by unlimited retries with a
// capped backoff rather than failing the session.
const acts = proxyActivities<SessionActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// A workspace that never binds must end the session eventually, with the reason in the status.
const provisioning = proxyActivities<SessionActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '15 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** How often the workflow checks the runner itself when no signal arrives. */
const OBSERVE_INTERVAL_MS = 2 * 60_000;

/**
 * Marks the runs that continue as new when Temporal suggests it while they wait for their runner
 * (every check adds events: a session waiting for weeks would outgrow the history limit).
 * Histories from before this have no marker, and replay them without continuing.
 */
const CONTINUE_AS_NEW_PATCH = 'continue-as-new-when-suggested';

/** How one attempt ended, as far as the run is concerned. */
type AttemptEnd =
  | { kind: 'ended'; termination: RunnerTermination }
  | { kind: 'timeout' }
  | { kind: 'stopped'; message: string }
  | { kind: 'restart' };

/** The session workflow. */
export async function agentSessionWorkflow(input: SessionWorkflowInput): Promise<SessionState> {
  const run = startRun(input);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.namespace, value: input.namespace },
    { key: SEARCH_ATTRIBUTE_KEYS.session, value: input.name },
    { key: SEARCH_ATTRIBUTE_KEYS.phase, value: run.state.phase },
  ]);
  try {
    if (input.continued) {
      await runAttempts(run, input.continued.session, true);
    } else {
      const session = await resolve(run);
      if (session && (await provision(run, session))) await runAttempts(run, session, false);
    }
    return run.state;
  } catch (error) {
    if (isCancellation(error)) {
      // The AgentSession was deleted (or the run cancelled): its children go with it through
      // ownerReferences; still remove the Job now so no runner outlives the session.
      await CancellationScope.nonCancellable(async () => {
        if (run.session)
          await acts
            .cleanup({ session: run.ref, attempts: run.attemptsLaunched, deleteWorkspace: false })
            .catch(() => undefined);
      });
    }
    throw error;
  }
}

/**
 * 1. Validate and resolve. Nothing exists yet, so a bad spec ends the run here with nothing
 * created. Returns the session, or undefined when the run has ended.
 */
async function resolve(run: SessionRun): Promise<ResolvedSession | undefined> {
  const { input } = run;
  let session: ResolvedSession;
  try {
    const loaded = await acts.loadSession({
      ...run.ref,
      ...(input.spec ? { spec: input.spec } : {}),
      ...(input.labels ? { labels: input.labels } : {}),
      ...(input.previousAttempt !== undefined ? { previousAttempt: input.previousAttempt } : {}),
    });
    session = loaded.session;
    run.session = session;
    if (!run.ref.uid) run.ref.uid = session.uid;
    setStatus(
      run,
      sessionLoaded(run.state.status, {
        generation: session.generation,
        previousAttempt: loaded.previousAttempt,
      }),
    );
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.agent, value: session.agent },
      ...(session.repos[0] ? [{ key: SEARCH_ATTRIBUTE_KEYS.repo, value: session.repos[0].url }] : []),
    ]);
  } catch (error) {
    const failure = failureOf(error);
    if (failure?.type === 'SessionGoneError') {
      run.sessionGone = true;
      run.state.finished = true;
      return undefined;
    }
    if (failure?.type === 'InvalidSpecError' || failure?.type === 'ProviderNotReadyError') {
      const reason = failure.type === 'InvalidSpecError' ? Reason.InvalidSpec : Reason.ProviderNotReady;
      setStatus(run, validationFailed(run.state.status, reason, failure.message, now()));
      finish(run, 'Failed', reason, failure.message);
      await mirror(run);
      return undefined;
    }
    throw error;
  }
  setStatusAndPhase(run, validated(run.state.status, session, now()));
  return session;
}

/**
 * 2. Workspace, secrets, runner identity, side by side — and the Provisioning status with them,
 * not before: the Job is what the user waits for. Returns false when the run has ended.
 */
async function provision(run: SessionRun, session: ResolvedSession): Promise<boolean> {
  try {
    const [workspace] = await Promise.all([
      provisioning.provisionWorkspace(session),
      provisioning.provisionSecrets(session),
      mirror(run),
    ]);
    run.workspace = workspace;
    run.workspacePending = workspacePending(workspace);
    setStatus(run, provisioned(run.state.status, workspace, now()));
    return true;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = failureOf(error);
    const reason = provisioningFailureReason(failure?.type);
    const message = failure?.message ?? String(error);
    setStatus(run, provisioningFailed(run.state.status, reason, message, now()));
    // Bad input leaves nothing behind, not even the workspace.
    await cleanupAndFinish(run, 'Failed', reason, message, true);
    return false;
  }
}

/**
 * 3–5. Attempts: launch, wait for the runner under the timeout, apply the exit-code contract. A
 * run that continued as new (`resuming`) goes back to waiting for the attempt it took over.
 */
async function runAttempts(run: SessionRun, session: ResolvedSession, resuming: boolean): Promise<void> {
  if (!resuming) {
    run.attempt = (run.state.status.attempt ?? 0) + 1;
    run.firstAttemptOfRun = run.attempt;
  }
  // Only the first pass of a resumed run takes up the wait; every later attempt is launched.
  for (let resume = resuming; ; resume = false) {
    if (!resume) {
      if (run.stopRequest) {
        await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, run.stopRequest.reason, false);
        return;
      }
      run.restartRequested = false;
    }
    const ended = resume ? await waitForRunner(run, session) : await runAttempt(run, session);
    const { attempt, firstAttemptOfRun } = run;
    if (ended.kind === 'stopped') {
      await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, ended.message, false);
      return;
    }
    if (ended.kind === 'restart') {
      run.attempt += 1;
      run.firstAttemptOfRun = run.attempt;
      continue;
    }
    const outcome: ExitOutcome =
      ended.kind === 'timeout'
        ? timedOut(run.state.phase, session.timeoutMs, run)
        : exitOutcome(ended.termination, {
            attempt,
            firstAttemptOfRun,
            retries: session.retries,
            timeoutMs: session.timeoutMs,
          });
    if (ended.kind === 'ended') setStatus(run, attemptEnded(run.state.status, ended.termination));
    if (outcome.kind === 'retry') {
      setStatus(run, retrying(run.state.status, outcome.message, now()));
      await mirror(run);
      await acts.stopRunner({ session: run.ref, attempt });
      run.attempt += 1;
      continue;
    }
    if (outcome.kind === 'succeeded') {
      setStatus(run, reposReconciled(run.state.status, session.repos, now()));
      await cleanupAndFinish(run, 'Succeeded', Reason.Succeeded, outcome.message, !session.workspace.retain);
    } else if (outcome.kind === 'timedOut') {
      await stopAndRecord(run, attempt);
      await cleanupAndFinish(run, 'TimedOut', outcome.reason, outcome.message, false);
    } else {
      await cleanupAndFinish(run, 'Failed', outcome.reason, outcome.message, false);
    }
    return;
  }
}

/** Runs the current attempt to its end, a timeout, a stop or a restart. */
async function runAttempt(run: SessionRun, session: ResolvedSession): Promise<AttemptEnd> {
  const { attempt } = run;
  setStatus(run, attemptStarting(run.state.status, attempt));
  run.attemptsLaunched.push(attempt);
  const launch = await acts.launchRunner({ session, attempt });
  run.launch = launch;
  setStatus(run, runnerLaunched(run.state.status, attempt, launch, now()));
  await mirror(run);
  run.deadline = Date.now() + session.timeoutMs;
  return waitForRunner(run, session);
}

/**
 * Waits for the runner of the current attempt: on the watcher's signals, on a check of its own
 * every 2 minutes, and at most until the attempt's deadline. When the history grows long it hands
 * the wait over to a new run of the workflow.
 */
async function waitForRunner(run: SessionRun, session: ResolvedSession): Promise<AttemptEnd> {
  const { attempt, deadline } = run;
  let nextObserve = Date.now() + OBSERVE_INTERVAL_MS;
  for (;;) {
    const event = takeEvent(run, attempt);
    if (event?.kind === 'started') {
      if (isNewRunnerStart(run.state.status, event.podName)) {
        const workspaceWasPending = run.workspacePending;
        run.workspacePending = false;
        setStatusAndPhase(
          run,
          runnerStarted(run.state.status, { attempt, podName: event.podName, workspaceWasPending }, now()),
        );
        await mirror(run);
      }
      continue;
    }
    if (event?.kind === 'ended') {
      setStatus(run, runnerEnded(run.state.status, event.podName));
      return { kind: 'ended', termination: event.termination };
    }
    if (run.stopRequest) {
      setStatusAndPhase(run, stopping(run.state.status));
      await mirror(run);
      await stopAndRecord(run, attempt);
      return { kind: 'stopped', message: run.stopRequest.reason };
    }
    if (run.restartRequested) {
      run.restartRequested = false;
      setStatus(run, restartRequested(run.state.status, attempt, now()));
      await mirror(run);
      await acts.stopRunner({ session: run.ref, attempt });
      return { kind: 'restart' };
    }
    const current = Date.now();
    if (current >= deadline) return { kind: 'timeout' };
    if (current >= nextObserve) {
      nextObserve = current + OBSERVE_INTERVAL_MS;
      run.events.push(...(await acts.observeRunner({ session: run.ref, attempt })));
      continue;
    }
    if (historyIsLong(run)) {
      await continueAsNew<typeof agentSessionWorkflow>({ ...run.input, continued: handOver(run, session) });
    }
    await condition(() => hasNews(run, attempt), Math.min(deadline, nextObserve) - current);
  }
}

/**
 * Whether the run should continue as new: Temporal suggests it (or the history reached the input's
 * test threshold), and the run is one that does so (`patched`, so that older histories replay).
 */
function historyIsLong(run: SessionRun): boolean {
  const info = workflowInfo();
  const limit = run.input.continueAsNewAfterEvents;
  const long = limit === undefined ? info.continueAsNewSuggested : info.historyLength >= limit;
  return long && patched(CONTINUE_AS_NEW_PATCH);
}

/**
 * Stops the runner of `attempt` (it pushes its work in progress when it can) and records the
 * result it wrote on the way out.
 */
async function stopAndRecord(run: SessionRun, attempt: number): Promise<void> {
  await acts.stopRunner({ session: run.ref, attempt });
  const ended = (await acts.observeRunner({ session: run.ref, attempt })).find((e) => e.kind === 'ended');
  if (ended?.kind === 'ended') setStatus(run, resultRecorded(run.state.status, ended.termination));
}

/** Ends the run in `phase`: the final status, which the user waits for. */
function finish(run: SessionRun, phase: FinalPhase, reason: string, message: string): void {
  setStatusAndPhase(run, finished(run.state.status, phase, reason, message, now()));
  run.state.finished = true;
}

/**
 * Writes the final status, cleans up, and starts the run again as a new one when a restart
 * arrived meanwhile.
 */
async function cleanupAndFinish(
  run: SessionRun,
  phase: FinalPhase,
  reason: string,
  message: string,
  deleteWorkspace: boolean,
): Promise<void> {
  // Attempts of an earlier run may have left Jobs if that run was killed mid-cleanup.
  const attempts =
    run.attemptsLaunched.length > 0
      ? run.attemptsLaunched
      : [run.state.status.attempt ?? 0].filter((a) => a > 0);
  // The status flips first: the user waits for it, and cleanup is idempotent and retried.
  finish(run, phase, reason, message);
  await mirror(run);
  await acts.cleanup({ session: run.ref, attempts, deleteWorkspace });
  if (run.restartAfterFinish) {
    await continueAsNew<typeof agentSessionWorkflow>({
      ...run.input,
      restart: true,
      previousAttempt: run.state.status.attempt ?? 0,
    });
  }
}

/** Replaces the run's status. */
function setStatus(run: SessionRun, status: AgentSessionStatus): void {
  run.state.status = status;
  if (status.phase) run.state.phase = status.phase;
}

/** Replaces the run's status and publishes its phase as the ShepherdPhase search attribute. */
function setStatusAndPhase(run: SessionRun, status: AgentSessionStatus): void {
  setStatus(run, status);
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.phase, value: run.state.phase }]);
}

/** Writes the status into the AgentSession, only when it changed since the last write. */
async function mirror(run: SessionRun): Promise<void> {
  const snapshot = JSON.stringify(run.state.status);
  if (run.sessionGone || snapshot === run.mirrored) return;
  await acts.mirrorStatus({ session: run.ref, status: run.state.status });
  run.mirrored = snapshot;
}

/** The workflow's clock. */
function now(): Date {
  return new Date(Date.now());
}

/** The ApplicationFailure behind an activity failure, if any. */
function failureOf(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? cause : undefined;
}
