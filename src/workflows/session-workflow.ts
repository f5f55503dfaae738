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
  type ActivityOptions,
  type LocalActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunnerLaunch, SessionActivities, WorkspaceInfo } from '../runtime/session-activities.js';
import type { FeedbackInput, OutcomeActivities } from '../session-outcome/outcome-activities.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../common/search-attributes.js';
import { attemptCost } from '../policy/usage-cost.js';
import { parseRunnerResult } from '../runner-contract/result.js';
import type { NamespaceActivities, SlotNotice } from './namespace-contract.js';
import {
  approved,
  budgetLeft,
  type CapReached,
  capMessage,
  capReached,
  isLimited,
  joinsNamespace,
  queued,
  slotGranted,
  unpriced,
  waitingForApproval,
  withBudgetLeft,
} from './session-limits.js';
import { ConditionType, Reason } from '../resources/conditions.js';
import type { AgentSessionStatus } from '../resources/types.js';
import { type ExitOutcome, exitOutcome, type RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import type { SessionState, SessionWorkflowInput } from './session-contract.js';
import { handOver, hasNews, type SessionRun, startRun, takeEvent } from './session-run.js';
import { formatDuration } from '../session/duration.js';
import {
  conversationIdle,
  firstTurnSource,
  questionAsked,
  questionOf,
  turnAttempt,
  turnEnded,
  turnRecorded,
  turnResultOf,
  turnStarted,
} from './conversation-status.js';
import {
  attemptEnded,
  attemptStarting,
  type FinalPhase,
  finished,
  isNewRunnerStart,
  launchFailed,
  provisioned,
  provisioningFailed,
  provisioningFailureReason,
  publishingFailed,
  pullRequestsPublished,
  reposReconciled,
  restartRequested,
  resultRecorded,
  retrying,
  runnerEnded,
  runnerLaunched,
  runDetails,
  runnerStarted,
  sessionLoaded,
  sessionReloaded,
  statusRefused,
  stopping,
  timedOut,
  validated,
  validationFailed,
  workspacePending,
} from './session-status.js';

/**
 * Failure types that retrying cannot fix: a bad spec, a missing provider or Secret, a gone CR, an
 * object of the session's name that someone else owns, a refusal by the runtime, a status the
 * AgentSession refuses, a host the runner must reach that the egress settings give no address.
 */
const NON_RETRYABLE = [
  'InvalidSpecError',
  'PolicyViolationError',
  'ProviderNotReadyError',
  'CredentialsNotFoundError',
  'SessionGoneError',
  'ObjectConflictError',
  'RejectedError',
  'StatusRejectedError',
  'EgressHostUnknownError',
];

/** The failures of loading a session that end it at validation, and the reason each gives. */
const VALIDATION_FAILURE_REASONS: Readonly<Record<string, Reason>> = {
  InvalidSpecError: Reason.InvalidSpec,
  PolicyViolationError: Reason.PolicyViolation,
  ProviderNotReadyError: Reason.ProviderNotReady,
};

/**
 * Kubernetes calls are short. Every activity has a bounded budget: an API server that stays
 * unreachable for minutes ends the session Failed with the cause rather than leaving it waiting.
 */
const ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

// A workspace that never binds must end the session eventually, with the reason in the status.
const PROVISIONING: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '15 seconds',
    maximumAttempts: 40,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

// Stopping a runner waits until its pod is gone (it may still be pushing its work in progress),
// heartbeating meanwhile, at most its grace period and a margin.
const STOPPING: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

// A forge or chat that is down is waited for a few minutes, then reported: never the session's end.
const PUBLISHING: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE, 'ForgeRefusedError'],
  },
};

/**
 * Reading the session is a local activity in quick-start runs: it runs in the worker during the
 * run's first workflow task, which then goes on to schedule the provisioning, sparing a round trip
 * through the server. Only a read, so a retry repeats nothing; the Web UI lists it as a local
 * activity with its summary.
 */
const LOCAL_LOAD: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: ACTIVITY.retry,
};

/** The outcome activities with `options` and a summary for the Web UI. */
function outcomes(summary: string): OutcomeActivities {
  return proxyActivities<OutcomeActivities>({ ...PUBLISHING, summary });
}

/** The activities with `options`, and a short summary for the Web UI's event history. */
function activities(options: ActivityOptions, summary: string): SessionActivities {
  return proxyActivities<SessionActivities>({ ...options, summary });
}

/**
 * How often the workflow checks the runner itself when no signal arrives: every 10 minutes, or
 * every 2 in runs started before `observe-every-10m`. The check is a safety net under the
 * watcher's signals and its own resync, and it costs an activity and two reads of the API server
 * per running session, so at thousands of sessions a 2-minute check was most of the load.
 */
const OBSERVE_INTERVAL_MS = 10 * 60_000;
const OBSERVE_INTERVAL_BEFORE_PATCH_MS = 2 * 60_000;
const OBSERVE_INTERVAL_PATCH = 'observe-every-10m';

/**
 * Marks the runs that continue as new when Temporal suggests it while they wait for their runner
 * (every check adds events: a session waiting for weeks would outgrow the history limit).
 * Histories from before this have no marker, and replay them without continuing.
 */
const CONTINUE_AS_NEW_PATCH = 'continue-as-new-when-suggested';

/**
 * Marks the runs that follow the hardened choreography: a stop is honoured during provisioning and
 * launch (their activities are cancelled), status writes never overtake each other, a restart
 * records what the stopped runner wrote, a retry reads the spec again, a failed launch ends the
 * session Failed, and a run that ends Failed or TimedOut closes as failed. Histories from before it
 * replay without it.
 */
const HARDENED_PATCH = 'hardened-core';

/**
 * Marks the runs that open pull requests for the pushed branches (after checking them on the
 * forge) and give feedback to the trigger's source at start and end. Histories from before it
 * replay without it.
 */
const PUBLISH_PATCH = 'pull-requests-and-feedback';

/**
 * Marks the runs that hold a conversation: they record turns, take prompts (the `sendPrompt` and
 * `answer` Updates) and wait Idle between turns. Histories from before it replay without it.
 */
const CONVERSATION_PATCH = 'conversations';

/**
 * Runs that continue as new between two turns when their history grows long, as they do while
 * they wait for a runner: a conversation may wait through many turns for days.
 */
const IDLE_CONTINUE_AS_NEW_PATCH = 'continue-as-new-between-turns';

/**
 * Marks the runs that keep to their NamespacePolicy's concurrency limit and budgets: they take a
 * slot from the namespace's workflow before each turn (waiting Queued), charge what each attempt
 * spent, and wait WaitingForApproval at a cap. Only sessions whose policy sets such a limit reach
 * it; histories from before it replay without it.
 */
const LIMITS_PATCH = 'namespace-limits';

/**
 * Marks the runs that start quickly: the session is read by a local activity, and the first status
 * write comes with the Job (provisioning and launch in one write) rather than before provisioning,
 * which the launch waited for. Histories from before it replay without it.
 */
const QUICK_START_PATCH = 'quick-start';

/** The namespace workflow's activities, with a summary for the Web UI. */
function namespaceCalls(summary: string): NamespaceActivities {
  return proxyActivities<NamespaceActivities>({ ...ACTIVITY, summary });
}

/** How long an idle conversation waits when its resolved session does not say (older workers). */
const DEFAULT_INACTIVITY_MS = 24 * 3_600_000;

/** How one attempt ended, as far as the run is concerned. */
type AttemptEnd =
  | { kind: 'ended'; termination: RunnerTermination }
  | { kind: 'timeout' }
  | { kind: 'stopped'; message: string }
  | { kind: 'restart' }
  | { kind: 'budget' }
  | { kind: 'failed'; reason: Reason; message: string };

/** What a step interrupted by a stop returns. */
const STOPPED = Symbol('stopped');

/** The session workflow. */
export async function agentSessionWorkflow(input: SessionWorkflowInput): Promise<SessionState> {
  const hardened = patched(HARDENED_PATCH);
  const publishes = hardened && patched(PUBLISH_PATCH);
  const run = startRun(input, hardened, publishes, publishes && patched(CONVERSATION_PATCH));
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.namespace, value: input.namespace },
    { key: SEARCH_ATTRIBUTE_KEYS.session, value: input.name },
    { key: SEARCH_ATTRIBUTE_KEYS.phase, value: run.state.phase },
  ]);
  try {
    if (input.continued) {
      await runAttempts(run, input.continued.session, true);
    } else {
      const quick = hardened && patched(QUICK_START_PATCH);
      const session = await resolve(run, quick);
      if (session && (await admit(run, session)) && (await provision(run, session, quick)))
        await runAttempts(run, session, false);
    }
    return close(run);
  } catch (error) {
    if (!(error instanceof ContinueAsNew) && run.limits.slot !== 'none') {
      // However the run ends, the namespace gets its slot back.
      await CancellationScope.nonCancellable(() => releaseSlot(run).catch(() => undefined));
    }
    if (isCancellation(error)) {
      // The AgentSession was deleted (or the run cancelled): its children go with it through
      // ownerReferences; still remove the Job now so no runner outlives the session.
      await CancellationScope.nonCancellable(async () => {
        if (run.session)
          await activities(ACTIVITY, 'delete the runners (session deleted)')
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
async function resolve(run: SessionRun, quick: boolean): Promise<ResolvedSession | undefined> {
  const { input } = run;
  let session: ResolvedSession;
  const loader = quick
    ? proxyLocalActivities<SessionActivities>({ ...LOCAL_LOAD, summary: 'read the session' })
    : activities(ACTIVITY, 'read the session');
  try {
    const loaded = await loader.loadSession({
      ...run.ref,
      ...(input.spec ? { spec: input.spec } : {}),
      ...(input.labels ? { labels: input.labels } : {}),
      ...(input.previousAttempt !== undefined ? { previousAttempt: input.previousAttempt } : {}),
      ...(input.previousTurns?.length ? { previousTurns: input.previousTurns } : {}),
    });
    session = loaded.session;
    run.session = session;
    run.previousAttempt = loaded.previousAttempt;
    // What earlier runs spent counts against the session's budget.
    run.limits.spentUsd = (loaded.previousTurns ?? []).reduce((sum, t) => sum + (t.usage?.costUsd ?? 0), 0);
    if (!run.ref.uid) run.ref.uid = session.uid;
    setStatus(
      run,
      sessionLoaded(run.state.status, {
        generation: session.generation,
        previousAttempt: loaded.previousAttempt,
        ...(loaded.previousTurns ? { previousTurns: loaded.previousTurns } : {}),
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
    const reason = failure?.type ? VALIDATION_FAILURE_REASONS[failure.type] : undefined;
    if (failure && reason) {
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
 * not before: the Job is what the user waits for. A quick-start run writes no status here at all:
 * its first write comes with the Job. Returns false when the run has ended.
 */
async function provision(run: SessionRun, session: ResolvedSession, quick: boolean): Promise<boolean> {
  let failedStep: typeof ConditionType.PVCReady | typeof ConditionType.SecretsReady | undefined;
  const step = <T>(type: typeof failedStep, work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      failedStep ??= type;
      throw error;
    });
  const provisioning = activities(PROVISIONING, `provision the workspace and secrets of ${session.name}`);
  try {
    let workspace: WorkspaceInfo;
    if (run.hardened) {
      const writing = quick ? undefined : mirror(run);
      const made = await unlessStopped(run, () =>
        Promise.all([
          step(ConditionType.PVCReady, provisioning.provisionWorkspace(session)),
          step(ConditionType.SecretsReady, provisioning.provisionSecrets(session)),
        ]),
      );
      await writing;
      if (made === STOPPED) {
        await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, stopReason(run), false);
        return false;
      }
      workspace = made[0];
    } else {
      [workspace] = await Promise.all([
        step(ConditionType.PVCReady, provisioning.provisionWorkspace(session)),
        step(ConditionType.SecretsReady, provisioning.provisionSecrets(session)),
        mirror(run),
      ]);
    }
    run.workspace = workspace;
    run.workspacePending = workspacePending(workspace);
    setStatus(run, provisioned(run.state.status, workspace, now()));
    return true;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = failureOf(error);
    const reason = provisioningFailureReason(failure?.type);
    const message = failure?.message ?? String(error);
    setStatus(run, provisioningFailed(run.state.status, reason, message, now(), failedStep));
    // Bad input leaves nothing behind, not even the workspace — unless the workspace holds earlier
    // turns (a restart) or the spec retains it.
    const fresh = !run.input.restart && run.previousAttempt === 0 && !session.workspace.retain;
    await cleanupAndFinish(run, 'Failed', reason, message, fresh);
    return false;
  }
}

/**
 * 3–5. Attempts: launch, wait for the runner under the timeout, apply the exit-code contract. A
 * run that continued as new (`resumed`) goes back to waiting for the attempt it took over, or,
 * between two turns of a conversation, for the next prompt.
 */
async function runAttempts(run: SessionRun, resolved: ResolvedSession, resumed: boolean): Promise<void> {
  let session = resolved;
  let resuming = resumed;
  const between = resumed ? run.input.continued?.waitingForTurn : undefined;
  if (between) {
    // Continued as new between two turns: the wait for the next prompt goes on.
    const next = await nextTurn(run, session, between.deadline);
    if (!next) return;
    session = next;
    resuming = false;
  } else if (!resuming) {
    run.attempt = (run.state.status.attempt ?? 0) + 1;
    run.firstAttemptOfRun = run.attempt;
    if (run.converses) {
      // A restarted conversation goes on as its next turn, with the spec's prompt; the agent
      // takes up its conversation where the last run left it.
      run.turn = (run.state.status.turns?.at(-1)?.number ?? 0) + 1;
      const source = run.turn === 1 ? firstTurnSource(session.trigger?.source) : 'spec';
      setStatus(run, turnStarted(run.state.status, { number: run.turn, source }, run.attempt, now()));
      session = forTurn(run, session);
    }
    // The source hears of the session once, when it first starts: not on a restart, not when a
    // run continued as new. The runner does not wait for it.
    if (run.publishes && session.trigger?.name && !run.input.restart) {
      run.feedbackStarted = outcomes('tell the source the session started')
        .sendFeedback({ session: run.ref, resolved: session, moment: 'started' })
        .catch(() => undefined);
    }
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
    if (ended.kind === 'failed') {
      await cleanupAndFinish(run, 'Failed', ended.reason, ended.message, false);
      return;
    }
    if (ended.kind === 'restart') {
      run.attempt += 1;
      run.firstAttemptOfRun = run.attempt;
      continue;
    }
    if (ended.kind === 'budget') {
      // The month's cap stopped the runner: after an approval the turn goes on as a new attempt.
      const resumed = await resumeAfterCap(run, session);
      if (!resumed) return;
      session = resumed;
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
    if (ended.kind === 'ended') {
      setStatus(run, attemptEnded(run.state.status, ended.termination));
      recordTurn(run, ended.termination);
      await chargeAttempt(run, session, ended.termination, attempt);
      if ((outcome.kind === 'retry' || outcome.kind === 'failed') && overCap(run, session)) {
        // The agent stopped at its budget (or failed past it): it waits for an approval, then the
        // turn goes on as a new attempt.
        const resumed = await resumeAfterCap(run, session);
        if (!resumed) return;
        session = resumed;
        continue;
      }
    }
    if (outcome.kind === 'retry') {
      setStatus(run, retrying(run.state.status, outcome.message, now()));
      await mirror(run);
      // The next attempt mounts the same workspace: the old runner must be gone first.
      await stopper(run, attempt).stopRunner({ session: run.ref, attempt });
      run.attempt += 1;
      if (run.hardened) {
        const reloaded = await reload(run);
        if (!reloaded) return;
        session = reloaded;
      }
      continue;
    }
    if (outcome.kind === 'succeeded') {
      setStatus(run, reposReconciled(run.state.status, session.repos, now()));
      const notFound = run.publishes ? await publish(run, session) : [];
      if (notFound.length > 0) {
        const message = `the pushed work is not on the forge: ${notFound.join('; ')}`;
        await cleanupAndFinish(run, 'Failed', Reason.PushNotFound, message, false);
        return;
      }
      const question = run.converses && ended.kind === 'ended' ? questionOf(ended.termination) : undefined;
      if (run.converses && (question !== undefined || session.conversation?.stopOnTurnFinished === false)) {
        const next = await betweenTurns(run, session, question);
        if (!next) return;
        session = next;
        continue;
      }
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

/**
 * 7. Between the turns of a conversation: the turn is recorded, the runner's Job and Secrets go
 * (the workspace stays), and the session waits — Idle, or WaitingForInput with the agent's
 * question — for the next prompt, a stop, its pull request closing, or the inactivity timeout.
 * Returns the session for the next turn, or undefined when the run has ended.
 */
async function betweenTurns(
  run: SessionRun,
  session: ResolvedSession,
  question: string | undefined,
): Promise<ResolvedSession | undefined> {
  const waitMs = session.conversation?.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_MS;
  const { turn } = run;
  setStatus(run, turnEnded(run.state.status, question === undefined ? 'Succeeded' : 'Question', now()));
  setStatusAndPhase(
    run,
    question === undefined
      ? conversationIdle(run.state.status, turn, waitMs, now())
      : questionAsked(run.state.status, question, turn, waitMs, now()),
  );
  run.waiting = question === undefined ? 'idle' : 'question';
  await mirror(run);
  const { result, usage, reconciledRepos } = run.state.status;
  sendTurnFeedback(run, session, {
    moment: question === undefined ? 'turn' : 'question',
    turn,
    inactivityTimeoutMs: waitMs,
    ...(question === undefined ? {} : { question }),
    ...(result ? { result } : {}),
    ...(usage ? { usage } : {}),
    ...(reconciledRepos ? { repos: reconciledRepos } : {}),
  });
  await activities(ACTIVITY, 'remove the runner between turns, keeping the workspace').cleanup({
    session: run.ref,
    attempts: run.attemptsLaunched,
    deleteWorkspace: false,
  });
  // Those runners are gone; the final cleanup looks after the next turn's.
  run.attemptsLaunched.splice(0);
  // An idle session holds no slot: the next turn asks for one again.
  await releaseSlot(run);
  return nextTurn(run, session, Date.now() + waitMs);
}

/**
 * Waits, until `deadline`, for the next prompt, a stop, the pull request closing or a restart,
 * and starts the next turn. Continues as new when the history grows long, handing the wait over.
 * Returns the session for the next turn, or undefined when the run has ended.
 */
async function nextTurn(
  run: SessionRun,
  session: ResolvedSession,
  deadline: number,
): Promise<ResolvedSession | undefined> {
  const waitMs = session.conversation?.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_MS;
  const { turn } = run;
  for (;;) {
    if (run.nextPrompt) break;
    if (run.stopRequest) {
      await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, run.stopRequest.reason, false);
      return undefined;
    }
    if (run.pullRequestClosed) {
      const { url, merged } = run.pullRequestClosed;
      const message = `pull request ${url} was ${merged ? 'merged' : 'closed'}, so the conversation ended`;
      await cleanupAndFinish(run, 'Succeeded', Reason.PullRequestClosed, message, !session.workspace.retain);
      return undefined;
    }
    if (run.restartRequested) {
      // A restart of an idle conversation runs the last turn's prompt again, as the next turn.
      run.restartRequested = false;
      const last = run.state.status.turns?.at(-1);
      run.nextPrompt = {
        input: { prompt: run.turnPrompt ?? session.initialPrompt, source: last?.source ?? 'spec' },
        turn: turn + 1,
      };
      break;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const message = `no prompt came within ${formatDuration(waitMs)} of turn ${turn}, so the conversation ended`;
      await cleanupAndFinish(run, 'Succeeded', Reason.Inactive, message, !session.workspace.retain);
      return undefined;
    }
    if (historyIsLong(run, IDLE_CONTINUE_AS_NEW_PATCH)) {
      // The source hears of the turn first; whatever arrived meanwhile is taken up by this run.
      await run.feedbackStarted;
      if (!hasTurnNews(run)) {
        const waitingForTurn = { waiting: run.waiting ?? ('idle' as const), deadline };
        await continueAsNew<typeof agentSessionWorkflow>({
          ...run.input,
          continued: { ...handOver(run, session), waitingForTurn },
        });
      }
      continue;
    }
    await condition(() => hasTurnNews(run), left);
  }

  const { input, turn: next } = run.nextPrompt;
  run.turn = next;
  run.turnPrompt = input.prompt;
  run.usageBeforeTurn = run.state.status.usage;
  run.attempt += 1;
  run.firstAttemptOfRun = run.attempt;
  setStatusAndPhase(
    run,
    turnStarted(
      run.state.status,
      { number: next, source: input.source, ...(input.author ? { author: input.author } : {}) },
      run.attempt,
      now(),
    ),
  );
  run.nextPrompt = undefined;
  run.waiting = undefined;
  const reloaded = await reload(run);
  if (!reloaded || !(await admit(run, reloaded))) return undefined;
  return reloaded;
}

/** Whether anything the wait between two turns must act on has arrived. */
function hasTurnNews(run: SessionRun): boolean {
  return (
    run.nextPrompt !== undefined ||
    run.stopRequest !== undefined ||
    run.pullRequestClosed !== undefined ||
    run.restartRequested
  );
}

/**
 * The session as the current turn's runner gets it: from turn 2 on, with that turn's prompt (the
 * first turn of a restarted run keeps the spec's).
 */
function forTurn(run: SessionRun, session: ResolvedSession): ResolvedSession {
  if (run.turn < 2) return session;
  return {
    ...session,
    turn: run.turn,
    ...(run.turnPrompt === undefined ? {} : { initialPrompt: run.turnPrompt }),
  };
}

/** What the runner of the turn reported, into the turn's record (conversation runs). */
function recordTurn(run: SessionRun, termination: RunnerTermination): void {
  if (run.converses) setStatus(run, turnRecorded(run.state.status, termination, run.usageBeforeTurn));
}

/**
 * Tells the trigger's source that a turn finished or the agent asked, after the feedback before
 * it; the run does not wait for it, and a failure is only recorded.
 */
function sendTurnFeedback(
  run: SessionRun,
  session: ResolvedSession,
  input: Omit<FeedbackInput, 'session' | 'resolved'>,
): void {
  if (!run.publishes || !session.trigger?.name) return;
  const before = run.feedbackStarted;
  run.feedbackStarted = (async () => {
    await before;
    await outcomes(
      input.moment === 'question' ? 'ask the source the question' : 'tell the source the turn finished',
    )
      .sendFeedback({ session: run.ref, resolved: session, ...input })
      .catch(() => undefined);
  })();
}

/**
 * 6. Checks the pushed branches on their forges and opens or updates their pull requests, when any
 * repository was pushed. Returns the repositories whose pushed work the forge does not have. A
 * forge that stays unreachable is recorded on the status, never the session's end.
 */
async function publish(run: SessionRun, session: ResolvedSession): Promise<string[]> {
  const reported = run.state.status.reconciledRepos ?? [];
  if (!reported.some((r) => r.status === 'Pushed')) return [];
  const { result, usage } = run.state.status;
  try {
    const published = await outcomes(
      'check the pushed branches and open their pull requests',
    ).publishPullRequests({
      session: run.ref,
      resolved: session,
      reported,
      ...(result ? { result } : {}),
      ...(usage ? { usage } : {}),
    });
    setStatus(run, pullRequestsPublished(run.state.status, published, now()));
    return published.notFound;
  } catch (error) {
    if (isCancellation(error)) throw error;
    setStatus(run, publishingFailed(run.state.status, failureOf(error)?.message ?? String(error), now()));
    return [];
  }
}

/**
 * Reads the session again before a retry, so spec edits take effect at the next attempt, and
 * brings the runner's secrets up to date with it. Returns undefined when the run has ended (the
 * spec is no longer valid, or the session is gone).
 */
async function reload(run: SessionRun): Promise<ResolvedSession | undefined> {
  const { input } = run;
  try {
    const loaded = await activities(ACTIVITY, 'read the session again for the next attempt').loadSession({
      ...run.ref,
      ...(input.spec ? { spec: input.spec } : {}),
      ...(input.labels ? { labels: input.labels } : {}),
      previousAttempt: run.attempt - 1,
    });
    const session = forTurn(run, loaded.session);
    await activities(PROVISIONING, 'update the runner secrets').provisionSecrets(session);
    run.session = session;
    setStatus(run, sessionReloaded(run.state.status, session.generation));
    return session;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = failureOf(error);
    if (failure?.type === 'SessionGoneError') {
      // Nobody to report to: the run only removes what it made.
      run.sessionGone = true;
      await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, failure.message, false);
      return undefined;
    }
    const reason =
      (failure?.type ? VALIDATION_FAILURE_REASONS[failure.type] : undefined) ??
      provisioningFailureReason(failure?.type);
    const message = failure?.message ?? String(error);
    setStatus(run, validationFailed(run.state.status, reason, message, now()));
    await cleanupAndFinish(run, 'Failed', reason, message, false);
    return undefined;
  }
}

/**
 * 2a. The namespace's limits, before a turn's first runner: a session at a budget cap waits for
 * an approval (or ends, when the policy says Stop); then, where the policy limits concurrency or
 * sets a monthly budget, it takes a slot from the namespace's workflow, waiting Queued for it.
 * Returns false when the run has ended.
 */
async function admit(run: SessionRun, session: ResolvedSession): Promise<boolean> {
  if (!isLimited(session) || !patched(LIMITS_PATCH)) return true;
  for (;;) {
    const own = capReached(session, run.limits, undefined);
    if (own) {
      if (!(await waitAtCap(run, session, own))) return false;
      continue;
    }
    if (!joinsNamespace(session)) return true;
    if (run.limits.slot !== 'held' && !(await takeSlot(run, session))) return false;
    const monthly = capReached(session, run.limits, run.limits.monthSpentUsd);
    if (monthly) {
      if (!(await waitAtCap(run, session, monthly))) return false;
      continue;
    }
    return true;
  }
}

/** Whether the session is at a cap now (sessions under a limiting policy only). */
function overCap(run: SessionRun, session: ResolvedSession): boolean {
  return (
    isLimited(session) &&
    patched(LIMITS_PATCH) &&
    capReached(session, run.limits, run.limits.monthSpentUsd) !== undefined
  );
}

/** What the next runner may spend, under a limiting policy. */
function runnerBudget(run: SessionRun, session: ResolvedSession): number | undefined {
  if (!isLimited(session) || !patched(LIMITS_PATCH)) return undefined;
  return budgetLeft(session, run.limits, run.limits.monthSpentUsd);
}

/**
 * After a runner stopped at a cap: wait for the approval and a slot, then go on with the same
 * turn as a new attempt on the spec as it is now. Returns undefined when the run has ended.
 */
async function resumeAfterCap(
  run: SessionRun,
  session: ResolvedSession,
): Promise<ResolvedSession | undefined> {
  if (!(await admit(run, session))) return undefined;
  run.attempt += 1;
  run.firstAttemptOfRun = run.attempt;
  return reload(run);
}

/** Asks the namespace's workflow for a slot and waits Queued for it. Returns false when the run has ended. */
async function takeSlot(run: SessionRun, session: ResolvedSession): Promise<boolean> {
  const { limits } = run;
  limits.slot = 'asked';
  limits.notice = undefined;
  const limit = session.policy?.maxConcurrentSessions;
  await namespaceCalls('ask the namespace for a slot').signalNamespace({
    namespace: run.ref.namespace,
    signal: {
      kind: 'acquire',
      request: { sessionId: workflowInfo().workflowId, ...(limit === undefined ? {} : { limit }) },
    },
  });
  const phaseBefore = run.state.phase;
  let shown: number | undefined;
  for (;;) {
    const notice = latestNotice(run);
    if (notice?.position === 0) break;
    if (run.stopRequest) {
      await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, run.stopRequest.reason, false);
      return false;
    }
    if (notice && notice.position !== shown) {
      shown = notice.position;
      setStatusAndPhase(run, queued(run.state.status, notice, now()));
      await mirror(run);
    }
    await condition(() => run.stopRequest !== undefined || limits.notice !== notice);
  }
  limits.slot = 'held';
  if (shown !== undefined) setStatusAndPhase(run, slotGranted(run.state.status, phaseBefore, now()));
  return true;
}

/** The namespace workflow's latest notice to the run (a signal may have brought one meanwhile). */
function latestNotice(run: SessionRun): SlotNotice | undefined {
  return run.limits.notice;
}

/** Gives the namespace's slot back (or leaves its queue), when the run has or asked for one. */
async function releaseSlot(run: SessionRun): Promise<void> {
  if (run.limits.slot === 'none') return;
  run.limits.slot = 'none';
  run.limits.notice = undefined;
  await namespaceCalls('give the slot back').signalNamespace({
    namespace: run.ref.namespace,
    signal: { kind: 'release', release: { sessionId: workflowInfo().workflowId } },
  });
}

/**
 * At a cap: gives the slot back and waits WaitingForApproval for an approve with a higher cap —
 * or ends Failed/BudgetExceeded, when the policy says Stop or no approval comes within the
 * inactivity timeout. Returns true once approved.
 */
async function waitAtCap(run: SessionRun, session: ResolvedSession, reached: CapReached): Promise<boolean> {
  await releaseSlot(run);
  const { name } = run.ref;
  if (session.policy?.budget?.onExceeded === 'Stop') {
    await cleanupAndFinish(run, 'Failed', Reason.BudgetExceeded, capMessage(name, reached, 'Stop'), false);
    return false;
  }
  run.limits.waitingAt = reached;
  setStatusAndPhase(run, waitingForApproval(run.state.status, name, reached, now()));
  await mirror(run);
  const waitMs = session.conversation?.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_MS;
  const came = await condition(
    () => run.limits.approval !== undefined || run.stopRequest !== undefined,
    waitMs,
  );
  run.limits.waitingAt = undefined;
  if (run.stopRequest) {
    await cleanupAndFinish(run, 'Stopped', Reason.UserStopped, run.stopRequest.reason, false);
    return false;
  }
  const approval = run.limits.approval;
  if (!came || !approval) {
    const message = `${capMessage(name, reached, 'Pause')}; no approval came within ${formatDuration(waitMs)}`;
    await cleanupAndFinish(run, 'Failed', Reason.BudgetExceeded, message, false);
    return false;
  }
  run.limits.approval = undefined;
  if (reached.cap === 'session') run.limits.sessionCapUsd = approval.capUsd;
  else run.limits.monthlyCapUsd = approval.capUsd;
  setStatusAndPhase(
    run,
    approved(
      run.state.status,
      { cap: reached.cap, capUsd: approval.capUsd, ...(approval.author ? { author: approval.author } : {}) },
      now(),
    ),
  );
  return true;
}

/**
 * What an attempt spent, into the session's total and (for a namespace with a monthly budget or
 * a concurrency limit) the namespace's month: reported USD, or its tokens priced by the table.
 */
async function chargeAttempt(
  run: SessionRun,
  session: ResolvedSession,
  termination: RunnerTermination,
  attempt: number,
): Promise<void> {
  if (!isLimited(session) || !patched(LIMITS_PATCH)) return;
  const cost = attemptCost(parseRunnerResult(termination.message)?.usage, session.model);
  run.limits.spentUsd += cost.usd ?? 0;
  if (cost.source === 'unpriced')
    setStatus(run, unpriced(run.state.status, attempt, session.model, cost.tokens, now()));
  if (!joinsNamespace(session) || (cost.tokens === 0 && !cost.usd)) return;
  const monthlyCapUsd = session.policy?.budget?.monthlyUsd;
  await namespaceCalls(`charge what attempt ${attempt} spent`).signalNamespace({
    namespace: run.ref.namespace,
    signal: {
      kind: 'charge',
      charge: {
        key: `${session.uid}/${attempt}`,
        sessionId: workflowInfo().workflowId,
        ...(cost.usd === undefined ? {} : { costUsd: cost.usd }),
        tokens: cost.tokens,
        ...(monthlyCapUsd === undefined ? {} : { monthlyCapUsd }),
      },
    },
  });
}

/** Runs the current attempt to its end, a timeout, a stop or a restart. */
async function runAttempt(run: SessionRun, session: ResolvedSession): Promise<AttemptEnd> {
  const { attempt } = run;
  setStatus(run, attemptStarting(run.state.status, attempt));
  if (run.converses) setStatus(run, turnAttempt(run.state.status, attempt));
  run.attemptsLaunched.push(attempt);
  const launcher = activities(ACTIVITY, `launch the runner of ${session.name}, attempt ${attempt}`);
  let launch: RunnerLaunch;
  if (run.hardened) {
    try {
      const limited = withBudgetLeft(session, runnerBudget(run, session));
      const launched = await unlessStopped(run, () => launcher.launchRunner({ session: limited, attempt }));
      if (launched === STOPPED) return { kind: 'stopped', message: stopReason(run) };
      launch = launched;
    } catch (error) {
      if (isCancellation(error)) throw error;
      const failure = failureOf(error);
      const reason = provisioningFailureReason(failure?.type);
      const message = failure?.message ?? String(error);
      setStatus(run, launchFailed(run.state.status, attempt, reason, message, now()));
      return { kind: 'failed', reason, message };
    }
  } else {
    launch = await launcher.launchRunner({ session, attempt });
  }
  run.launch = launch;
  setStatus(run, runnerLaunched(run.state.status, attempt, launch, now()));
  await mirror(run);
  run.deadline = Date.now() + session.timeoutMs;
  return waitForRunner(run, session);
}

/**
 * Waits for the runner of the current attempt: on the watcher's signals, on a check of its own
 * every 10 minutes, and at most until the attempt's deadline. When the history grows long it hands
 * the wait over to a new run of the workflow.
 */
async function waitForRunner(run: SessionRun, session: ResolvedSession): Promise<AttemptEnd> {
  const { attempt, deadline } = run;
  const interval = patched(OBSERVE_INTERVAL_PATCH) ? OBSERVE_INTERVAL_MS : OBSERVE_INTERVAL_BEFORE_PATCH_MS;
  let nextObserve = Date.now() + interval;
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
    if (run.limits.monthlyCapReached) {
      const reached = run.limits.monthlyCapReached;
      run.limits.monthlyCapReached = undefined;
      if (capReached(session, run.limits, reached.spentUsd) !== undefined) {
        // The namespace's month is spent: the runner stops (pushing its work), the session waits.
        setStatusAndPhase(run, stopping(run.state.status));
        await mirror(run);
        await stopAndRecord(run, attempt);
        return { kind: 'budget' };
      }
      continue;
    }
    if (run.restartRequested) {
      run.restartRequested = false;
      setStatus(run, restartRequested(run.state.status, attempt, now()));
      await mirror(run);
      // The next attempt mounts the same workspace: the stopped runner must be gone first, and
      // what it pushed on the way out is recorded.
      if (run.hardened) await stopAndRecord(run, attempt);
      else await stopper(run, attempt).stopRunner({ session: run.ref, attempt });
      return { kind: 'restart' };
    }
    const current = Date.now();
    if (current >= deadline) return { kind: 'timeout' };
    if (current >= nextObserve) {
      nextObserve = current + interval;
      const observer = activities(ACTIVITY, `check the runner of ${run.ref.name}, attempt ${attempt}`);
      run.events.push(...(await observer.observeRunner({ session: run.ref, attempt })));
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
function historyIsLong(run: SessionRun, patch = CONTINUE_AS_NEW_PATCH): boolean {
  const info = workflowInfo();
  const limit = run.input.continueAsNewAfterEvents;
  const long = limit === undefined ? info.continueAsNewSuggested : info.historyLength >= limit;
  return long && patched(patch);
}

/** The activities that stop the runner of `attempt`. */
function stopper(run: SessionRun, attempt: number): SessionActivities {
  return activities(STOPPING, `stop the runner of ${run.ref.name}, attempt ${attempt}`);
}

/**
 * Stops the runner of `attempt` (it pushes its work in progress when it can), waits until it is
 * gone, and records the result it wrote on the way out: the one the stop reports, or else what a
 * check of the runner shows.
 */
async function stopAndRecord(run: SessionRun, attempt: number): Promise<void> {
  const stopped = await stopper(run, attempt).stopRunner({ session: run.ref, attempt });
  let termination = stopped ? stopped.termination : undefined;
  if (!termination) {
    const observer = activities(ACTIVITY, `read what the runner of attempt ${attempt} wrote`);
    const ended = (await observer.observeRunner({ session: run.ref, attempt })).find(
      (e) => e.kind === 'ended',
    );
    if (ended?.kind === 'ended') termination = ended.termination;
  }
  if (termination) {
    setStatus(run, resultRecorded(run.state.status, termination));
    recordTurn(run, termination);
    if (run.session) await chargeAttempt(run, run.session, termination, attempt);
  }
}

/**
 * Runs `step`, cancelling it when a stop arrives meanwhile (hardened runs; others just run it).
 * Returns STOPPED when the stop cancelled it. A cancellation of the whole run still throws.
 */
async function unlessStopped<T>(run: SessionRun, step: () => Promise<T>): Promise<T | typeof STOPPED> {
  if (run.stopRequest) return STOPPED;
  const work = new CancellationScope();
  const watch = new CancellationScope();
  const watching = watch.run(() => condition(() => run.stopRequest !== undefined));
  watching.then(
    () => work.cancel(),
    () => undefined,
  );
  try {
    return await work.run(step);
  } catch (error) {
    if (isCancellation(error) && run.stopRequest && !CancellationScope.current().consideredCancelled)
      return STOPPED;
    throw error;
  } finally {
    watch.cancel();
  }
}

/** The reason of the stop asked for. */
function stopReason(run: SessionRun): string {
  return run.stopRequest?.reason ?? 'stopped on request';
}

/** Ends the run in `phase`: the final status, which the user waits for. */
function finish(run: SessionRun, phase: FinalPhase, reason: string, message: string): void {
  setStatusAndPhase(run, finished(run.state.status, phase, reason, message, now()));
  run.state.finished = true;
  run.ending = { reason, message };
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
  if (run.converses) {
    // The last turn ends with the session (one that ended Idle already has its result).
    const { question: _question, ...rest } = turnEnded(run.state.status, turnResultOf(phase), now());
    setStatus(run, rest);
    run.waiting = undefined;
  }
  // The status flips first: the user waits for it, and cleanup is idempotent and retried.
  finish(run, phase, reason, message);
  await mirror(run);
  await releaseSlot(run);
  // Before cleanup: a failed runner's log goes with its Job.
  await sendEndFeedback(run, phase, reason, message, attempts);
  const summary = deleteWorkspace ? 'clean up, deleting the workspace' : 'clean up, keeping the workspace';
  await activities(ACTIVITY, summary).cleanup({ session: run.ref, attempts, deleteWorkspace });
  if (run.restartAfterFinish) {
    await continueAsNew<typeof agentSessionWorkflow>({
      ...run.input,
      restart: true,
      previousAttempt: run.state.status.attempt ?? 0,
    });
  }
}

/** Tells the trigger's source how the session ended; a failure to do so is only recorded. */
async function sendEndFeedback(
  run: SessionRun,
  phase: FinalPhase,
  reason: string,
  message: string,
  attempts: number[],
): Promise<void> {
  const { session } = run;
  if (!run.publishes || run.sessionGone || !session?.trigger?.name) return;
  await run.feedbackStarted;
  const { result, usage, reconciledRepos } = run.state.status;
  const attempt = attempts.at(-1);
  const input: FeedbackInput = {
    session: run.ref,
    resolved: session,
    moment: 'ended',
    phase,
    reason,
    message,
    ...(result ? { result } : {}),
    ...(usage ? { usage } : {}),
    ...(reconciledRepos ? { repos: reconciledRepos } : {}),
    ...(attempt !== undefined ? { attempt } : {}),
  };
  await outcomes('tell the source how the session ended')
    .sendFeedback(input)
    .catch((error: unknown) => {
      if (isCancellation(error)) throw error;
    });
}

/**
 * How the run closes: with the session state, or — for a hardened run that ended Failed or
 * TimedOut — as a failed run whose failure type is the reason, so an operator filtering the Web
 * UI for failed workflows finds it.
 */
function close(run: SessionRun): SessionState {
  const { phase } = run.state;
  if (run.hardened && run.ending && !run.sessionGone && (phase === 'Failed' || phase === 'TimedOut')) {
    throw ApplicationFailure.create({
      type: run.ending.reason,
      message: `session ${phase}: ${run.ending.message}`,
      nonRetryable: true,
    });
  }
  return run.state;
}

/** Replaces the run's status, and the current details the Web UI shows. */
function setStatus(run: SessionRun, status: AgentSessionStatus): void {
  run.state.status = status;
  if (status.phase) run.state.phase = status.phase;
  setCurrentDetails(runDetails(status));
}

/** Replaces the run's status and publishes its phase as the ShepherdPhase search attribute. */
function setStatusAndPhase(run: SessionRun, status: AgentSessionStatus): void {
  setStatus(run, status);
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.phase, value: run.state.phase }]);
}

/**
 * Writes the status into the AgentSession, only when it changed since the last write. In a
 * hardened run writes are serialised: each waits for the one in flight and then writes the status
 * as it is by then, so an earlier status can never land after a later one.
 */
async function mirror(run: SessionRun): Promise<void> {
  if (!run.hardened) return mirrorNow(run);
  const previous = run.mirroring;
  const writing = (async () => {
    if (previous) await previous.catch(() => undefined);
    await mirrorNow(run);
  })();
  run.mirroring = writing;
  return writing;
}

/** Writes the status now, when it changed since the last write. */
async function mirrorNow(run: SessionRun): Promise<void> {
  const snapshot = JSON.stringify(run.state.status);
  if (run.sessionGone || snapshot === run.mirrored) return;
  const writer = activities(ACTIVITY, `write status ${run.state.phase}`);
  try {
    await writer.mirrorStatus({ session: run.ref, status: run.state.status });
  } catch (error) {
    if (failureOf(error)?.type !== 'StatusRejectedError') throw error;
    // The AgentSession refuses this status (a value its schema does not allow): write it without
    // what the runner reported, with the refusal on Ready, rather than retry the same write.
    const { result: _result, usage: _usage, reconciledRepos: _repos, ...rest } = run.state.status;
    const reduced = statusRefused(rest, failureOf(error)?.message ?? String(error), now());
    await activities(ACTIVITY, 'write the status without the runner result').mirrorStatus({
      session: run.ref,
      status: reduced,
    });
  }
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
