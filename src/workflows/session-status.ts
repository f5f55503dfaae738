/**
 * The status choreography of a session: which phase and conditions each step of its run sets, as
 * pure functions from (status, event, now) to the next status. The workflow decides what happens
 * and when it is written; this module decides only what the status then says, so every message a
 * user reads in `kubectl get ags -o yaml` is in one place and unit-tested without Temporal.
 *
 * Inputs are never mutated. A key keeps its place in the object when its value changes, as an
 * assignment would keep it: the workflow compares serialised statuses to skip unchanged writes.
 */
import { ConditionType, Reason, setStatusCondition } from '../resources/conditions.js';
import type { AgentSessionStatus, ConditionStatus, Phase, TurnStatus } from '../resources/types.js';
import type { PublishOutput } from '../session-outcome/outcome-activities.js';
import type { RunnerLaunch, WorkspaceInfo } from '../runtime/session-activities.js';
import { formatDuration } from '../session/duration.js';
import type { ExitOutcome, RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedRepo, ResolvedSession } from '../session/resolved-session.js';
import { parseRunnerResult } from '../runner-contract/result.js';

/** The phases a run ends in. */
export type FinalPhase = Extract<Phase, 'Succeeded' | 'Failed' | 'TimedOut' | 'Stopped'>;

/** The status a run starts from, before it has read the session. */
export function initialStatus(workflowId: string, runId: string): AgentSessionStatus {
  return { phase: 'Pending', workflowId, runId, conditions: [] };
}

/**
 * The session was read: the generation its conditions observe, and the previous run's attempt and
 * turns (a restarted conversation goes on from them).
 */
export function sessionLoaded(
  status: AgentSessionStatus,
  loaded: { generation: number; previousAttempt: number; previousTurns?: TurnStatus[] },
): AgentSessionStatus {
  return {
    ...status,
    observedGeneration: loaded.generation,
    attempt: loaded.previousAttempt,
    ...(loaded.previousTurns?.length ? { turns: loaded.previousTurns } : {}),
  };
}

/** The spec cannot run (InvalidSpec, ProviderNotReady): Validated=False says why. */
export function validationFailed(
  status: AgentSessionStatus,
  reason: string,
  message: string,
  now: Date,
): AgentSessionStatus {
  return withCondition(status, ConditionType.Validated, 'False', reason, message, now);
}

/** The spec was resolved: phase Provisioning, while the workspace and secrets are made. */
export function validated(
  status: AgentSessionStatus,
  session: ResolvedSession,
  now: Date,
): AgentSessionStatus {
  let next: AgentSessionStatus = { ...status, startTime: status.startTime ?? now.toISOString() };
  next = withCondition(
    next,
    ConditionType.Validated,
    'True',
    Reason.Resolved,
    `agent ${session.agent}, timeout ${formatDuration(session.timeoutMs)}, retries ${session.retries}`,
    now,
  );
  next = { ...next, phase: 'Provisioning' };
  return withCondition(
    next,
    ConditionType.Ready,
    'False',
    Reason.InProgress,
    'provisioning the workspace and secrets',
    now,
  );
}

/** Whether the workspace still waits for a volume: its runner's pod then waits for it too. */
export function workspacePending(workspace: WorkspaceInfo): boolean {
  return workspace.reason === Reason.Pending;
}

/**
 * The workspace, the secrets and the runner's identity exist. The messages name the workspace by
 * its description (`PVC …`, `directory …`), or by its name in results recorded by older workers.
 */
export function provisioned(
  status: AgentSessionStatus,
  workspace: WorkspaceInfo,
  now: Date,
): AgentSessionStatus {
  const pending = workspacePending(workspace);
  const label = workspace.description ?? workspace.name;
  const next = withCondition(
    status,
    ConditionType.PVCReady,
    pending ? 'False' : 'True',
    workspace.reason,
    pending
      ? `workspace ${label} is waiting for a volume; the runner starts once it is bound`
      : `workspace ${label} is ${workspace.reason}`,
    now,
  );
  return withCondition(
    next,
    ConditionType.SecretsReady,
    'True',
    Reason.SecretFound,
    "the runner's secrets and identity are in place",
    now,
  );
}

/** The failure types whose reason names them, and the reason for each. */
const FAILURE_REASONS: Readonly<Record<string, Reason>> = {
  CredentialsNotFoundError: Reason.CredentialsNotFound,
  ObjectConflictError: Reason.ObjectConflict,
  // The provisioning budget ran out while a deleted session's object of the same name stayed.
  ObjectPendingRemovalError: Reason.ObjectConflict,
  RejectedError: Reason.Rejected,
  // A Secret relabelled not usable between validation and provisioning.
  PolicyViolationError: Reason.PolicyViolation,
  EgressHostUnknownError: Reason.EgressHostUnknown,
};

/**
 * The reason a failed provisioning or launch ends the session with: a missing Secret, an object
 * of the same name someone else owns, a refusal by the runtime, or a host the runner's egress
 * policy has no address for is the user's (or operator's) to fix; anything
 * else (a retry budget spent on an unreachable API server) a failure to create the objects.
 */
export function provisioningFailureReason(failureType: string | null | undefined): Reason {
  return (failureType && FAILURE_REASONS[failureType]) || Reason.ProvisioningFailed;
}

/**
 * Provisioning failed: the condition of the step that failed (`failedStep`: PVCReady for the
 * workspace, SecretsReady for the secrets and identity) is False with the cause. Without a step,
 * a missing Secret points at SecretsReady and anything else at PVCReady.
 */
export function provisioningFailed(
  status: AgentSessionStatus,
  reason: Reason,
  message: string,
  now: Date,
  failedStep?: typeof ConditionType.PVCReady | typeof ConditionType.SecretsReady,
): AgentSessionStatus {
  const type =
    failedStep ??
    (reason === Reason.CredentialsNotFound ? ConditionType.SecretsReady : ConditionType.PVCReady);
  return withCondition(status, type, 'False', reason, message, now);
}

/** The runner of `attempt` could not be created: JobCreated=False with the cause. */
export function launchFailed(
  status: AgentSessionStatus,
  attempt: number,
  reason: Reason,
  message: string,
  now: Date,
): AgentSessionStatus {
  return withCondition(
    status,
    ConditionType.JobCreated,
    'False',
    reason,
    `the runner of attempt ${attempt} could not be created: ${message}`,
    now,
  );
}

/**
 * The AgentSession refused a status write: what is left of the status says so on a condition of
 * its own (ReposReconciled, the one the runner's report feeds), with the API server's message.
 */
export function statusRefused(status: AgentSessionStatus, message: string, now: Date): AgentSessionStatus {
  return withCondition(
    status,
    ConditionType.ReposReconciled,
    'False',
    Reason.StatusRejected,
    `the runner's report could not be recorded: ${message}`,
    now,
  );
}

/** The spec was read again before a new attempt: the generation the next attempt acts on. */
export function sessionReloaded(status: AgentSessionStatus, generation: number): AgentSessionStatus {
  return { ...status, observedGeneration: generation };
}

/**
 * What the Temporal Web UI shows as the run's current details: the phase, the attempt, and the
 * Ready condition's reason and message (the final reason once the run has ended), so an operator
 * reads there what `kubectl get ags` says.
 */
export function runDetails(status: AgentSessionStatus): string {
  const ready = status.conditions?.find((c) => c.type === ConditionType.Ready);
  const attempt = status.attempt ? ` · attempt ${status.attempt}` : '';
  const lines = [`**${status.phase ?? 'Pending'}**${attempt}`];
  if (ready) lines.push(`${ready.reason}: ${ready.message}`);
  return lines.join('\n\n');
}

/** A new attempt begins: its number, and nothing yet of its runner. */
export function attemptStarting(status: AgentSessionStatus, attempt: number): AgentSessionStatus {
  const { runnerPodName: _pod, exitCode: _exitCode, ...rest } = status;
  return { ...rest, attempt };
}

/**
 * The runner of `attempt` was created and has not started yet. It is named by its description
 * (`Job …`, `process …`), or by its name in results recorded by older workers.
 */
export function runnerLaunched(
  status: AgentSessionStatus,
  attempt: number,
  launch: RunnerLaunch,
  now: Date,
): AgentSessionStatus {
  const next = withCondition(
    status,
    ConditionType.JobCreated,
    'True',
    Reason.Created,
    `runner ${launch.description ?? launch.name} created for attempt ${attempt}`,
    now,
  );
  return withCondition(
    next,
    ConditionType.RunnerStarted,
    'False',
    Reason.Pending,
    `waiting for the runner of attempt ${attempt} to start`,
    now,
  );
}

/** Whether a started runner is news: another pod, or the session is not Running yet. */
export function isNewRunnerStart(status: AgentSessionStatus, podName: string): boolean {
  return status.runnerPodName !== podName || status.phase !== 'Running';
}

/**
 * The runner of `attempt` started in `podName`: phase Running. A workspace that was waiting for a
 * volume (`workspaceWasPending`) is bound now, since the runner's pod could start.
 */
export function runnerStarted(
  status: AgentSessionStatus,
  started: { attempt: number; podName: string; workspaceWasPending: boolean },
  now: Date,
): AgentSessionStatus {
  let next: AgentSessionStatus = { ...status, runnerPodName: started.podName, phase: 'Running' };
  if (started.workspaceWasPending) {
    next = withCondition(
      next,
      ConditionType.PVCReady,
      'True',
      Reason.Bound,
      'the workspace volume is bound',
      now,
    );
  }
  next = withCondition(
    next,
    ConditionType.RunnerStarted,
    'True',
    Reason.Started,
    `runner ${started.podName} started (attempt ${started.attempt})`,
    now,
  );
  return withCondition(next, ConditionType.Ready, 'True', Reason.Progressing, 'the agent is working', now);
}

/** The runner ended; the pod it ran in, when the watcher knows it. */
export function runnerEnded(status: AgentSessionStatus, podName: string | undefined): AgentSessionStatus {
  return podName ? { ...status, runnerPodName: podName } : status;
}

/** A stop was asked for: phase Stopping while the runner is deleted. */
export function stopping(status: AgentSessionStatus): AgentSessionStatus {
  return { ...status, phase: 'Stopping' };
}

/** A restart was asked for during `attempt`: Ready=False until the next attempt runs. */
export function restartRequested(status: AgentSessionStatus, attempt: number, now: Date): AgentSessionStatus {
  return withCondition(
    status,
    ConditionType.Ready,
    'False',
    Reason.Retrying,
    `restart requested during attempt ${attempt}`,
    now,
  );
}

/**
 * The repositories once checked on their forges and given pull requests: the checked entries
 * replace the reported ones, and ReposReconciled says what is missing — a branch not on its forge
 * at the reported commit (PushNotFound), or a pull request the forge refused (PullRequestFailed).
 */
export function pullRequestsPublished(
  status: AgentSessionStatus,
  published: PublishOutput,
  now: Date,
): AgentSessionStatus {
  const { repos, refused, notFound } = published;
  const next = { ...status, reconciledRepos: repos };
  if (notFound.length > 0)
    return withCondition(
      next,
      ConditionType.ReposReconciled,
      'False',
      Reason.PushNotFound,
      notFound.join('; '),
      now,
    );
  if (refused.length > 0)
    return withCondition(
      next,
      ConditionType.ReposReconciled,
      'False',
      Reason.PullRequestFailed,
      `${refused.join('; ')}; the branches are pushed`,
      now,
    );
  const opened = repos.filter((r) => r.pullRequestUrl).map((r) => r.pullRequestUrl);
  const message =
    opened.length > 0
      ? `${repos.length} repositories reconciled; pull requests: ${opened.join(', ')}`
      : repos.every((r) => r.status === 'NoChanges')
        ? 'no changes: no pull request opened'
        : `${repos.length} repositories reconciled`;
  return withCondition(next, ConditionType.ReposReconciled, 'True', Reason.Reconciled, message, now);
}

/**
 * The forge could not be reached within the retries: the pushed branches stay as the runner
 * reported them, each with the reason, and ReposReconciled=False. The session still succeeds.
 */
export function publishingFailed(status: AgentSessionStatus, message: string, now: Date): AgentSessionStatus {
  const repos = (status.reconciledRepos ?? []).map((r) =>
    r.status === 'Pushed' ? { ...r, message: `no pull request: ${message}` } : r,
  );
  return withCondition(
    { ...status, reconciledRepos: repos },
    ConditionType.ReposReconciled,
    'False',
    Reason.PullRequestFailed,
    `pull requests not opened: ${message}; the branches are pushed`,
    now,
  );
}

/** An attempt failed in a way that is retried; `message` names the failure and the budget. */
export function retrying(status: AgentSessionStatus, message: string, now: Date): AgentSessionStatus {
  return withCondition(status, ConditionType.Ready, 'False', Reason.Retrying, message, now);
}

/**
 * What the runner reported when it ended: its summary, usage and repositories (from the JSON of
 * its termination message). Anything else it wrote is not a result and changes nothing.
 */
export function resultRecorded(
  status: AgentSessionStatus,
  termination: RunnerTermination,
): AgentSessionStatus {
  const result = parseRunnerResult(termination.message);
  if (!result) return status;
  return {
    ...status,
    ...(result.summary ? { result: result.summary } : {}),
    ...(result.usage ? { usage: result.usage } : {}),
    ...(result.repos.length > 0 ? { reconciledRepos: result.repos } : {}),
  };
}

/** An attempt ended: its exit code, when it has one, and the result it reported. */
export function attemptEnded(status: AgentSessionStatus, termination: RunnerTermination): AgentSessionStatus {
  const next = termination.exitCode === undefined ? status : { ...status, exitCode: termination.exitCode };
  return resultRecorded(next, termination);
}

/**
 * The session's repositories against what the runner reported: each one's output branch and
 * commit, and ReposReconciled. For now the runner's own report is the record.
 */
export function reposReconciled(
  status: AgentSessionStatus,
  repos: readonly ResolvedRepo[],
  now: Date,
): AgentSessionStatus {
  const reported = status.reconciledRepos ?? [];
  const reconciledRepos = repos.map(
    (repo) =>
      reported.find((r) => r.url === repo.url) ?? {
        url: repo.url,
        branch: repo.outputBranch,
        status: 'NotPushed' as const,
        message: 'the runner reported nothing for this repository',
      },
  );
  const next = { ...status, reconciledRepos };
  const missing = reconciledRepos.filter((r) => r.status !== 'Pushed' && r.status !== 'NoChanges');
  if (reconciledRepos.length === 0)
    return withCondition(
      next,
      ConditionType.ReposReconciled,
      'True',
      Reason.Reconciled,
      'the session has no repositories',
      now,
    );
  if (missing.length === 0)
    return withCondition(
      next,
      ConditionType.ReposReconciled,
      'True',
      Reason.Reconciled,
      `${reconciledRepos.length} repositories reconciled`,
      now,
    );
  return withCondition(
    next,
    ConditionType.ReposReconciled,
    'False',
    Reason.PushMissing,
    `not pushed: ${missing.map((r) => r.url).join(', ')}`,
    now,
  );
}

/**
 * The attempt used its whole spec.timeout. What to check depends on whether the runner ever ran:
 * `phase` is the session's phase when the deadline passed. A runner that never started is named
 * with its workspace, by their descriptions when the runtime gave them.
 */
export function timedOut(
  phase: Phase | undefined,
  timeoutMs: number,
  runner: { workspace?: WorkspaceInfo; launch?: RunnerLaunch } = {},
): ExitOutcome {
  const limit = `spec.timeout ${formatDuration(timeoutMs)}`;
  const runnerDescription = runner.launch?.description;
  const workspaceDescription = runner.workspace?.description;
  const check =
    runnerDescription && workspaceDescription
      ? `check ${runnerDescription} and ${workspaceDescription}`
      : "check the pod's events and whether the workspace PVC is bound";
  return {
    kind: 'timedOut',
    reason: Reason.TimedOut,
    message:
      phase === 'Running'
        ? `the runner did not finish within ${limit}; raise spec.timeout or give the agent a smaller task`
        : `the runner never started within ${limit}; ${check}`,
  };
}

/**
 * The run ends in `phase`: Ready=False, Completed True only for Succeeded, Failed True for Failed
 * and TimedOut (False for Succeeded, left alone for Stopped), all with the same reason and message.
 */
export function finished(
  status: AgentSessionStatus,
  phase: FinalPhase,
  reason: string,
  message: string,
  now: Date,
): AgentSessionStatus {
  const ok = phase === 'Succeeded';
  let next: AgentSessionStatus = { ...status, phase, completionTime: now.toISOString() };
  next = withCondition(next, ConditionType.Ready, 'False', reason, message, now);
  next = withCondition(next, ConditionType.Completed, ok ? 'True' : 'False', reason, message, now);
  if (phase === 'Failed' || phase === 'TimedOut')
    return withCondition(next, ConditionType.Failed, 'True', reason, message, now);
  if (ok) return withCondition(next, ConditionType.Failed, 'False', reason, message, now);
  return next;
}

/** Sets one condition, observing the status's generation. */
export function withCondition(
  status: AgentSessionStatus,
  type: string,
  conditionStatus: ConditionStatus,
  reason: string,
  message: string,
  now: Date,
): AgentSessionStatus {
  const { observedGeneration } = status;
  const { conditions } = setStatusCondition(
    status.conditions,
    {
      type,
      status: conditionStatus,
      reason,
      message,
      ...(observedGeneration === undefined ? {} : { observedGeneration }),
    },
    now,
  );
  return { ...status, conditions };
}
