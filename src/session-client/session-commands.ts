/**
 * Client-side commands on a session workflow, shared by the CR controller, the API, the webhooks
 * and the CLI: start, stop, restart, send a prompt, approve a higher budget cap and read the
 * state. Every start of a session workflow, from any of them, goes through
 * {@link startSessionWorkflow}, so each run carries the same id, memo and search attributes and
 * meets a running workflow the same way whoever started it; every prompt goes through
 * {@link sendSessionPrompt} and every approval through {@link approveSession}, both executing
 * their Update the same way, so each gets the same answers.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import {
  ApplicationFailure,
  type UpdateDefinition,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../common/search-attributes.js';
import { FINISHED_PHASES } from '../resources/phases.js';
import type { AgentSessionStatus, Phase } from '../resources/types.js';
import { promptRefusal } from '../workflows/prompt-refusal.js';
import { approvalRefusal } from '../workflows/session-limits.js';
import {
  answerUpdate,
  APPROVAL_REFUSED,
  type ApprovalAccepted,
  type ApproveInput,
  approveUpdate,
  PROMPT_REFUSED,
  type PromptInput,
  restartSignal,
  sendPromptUpdate,
  SESSION_WORKFLOW_TYPE,
  type SessionState,
  sessionWorkflowId,
  stateQuery,
  stopSignal,
  type SessionWorkflowInput,
} from '../workflows/session-contract.js';

/**
 * Memo key holding the uid of the AgentSession a workflow run was started for, so the controller
 * can tell a run of this CR from one of an earlier CR of the same name.
 */
export const SESSION_UID_MEMO = 'shepherd.dev/uid';

/** Memo key holding the CR generation a run was started to restart for, so replicas restart once. */
export const RESTART_GENERATION_MEMO = 'shepherd.dev/restart-generation';

/** What to start, and how. */
export interface StartSessionWorkflowOptions {
  /** The task queue of the session workflows. */
  taskQueue: string;
  /**
   * The run's input. Its `uid`, when there is one (the AgentSession's; the local runtime has no
   * CR), is recorded in the memo under {@link SESSION_UID_MEMO}.
   */
  input: SessionWorkflowInput;
  /**
   * The CR generation this run restarts the session for, recorded in the memo under
   * {@link RESTART_GENERATION_MEMO}.
   * @default none: the memo names no generation
   */
  restartGeneration?: number;
  /**
   * `restart`: signal-with-start with the restart signal, so a running session begins a new
   * attempt and a finished one a new run (either way with `restart: true` in the input of a run it
   * starts).
   * @default none: a plain start, which leaves a running workflow alone
   */
  signal?: 'restart';
  /**
   * A plain start of the id's first run: refused (as `already-running`) when the id has had a
   * run since the caller looked, even a closed one, so a start decided on an old look never
   * follows a run that was terminated meanwhile.
   * @default false: a closed run of the id may be followed by a new one
   */
  firstRun?: boolean;
  /**
   * Ask the server to hand the run's first workflow task straight back to a worker polling the
   * task queue through this client's connection (eager workflow start), sparing a trip through
   * Temporal's matching: only a client on the worker's own `NativeConnection` can, as the worker's
   * AgentSession controller is. Ignored with `signal: 'restart'`, which has no eager form.
   * @default false
   */
  eager?: boolean;
}

/** What {@link startSessionWorkflow} did. */
export type StartSessionWorkflowResult =
  /** A new run started. */
  | { outcome: 'started'; runId: string }
  /** A plain start found the workflow running and left it alone (or, `firstRun`, found it had run). */
  | { outcome: 'already-running' }
  /** The restart signal reached a running run, or a new run started with it. */
  | { outcome: 'restart-signalled'; runId: string };

/**
 * Starts the session's workflow under its one workflow id (a closed run of the id may be
 * followed by a new one), or, with `signal: 'restart'`, signals the restart with start.
 */
export async function startSessionWorkflow(
  client: Client,
  options: StartSessionWorkflowOptions,
): Promise<StartSessionWorkflowResult> {
  const { taskQueue, input, restartGeneration, signal, firstRun = false, eager = false } = options;
  const memo = {
    ...(input.uid === undefined ? {} : { [SESSION_UID_MEMO]: input.uid }),
    ...(restartGeneration === undefined ? {} : { [RESTART_GENERATION_MEMO]: restartGeneration }),
  };
  const common = {
    taskQueue,
    workflowId: sessionWorkflowId(input.namespace, input.name),
    workflowIdReusePolicy:
      firstRun && signal !== 'restart'
        ? WorkflowIdReusePolicy.REJECT_DUPLICATE
        : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    memo,
    // What the Web UI shows for the run before it has said anything itself.
    staticSummary: `AgentSession ${input.namespace}/${input.name}`,
    staticDetails: [
      `Session \`${input.name}\` in namespace \`${input.namespace}\``,
      ...(input.uid ? [`uid \`${input.uid}\``] : []),
      ...(input.spec?.agent ? [`agent ${input.spec.agent}`] : []),
    ].join(' · '),
    // The workflow sets them too; set at start, a session is listed by them from its first moment.
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTE_KEYS.namespace, value: input.namespace },
      { key: SEARCH_ATTRIBUTE_KEYS.session, value: input.name },
    ],
  };
  if (signal === 'restart') {
    const handle = await client.workflow.signalWithStart(SESSION_WORKFLOW_TYPE, {
      ...common,
      args: [{ ...input, restart: true }],
      signal: restartSignal,
      signalArgs: [],
    });
    return { outcome: 'restart-signalled', runId: handle.signaledRunId };
  }
  try {
    const handle = await client.workflow.start(SESSION_WORKFLOW_TYPE, {
      ...common,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      ...(eager ? { requestEagerStart: true } : {}),
    });
    return { outcome: 'started', runId: handle.firstExecutionRunId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'already-running' };
    throw error;
  }
}

/** Asks a running session to stop. Returns false when it is not running. */
export async function stopSession(
  client: Client,
  namespace: string,
  name: string,
  reason: string,
): Promise<boolean> {
  try {
    await client.workflow.getHandle(sessionWorkflowId(namespace, name)).signal(stopSignal, { reason });
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** The session state from its latest run, or undefined when it never ran. */
export async function sessionState(
  client: Client,
  namespace: string,
  name: string,
): Promise<SessionState | undefined> {
  try {
    return await client.workflow.getHandle(sessionWorkflowId(namespace, name)).query(stateQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** What became of an Update sent to a session that did not take it. */
export type UpdateNotTaken =
  /** The session cannot take it now; `message` says why and what to do. */
  | { outcome: 'refused'; message: string }
  /** No session workflow of that name ever ran, or its history is gone. */
  | { outcome: 'not-found' }
  /**
   * The workflow did not take or refuse the Update within the wait (its worker is down or
   * restarting, or it is not polling yet). Temporal may still hand the Update to the workflow once
   * its worker is back, so a caller that sends it again must use the same `updateId`.
   */
  | { outcome: 'unanswered'; message: string };

/** What a prompt sent to a session became: taken as turn `turn`, or not taken. */
export type PromptOutcome = { outcome: 'accepted'; turn: number } | UpdateNotTaken;

/** What an approval sent to a session became: `cap` raised to `capUsd`, or not taken. */
export type ApprovalOutcome = ({ outcome: 'accepted' } & ApprovalAccepted) | UpdateNotTaken;

/** How {@link sendSessionPrompt} and {@link approveSession} send. */
export interface SessionUpdateOptions {
  /**
   * The Update's id. Temporal keeps one Update per id in a run, so sending again with the same id
   * (a retry, a second controller replica) gets the first one's answer instead of a second turn.
   * @default a new random id: every call is a new Update
   */
  updateId?: string;
  /**
   * How long to wait for the workflow to take or refuse the Update. Long enough for a session
   * whose worker was killed and restarted: the Update's workflow task waits on the dead worker's
   * sticky queue until that times out (10 s) before another worker gets it.
   * @default 30000
   */
  timeoutMs?: number;
}

/** The failure message the workflow SDK gives an Update the workflow has no handler for. */
const NO_HANDLER = /^No registered handler for update\b/;

/** How one kind of Update's answers are worded, for {@link executeSessionUpdate}. */
interface UpdateWording {
  /** The failure type the Update's validator refuses with. */
  refusedType: string;
  /** What is sent, as the unanswered message names it, e.g. `prompt`. */
  noun: string;
  /** What to look at before sending it again, in the unanswered message. */
  checkFirst: string;
  /** The refusal when the session's workflow has ended in `phase`. */
  finished: (phase: Phase) => string;
  /** The refusal when the run never registered the Update (a Shepherd from before it). */
  noHandler: string;
}

/**
 * Executes an Update on the session's current run and waits until the workflow took or refused
 * it, turning each way it can fail to be taken into an {@link UpdateNotTaken}. Prompts, answers
 * and approvals all go through here, so each gets the same answers for the same situations.
 */
async function executeSessionUpdate<Result, Input>(
  client: Client,
  namespace: string,
  name: string,
  update: UpdateDefinition<Result, [Input]>,
  input: Input,
  wording: UpdateWording,
  options: SessionUpdateOptions,
): Promise<{ outcome: 'accepted'; result: Result } | UpdateNotTaken> {
  const handle = client.workflow.getHandle(sessionWorkflowId(namespace, name));
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    const result = await client.withDeadline(Date.now() + timeoutMs, () =>
      handle.executeUpdate(update, {
        args: [input],
        ...(options.updateId ? { updateId: options.updateId } : {}),
      }),
    );
    return { outcome: 'accepted', result };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && cause.type === wording.refusedType) {
        return { outcome: 'refused', message: cause.message };
      }
      // A run of a workflow from before the Update: it never registered a handler for it.
      if (cause instanceof ApplicationFailure && NO_HANDLER.test(cause.message)) {
        return { outcome: 'refused', message: wording.noHandler };
      }
      throw error;
    }
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      const { noun } = wording;
      return {
        outcome: 'unanswered',
        message: `session ${name} did not take or refuse the ${noun} within ${Math.round(timeoutMs / 1000)} s: its worker may be down or restarting. Temporal may still hand it the ${noun} once the worker is back, so ${wording.checkFirst}`,
      };
    }
    if (error instanceof WorkflowNotFoundError) {
      // Also what an Update to a closed run gets: tell the two apart by the run's state.
      const state = await sessionState(client, namespace, name);
      if (!state) return { outcome: 'not-found' };
      return { outcome: 'refused', message: wording.finished(state.phase) };
    }
    throw error;
  }
}

/**
 * Sends a prompt for the next turn (`sendPrompt`), or the answer to the agent's question
 * (`answer`), to the session's current run and waits until the workflow took or refused it.
 * A finished session refuses it, as does a running turn: see the Update's validator. Every caller
 * (API, CLI through the API, the controller's prompt annotation, webhooks, Slack) sends prompts
 * through here, so each gets the same answers.
 */
export async function sendSessionPrompt(
  client: Client,
  namespace: string,
  name: string,
  input: PromptInput,
  kind: 'prompt' | 'answer' = 'prompt',
  options: SessionUpdateOptions = {},
): Promise<PromptOutcome> {
  const outcome = await executeSessionUpdate(
    client,
    namespace,
    name,
    kind === 'answer' ? answerUpdate : sendPromptUpdate,
    input,
    {
      refusedType: PROMPT_REFUSED,
      noun: 'prompt',
      checkFirst: "check the session's turns before sending it again",
      finished: (phase) => finishedRefusal(name, phase),
      noHandler: noConversationRefusal(name),
    },
    options,
  );
  return outcome.outcome === 'accepted' ? { outcome: 'accepted', turn: outcome.result.turn } : outcome;
}

/**
 * Sends a session waiting at a budget cap (WaitingForApproval) a higher cap, and waits until the
 * workflow took or refused it. Any other phase, or a cap not above what was spent, is refused by
 * the Update's validator (`approvalRefusal`), in whose words a finished session is refused here.
 */
export async function approveSession(
  client: Client,
  namespace: string,
  name: string,
  input: ApproveInput,
  options: SessionUpdateOptions = {},
): Promise<ApprovalOutcome> {
  const outcome = await executeSessionUpdate(
    client,
    namespace,
    name,
    approveUpdate,
    input,
    {
      refusedType: APPROVAL_REFUSED,
      noun: 'approval',
      // A second approval of a session the first one resumed is refused, not taken twice.
      checkFirst: "check the session's phase before approving again",
      finished: (phase) =>
        approvalPhaseRefusal(name, { phase }, input) ??
        // A run closed while it waited (terminated) still says WaitingForApproval.
        `session ${name} has ended and takes no approval: restart it, or start a new session`,
      noHandler: `session ${name} was started by an earlier version of Shepherd, which never waits for an approval`,
    },
    options,
  );
  return outcome.outcome === 'accepted' ? { outcome: 'accepted', ...outcome.result } : outcome;
}

/** The refusal of a prompt to a session whose workflow has ended. */
export function finishedRefusal(name: string, phase: string): string {
  return `session ${name} has finished (${phase}) and takes no more prompts: start a new session, or restart this one`;
}

/** The refusal of a prompt to a session whose workflow was started by a Shepherd without conversations. */
export function noConversationRefusal(name: string): string {
  return `session ${name} was started by an earlier version of Shepherd and takes no prompts: start a new session`;
}

/**
 * The refusal the session's workflow certainly gives `input` when the session's recorded status
 * is `status`, in the workflow's own words (its validator's rule, `promptRefusal`), or undefined
 * when only the workflow can tell (Idle, WaitingForInput). For callers that hold the recorded
 * status — the kubernetes API and controller read the CR — so they answer at once instead of
 * waiting on a workflow that is busy, finished, or has no worker; the validator stays the authority.
 */
export function phaseRefusal(
  name: string,
  status: Pick<AgentSessionStatus, 'phase' | 'turns'>,
  input: PromptInput,
  kind: 'prompt' | 'answer',
): string | undefined {
  const phase = status.phase ?? 'Pending';
  const waiting = phase === 'Idle' ? 'idle' : phase === 'WaitingForInput' ? 'question' : undefined;
  return promptRefusal(
    {
      name,
      phase,
      // Whether the run takes prompts at all only the workflow knows.
      converses: true,
      finished: FINISHED_PHASES.has(phase),
      stopping: phase === 'Stopping',
      ...(waiting ? { waiting } : {}),
      turn: status.turns?.at(-1)?.number ?? 1,
    },
    input,
    kind,
  );
}

/**
 * The refusal the session's workflow certainly gives an approval when the session's recorded
 * phase is `status.phase`, in the validator's own words (`approvalRefusal`), or undefined while
 * it is WaitingForApproval: which cap was reached and what was spent only the workflow knows. For
 * callers that hold the recorded status, as {@link phaseRefusal} is for prompts.
 */
export function approvalPhaseRefusal(
  name: string,
  status: Pick<AgentSessionStatus, 'phase'>,
  input: ApproveInput,
): string | undefined {
  const phase = status.phase ?? 'Pending';
  if (phase === 'WaitingForApproval') return undefined;
  return approvalRefusal(name, phase, undefined, input);
}
