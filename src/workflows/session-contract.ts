/**
 * The contract between the session workflow and everything that talks to it — the API, the CR
 * controller, the Job/Pod watcher, the CLI: task queue, workflow id, input, signals and the state
 * query. Imported by workflow code, so it stays free of Node built-ins.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AgentSessionSpec,
  AgentSessionStatus,
  Phase,
  PromptSource,
  TurnStatus,
  Usage,
} from '../resources/types.js';
import type { RunnerLaunch, WorkspaceInfo } from '../runtime/session-activities.js';
import type { RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedSession } from '../session/resolved-session.js';

/** Task queue of the session workflow and its activities. */
export const SESSION_TASK_QUEUE = 'shepherd-sessions';

/** Name of the session workflow function, for clients that start it by name. */
export const SESSION_WORKFLOW_TYPE = 'agentSessionWorkflow';

const ID_PREFIX = 'agent-session/';

/** The workflow id of a session: `agent-session/<namespace>/<name>`. */
export function sessionWorkflowId(namespace: string, name: string): string {
  return `${ID_PREFIX}${namespace}/${name}`;
}

/** The namespace and name in a session workflow id, or undefined for any other id. */
export function parseSessionWorkflowId(id: string): { namespace: string; name: string } | undefined {
  if (!id.startsWith(ID_PREFIX)) return undefined;
  const [namespace, name, ...rest] = id.slice(ID_PREFIX.length).split('/');
  if (!namespace || !name || rest.length > 0) return undefined;
  return { namespace, name };
}

/** Which implementation of the activities runs the session. */
export type SessionRuntime = 'kubernetes' | 'local';

/** Input of one run of the session workflow. */
export interface SessionWorkflowInput {
  namespace: string;
  name: string;
  /**
   * The AgentSession uid this run was started for. A run refuses to act on a CR with another uid
   * (deleted and created again under the same name).
   */
  uid?: string;
  /** True when this run restarts a finished session: it continues the attempt count. */
  restart?: boolean;
  /**
   * The session's spec, for the local runtime, where no AgentSession CR exists and the workflow
   * itself is the session record. The Kubernetes runtime reads the spec from the CR instead.
   */
  spec?: AgentSessionSpec;
  /** Labels of the session (local runtime), as a CR's metadata.labels. */
  labels?: Record<string, string>;
  /**
   * The last attempt of the previous run (local runtime, restarts): the Kubernetes runtime reads
   * it from `status.attempt`.
   */
  previousAttempt?: number;
  /** The turns of the previous run (local runtime, restarts): on Kubernetes, `status.turns`. */
  previousTurns?: TurnStatus[];
  /**
   * Set by the workflow itself when a run that waits for its runner continues as new to keep its
   * history short: the new run resumes that wait, for the same attempt.
   */
  continued?: ContinuedSessionRun;
  /**
   * Continue as new once the history holds this many events, instead of when Temporal suggests
   * it. For tests, which cannot grow a history to the size where Temporal does.
   */
  continueAsNewAfterEvents?: number;
}

/**
 * What a run that continued as new needs to go on waiting for the runner of the same attempt,
 * without reading the session again or launching another runner.
 */
export interface ContinuedSessionRun {
  session: ResolvedSession;
  /** The status so far; the new run puts its own run id in. */
  status: AgentSessionStatus;
  attempt: number;
  /** The first attempt of the session's current run of attempts, for the retry budget. */
  firstAttemptOfRun: number;
  /** Every attempt a runner was launched for, for cleanup. */
  attemptsLaunched: number[];
  /** When the attempt's spec.timeout runs out, in workflow time (epoch milliseconds). */
  deadline: number;
  workspace?: WorkspaceInfo;
  workspacePending: boolean;
  /** The runner of the attempt. */
  launch?: RunnerLaunch;
  /** Runner events received and not handled yet. */
  events: RunnerEvent[];
  /** A stop asked for and not acted on yet. */
  stopRequest?: { reason: string };
  /** A restart asked for and not acted on yet. */
  restartRequested: boolean;
  /** The conversation turn of the attempt (absent in hand-overs of older workers: turn 1). */
  turn?: number;
  /** The turn's prompt, from turn 2 on. */
  turnPrompt?: string;
  /** `status.usage` of the turns before. */
  usageBeforeTurn?: Usage;
  /** The run's standing with the namespace's limits (absent when its policy sets none). */
  limits?: SessionLimitsState;
  /**
   * Set when the run continued as new between two turns of a conversation: the new run goes on
   * waiting for the next prompt (or the answer to the question), until the same deadline.
   */
  waitingForTurn?: { waiting: 'idle' | 'question'; deadline: number };
}

/** Where a session stands with its NamespacePolicy's concurrency limit and budgets. */
export interface SessionLimitsState {
  /** Whether it holds one of the namespace's slots. */
  holdsSlot: boolean;
  /** USD its attempts spent, every attempt and turn counted. */
  spentUsd: number;
  /** A session cap approved above the policy's. */
  sessionCapUsd?: number;
  /** A monthly cap approved (for this session) above the policy's. */
  monthlyCapUsd?: number;
}

/** The runner of `attempt` is running in `podName`. */
export interface RunnerStartedEvent {
  kind: 'started';
  attempt: number;
  podName: string;
}

/** The runner of `attempt` ended (or can never start): how, as the watcher saw it. */
export interface RunnerEndedEvent {
  kind: 'ended';
  attempt: number;
  podName?: string;
  termination: RunnerTermination;
}

/** What the Job/Pod watcher reports about a session's runner. */
export type RunnerEvent = RunnerStartedEvent | RunnerEndedEvent;

/** Sent by the watcher whenever it sees a runner start or end. Duplicates are harmless. */
export const runnerEventSignal = defineSignal<[RunnerEvent]>('runnerEvent');

/** Why a stop was asked for, for the condition message. */
export interface StopRequest {
  reason?: string;
}

/** Stop the session: delete its Job, clean up, end `Stopped`. */
export const stopSignal = defineSignal<[StopRequest]>('stop');

/**
 * Run the session again on the same workspace, as a new attempt. To a finished session it is sent
 * with signal-with-start, which starts a new run of the same workflow id.
 */
export const restartSignal = defineSignal<[]>('restart');

/** A prompt for the next turn of a conversation, or the answer to the agent's question. */
export interface PromptInput {
  /** The text for the agent (at most MAX_PROMPT_CHARS characters). */
  prompt: string;
  source: PromptSource;
  /** Who sent it, as the source names them. */
  author?: string;
}

/** The longest prompt a turn takes: it travels in the session Secret and Temporal payloads. */
export const MAX_PROMPT_CHARS = 65_536;

/** What an accepted prompt became. */
export interface PromptAccepted {
  /** The number of the turn the prompt starts. */
  turn: number;
}

/**
 * The failure type of a prompt or answer the session refuses (finished, stopping, running a turn,
 * or not waiting for an answer); the message says which and what to do.
 */
export const PROMPT_REFUSED = 'PromptRefused';

/**
 * Start the next turn of an Idle conversation (or answer a waiting question) with a prompt. The
 * validator refuses it before it reaches the history, with a PROMPT_REFUSED failure, when the
 * session cannot take it now.
 */
export const sendPromptUpdate = defineUpdate<PromptAccepted, [PromptInput]>('sendPrompt');

/** Answer the agent's question (phase WaitingForInput): the answer is the next turn's prompt. */
export const answerUpdate = defineUpdate<PromptAccepted, [PromptInput]>('answer');

/** A pull request of the session was merged or closed on its forge. */
export interface PullRequestClosed {
  url: string;
  merged: boolean;
}

/** Ends an Idle conversation whose pull request was merged or closed (reason PullRequestClosed). */
export const pullRequestClosedSignal = defineSignal<[PullRequestClosed]>('pullRequestClosed');

/** A new cap for a session waiting at a budget cap (phase WaitingForApproval). */
export interface ApproveInput {
  /**
   * The new cap in USD, above what was spent: of the session's own spending when the session's
   * cap (budget.perSessionUsd) was reached, of the namespace's this month when the monthly one was.
   */
  capUsd: number;
  /** Who approved, for the condition message. */
  author?: string;
}

/** What an accepted approval did. */
export interface ApprovalAccepted {
  /** Which cap the approval raised. */
  cap: 'session' | 'monthly';
  capUsd: number;
}

/** The failure type of an approval the session refuses (not waiting, or a cap not above the spending). */
export const APPROVAL_REFUSED = 'ApprovalRefused';

/**
 * Resume a session that waits at a budget cap, with a higher cap. The validator refuses it, with
 * an APPROVAL_REFUSED failure, unless the session is WaitingForApproval and the cap is above what
 * was spent.
 */
export const approveUpdate = defineUpdate<ApprovalAccepted, [ApproveInput]>('approve');

/** The session as the workflow knows it: the CR status it mirrors, and where it stands. */
export interface SessionState {
  namespace: string;
  name: string;
  phase: Phase;
  /** The AgentSession status the workflow maintains (and mirrors into the CR). */
  status: AgentSessionStatus;
  /** True once the run has ended. */
  finished: boolean;
  /** The spec the run was started with (local runtime, where no CR holds it). */
  spec?: AgentSessionSpec;
  /** The session's labels (local runtime). */
  labels?: Record<string, string>;
}

/** Returns the full session state. */
export const stateQuery = defineQuery<SessionState>('state');
