/**
 * The session workflow: one run per session lifecycle, id `agent-session/<namespace>/<name>`.
 * It resolves the spec, provisions the workspace and secrets, runs the runner once per attempt
 * under the timeout, applies the exit-code contract, records what the runner reported, cleans up,
 * and mirrors every transition into the AgentSession status and the search attributes.
 *
 * It waits on signals from the shared Job/Pod watcher instead of holding an activity per session,
 * so a worker can carry a thousand sessions; a slow level-triggered `observeRunner` check covers a
 * lost signal.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SessionActivities, SessionRef } from '../runtime/session-activities.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../common/search-attributes.js';
import { ConditionType, Reason, setStatusCondition } from '../resources/conditions.js';
import type { ConditionStatus, Phase } from '../resources/types.js';
import { formatDuration } from '../session/duration.js';
import { type ExitOutcome, exitOutcome, type RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import { parseRunnerResult } from '../runner-contract/result.js';
import {
  type RunnerEvent,
  restartSignal,
  runnerEventSignal,
  type SessionState,
  type SessionWorkflowInput,
  stateQuery,
  stopSignal,
} from './session-contract.js';

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

/** The phases a run ends in. */
type FinalPhase = Extract<Phase, 'Succeeded' | 'Failed' | 'TimedOut' | 'Stopped'>;

/** The session workflow. */
export async function agentSessionWorkflow(input: SessionWorkflowInput): Promise<SessionState> {
  const info = workflowInfo();
  const ref: SessionRef = {
    namespace: input.namespace,
    name: input.name,
    ...(input.uid ? { uid: input.uid } : {}),
  };
  const state: SessionState = {
    namespace: input.namespace,
    name: input.name,
    phase: 'Pending',
    status: { phase: 'Pending', workflowId: info.workflowId, runId: info.runId, conditions: [] },
    finished: false,
    ...(input.spec ? { spec: input.spec } : {}),
    ...(input.labels ? { labels: input.labels } : {}),
  };
  const events: RunnerEvent[] = [];
  let stopRequest: { reason: string } | undefined;
  let restartRequested = false;
  let restartAfterFinish = false;
  let sessionGone = false;

  setHandler(stateQuery, () => state);
  setHandler(runnerEventSignal, (event) => {
    events.push(event);
  });
  setHandler(stopSignal, (request) => {
    stopRequest ??= { reason: request?.reason ?? 'stopped on request' };
  });
  setHandler(restartSignal, () => {
    // After the final status is out, the run is only cleaning up: a restart then must become a
    // new run rather than be lost.
    if (state.finished) restartAfterFinish = true;
    else restartRequested = true;
  });

  const now = () => new Date(Date.now());
  const setCondition = (type: string, status: ConditionStatus, reason: string, message: string) => {
    const observedGeneration = state.status.observedGeneration;
    state.status.conditions = setStatusCondition(
      state.status.conditions,
      { type, status, reason, message, ...(observedGeneration === undefined ? {} : { observedGeneration }) },
      now(),
    ).conditions;
  };
  const setPhase = (phase: Phase) => {
    state.phase = phase;
    state.status.phase = phase;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.phase, value: phase }]);
  };
  // Writes only when the status changed since the last write.
  let mirrored = '';
  const mirror = async () => {
    const snapshot = JSON.stringify(state.status);
    if (sessionGone || snapshot === mirrored) return;
    await acts.mirrorStatus({ session: ref, status: state.status });
    mirrored = snapshot;
  };

  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.namespace, value: input.namespace },
    { key: SEARCH_ATTRIBUTE_KEYS.session, value: input.name },
    { key: SEARCH_ATTRIBUTE_KEYS.phase, value: 'Pending' },
  ]);

  let session: ResolvedSession | undefined;
  let workspacePending = false;
  const attemptsLaunched: number[] = [];
  try {
    // 1. Validate and resolve. Nothing exists yet, so a bad spec ends here with nothing created.
    try {
      const loaded = await acts.loadSession({
        ...ref,
        ...(input.spec ? { spec: input.spec } : {}),
        ...(input.labels ? { labels: input.labels } : {}),
        ...(input.previousAttempt !== undefined ? { previousAttempt: input.previousAttempt } : {}),
      });
      session = loaded.session;
      if (!ref.uid) ref.uid = session.uid;
      state.status.observedGeneration = session.generation;
      state.status.attempt = loaded.previousAttempt;
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTE_KEYS.agent, value: session.agent },
        ...(session.repos[0] ? [{ key: SEARCH_ATTRIBUTE_KEYS.repo, value: session.repos[0].url }] : []),
      ]);
    } catch (error) {
      const failure = failureOf(error);
      if (failure?.type === 'SessionGoneError') {
        sessionGone = true;
        state.finished = true;
        return state;
      }
      if (failure?.type === 'InvalidSpecError' || failure?.type === 'ProviderNotReadyError') {
        const reason = failure.type === 'InvalidSpecError' ? Reason.InvalidSpec : Reason.ProviderNotReady;
        setCondition(ConditionType.Validated, 'False', reason, failure.message);
        finish('Failed', reason, failure.message);
        await mirror();
        return state;
      }
      throw error;
    }
    const s = session;
    state.status.startTime ??= now().toISOString();
    setCondition(
      ConditionType.Validated,
      'True',
      Reason.Resolved,
      `agent ${s.agent}, timeout ${formatDuration(s.timeoutMs)}, retries ${s.retries}`,
    );
    setPhase('Provisioning');
    setCondition(ConditionType.Ready, 'False', Reason.InProgress, 'provisioning the workspace and secrets');

    // 2. Workspace, secrets, runner identity, side by side — and the Provisioning status with
    // them, not before: the Job is what the user waits for.
    try {
      const [workspace] = await Promise.all([
        provisioning.provisionWorkspace(s),
        provisioning.provisionSecrets(s),
        mirror(),
      ]);
      workspacePending = workspace.reason === Reason.Pending;
      setCondition(
        ConditionType.PVCReady,
        workspacePending ? 'False' : 'True',
        workspace.reason,
        workspacePending
          ? `workspace ${workspace.name} is waiting for a volume; the runner starts once it is bound`
          : `workspace ${workspace.name} is ${workspace.reason}`,
      );
      setCondition(
        ConditionType.SecretsReady,
        'True',
        Reason.SecretFound,
        "the runner's secrets and identity are in place",
      );
    } catch (error) {
      if (isCancellation(error)) throw error;
      const failure = failureOf(error);
      const reason =
        failure?.type === 'CredentialsNotFoundError' ? Reason.CredentialsNotFound : Reason.ProvisioningFailed;
      const message = failure?.message ?? String(error);
      setCondition(
        failure?.type === 'CredentialsNotFoundError' ? ConditionType.SecretsReady : ConditionType.PVCReady,
        'False',
        reason,
        message,
      );
      // Bad input leaves nothing behind, not even the workspace.
      await cleanupAndFinish('Failed', reason, message, true);
      return state;
    }

    // 3–5. Attempts: launch, wait for the runner under the timeout, apply the exit-code contract.
    let attempt = (state.status.attempt ?? 0) + 1;
    let firstAttemptOfRun = attempt;
    for (;;) {
      if (stopRequest) {
        await cleanupAndFinish('Stopped', Reason.UserStopped, stopRequest.reason, false);
        return state;
      }
      restartRequested = false;
      const ended = await runAttempt(s, attempt);
      if (ended.kind === 'stopped') {
        await cleanupAndFinish('Stopped', Reason.UserStopped, ended.message, false);
        return state;
      }
      if (ended.kind === 'restart') {
        attempt += 1;
        firstAttemptOfRun = attempt;
        continue;
      }
      const outcome: ExitOutcome =
        ended.kind === 'timeout'
          ? {
              kind: 'timedOut',
              reason: Reason.TimedOut,
              message:
                state.phase === 'Running'
                  ? `the runner did not finish within spec.timeout ${formatDuration(s.timeoutMs)}; raise spec.timeout or give the agent a smaller task`
                  : `the runner never started within spec.timeout ${formatDuration(s.timeoutMs)}; check the pod's events and whether the workspace PVC is bound`,
            }
          : exitOutcome(ended.termination, {
              attempt,
              firstAttemptOfRun,
              retries: s.retries,
              timeoutMs: s.timeoutMs,
            });
      if (ended.kind === 'ended' && ended.termination.exitCode !== undefined)
        state.status.exitCode = ended.termination.exitCode;
      if (ended.kind === 'ended') recordResult(ended.termination);
      if (outcome.kind === 'retry') {
        setCondition(ConditionType.Ready, 'False', Reason.Retrying, outcome.message);
        await mirror();
        await acts.stopRunner({ session: ref, attempt });
        attempt += 1;
        continue;
      }
      if (outcome.kind === 'succeeded') {
        reconcileRepos(s);
        await cleanupAndFinish('Succeeded', Reason.Succeeded, outcome.message, !s.workspace.retain);
      } else if (outcome.kind === 'timedOut') {
        await stopAndRecord(attempt);
        await cleanupAndFinish('TimedOut', outcome.reason, outcome.message, false);
      } else {
        await cleanupAndFinish('Failed', outcome.reason, outcome.message, false);
      }
      return state;
    }
  } catch (error) {
    if (isCancellation(error)) {
      // The AgentSession was deleted (or the run cancelled): its children go with it through
      // ownerReferences; still remove the Job now so no runner outlives the session.
      await CancellationScope.nonCancellable(async () => {
        if (session)
          await acts
            .cleanup({ session: ref, attempts: attemptsLaunched, deleteWorkspace: false })
            .catch(() => undefined);
      });
    }
    throw error;
  }

  /** Runs one attempt to its end, a timeout, a stop or a restart. */
  async function runAttempt(
    s: ResolvedSession,
    attempt: number,
  ): Promise<
    | { kind: 'ended'; termination: RunnerTermination }
    | { kind: 'timeout' }
    | { kind: 'stopped'; message: string }
    | { kind: 'restart' }
  > {
    state.status.attempt = attempt;
    delete state.status.runnerPodName;
    delete state.status.exitCode;
    attemptsLaunched.push(attempt);
    const launch = await acts.launchRunner({ session: s, attempt });
    setCondition(
      ConditionType.JobCreated,
      'True',
      Reason.Created,
      `runner ${launch.name} created for attempt ${attempt}`,
    );
    setCondition(
      ConditionType.RunnerStarted,
      'False',
      Reason.Pending,
      `waiting for the runner of attempt ${attempt} to start`,
    );
    await mirror();

    const deadline = Date.now() + s.timeoutMs;
    let nextObserve = Date.now() + OBSERVE_INTERVAL_MS;
    for (;;) {
      const event = takeEvent(attempt);
      if (event?.kind === 'started') {
        if (state.status.runnerPodName !== event.podName || state.phase !== 'Running') {
          state.status.runnerPodName = event.podName;
          setPhase('Running');
          if (workspacePending) {
            workspacePending = false;
            setCondition(ConditionType.PVCReady, 'True', Reason.Bound, 'the workspace volume is bound');
          }
          setCondition(
            ConditionType.RunnerStarted,
            'True',
            Reason.Started,
            `runner ${event.podName} started (attempt ${attempt})`,
          );
          setCondition(ConditionType.Ready, 'True', Reason.Progressing, 'the agent is working');
          await mirror();
        }
        continue;
      }
      if (event?.kind === 'ended') {
        if (event.podName) state.status.runnerPodName = event.podName;
        return { kind: 'ended', termination: event.termination };
      }
      if (stopRequest) {
        setPhase('Stopping');
        await mirror();
        await stopAndRecord(attempt);
        return { kind: 'stopped', message: stopRequest.reason };
      }
      if (restartRequested) {
        restartRequested = false;
        setCondition(
          ConditionType.Ready,
          'False',
          Reason.Retrying,
          `restart requested during attempt ${attempt}`,
        );
        await mirror();
        await acts.stopRunner({ session: ref, attempt });
        return { kind: 'restart' };
      }
      const current = Date.now();
      if (current >= deadline) return { kind: 'timeout' };
      if (current >= nextObserve) {
        nextObserve = current + OBSERVE_INTERVAL_MS;
        events.push(...(await acts.observeRunner({ session: ref, attempt })));
        continue;
      }
      await condition(
        () => events.some((e) => e.attempt === attempt) || stopRequest !== undefined || restartRequested,
        Math.min(deadline, nextObserve) - current,
      );
    }
  }

  /**
   * Stops the runner of `attempt` (it pushes its work in progress when it can) and records the
   * result it wrote on the way out.
   */
  async function stopAndRecord(attempt: number) {
    await acts.stopRunner({ session: ref, attempt });
    const ended = (await acts.observeRunner({ session: ref, attempt })).find((e) => e.kind === 'ended');
    if (ended?.kind === 'ended') recordResult(ended.termination);
  }

  /** Removes and returns the next event of `attempt`, dropping events of other attempts. */
  function takeEvent(attempt: number): RunnerEvent | undefined {
    for (;;) {
      const event = events.shift();
      if (!event || event.attempt === attempt) return event;
    }
  }

  function recordResult(termination: RunnerTermination) {
    const result = parseRunnerResult(termination.message);
    if (!result) return;
    if (result.summary) state.status.result = result.summary;
    if (result.usage) state.status.usage = result.usage;
    if (result.repos.length > 0) state.status.reconciledRepos = result.repos;
  }

  /** For now the runner's own report is the record: each repository's output branch and commit. */
  function reconcileRepos(s: ResolvedSession) {
    const reported = state.status.reconciledRepos ?? [];
    const repos = s.repos.map((repo) => {
      const entry = reported.find((r) => r.url === repo.url);
      return (
        entry ?? {
          url: repo.url,
          branch: repo.outputBranch,
          status: 'NotPushed' as const,
          message: 'the runner reported nothing for this repository',
        }
      );
    });
    state.status.reconciledRepos = repos;
    const missing = repos.filter((r) => r.status !== 'Pushed' && r.status !== 'NoChanges');
    if (repos.length === 0)
      setCondition(
        ConditionType.ReposReconciled,
        'True',
        Reason.Reconciled,
        'the session has no repositories',
      );
    else if (missing.length === 0)
      setCondition(
        ConditionType.ReposReconciled,
        'True',
        Reason.Reconciled,
        `${repos.length} repositories reconciled`,
      );
    else
      setCondition(
        ConditionType.ReposReconciled,
        'False',
        Reason.PushMissing,
        `not pushed: ${missing.map((r) => r.url).join(', ')}`,
      );
  }

  function finish(phase: FinalPhase, reason: string, message: string) {
    setPhase(phase);
    state.status.completionTime = now().toISOString();
    const ok = phase === 'Succeeded';
    setCondition(ConditionType.Ready, 'False', reason, message);
    setCondition(ConditionType.Completed, ok ? 'True' : 'False', reason, message);
    if (phase === 'Failed' || phase === 'TimedOut')
      setCondition(ConditionType.Failed, 'True', reason, message);
    else if (ok) setCondition(ConditionType.Failed, 'False', reason, message);
    state.finished = true;
  }

  async function cleanupAndFinish(
    phase: FinalPhase,
    reason: string,
    message: string,
    deleteWorkspace: boolean,
  ) {
    // Attempts of an earlier run may have left Jobs if that run was killed mid-cleanup.
    const attempts =
      attemptsLaunched.length > 0 ? attemptsLaunched : [state.status.attempt ?? 0].filter((a) => a > 0);
    // The status flips first: the user waits for it, and cleanup is idempotent and retried.
    finish(phase, reason, message);
    await mirror();
    await acts.cleanup({ session: ref, attempts, deleteWorkspace });
    if (restartAfterFinish) {
      await continueAsNew<typeof agentSessionWorkflow>({
        ...input,
        restart: true,
        previousAttempt: state.status.attempt ?? 0,
      });
    }
  }
}

/** The ApplicationFailure behind an activity failure, if any. */
function failureOf(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? cause : undefined;
}
