/**
 * Client-side commands on a session workflow, shared by the CR controller, the API, the webhooks
 * and the CLI: start, stop, restart, send a prompt and read the state. Every start of a session workflow, from any of them,
 * goes through {@link startSessionWorkflow}, so each run carries the same id, memo and search
 * attributes and meets a running workflow the same way whoever started it.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../common/search-attributes.js';
import {
  answerUpdate,
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
}

/** What {@link startSessionWorkflow} did. */
export type StartSessionWorkflowResult =
  /** A new run started. */
  | { outcome: 'started'; runId: string }
  /** A plain start found the workflow running and left it alone. */
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
  const { taskQueue, input, restartGeneration, signal } = options;
  const memo = {
    ...(input.uid === undefined ? {} : { [SESSION_UID_MEMO]: input.uid }),
    ...(restartGeneration === undefined ? {} : { [RESTART_GENERATION_MEMO]: restartGeneration }),
  };
  const common = {
    taskQueue,
    workflowId: sessionWorkflowId(input.namespace, input.name),
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
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

/** What a prompt sent to a session became. */
export type PromptOutcome =
  /** The session took it as turn `turn`. */
  | { outcome: 'accepted'; turn: number }
  /** The session cannot take it now; `message` says why and what to do. */
  | { outcome: 'refused'; message: string }
  /** No session workflow of that name ever ran, or its history is gone. */
  | { outcome: 'not-found' };

/**
 * Sends a prompt for the next turn (`sendPrompt`), or the answer to the agent's question
 * (`answer`), to the session's current run and waits until the workflow took or refused it.
 * A finished session refuses it, as does a running turn: see the Update's validator.
 *
 * @param updateId The Update's id, for a caller that may send the same prompt twice (a webhook
 *   redelivered): the run takes one Update per id, and the second call gets the first's outcome.
 */
export async function sendSessionPrompt(
  client: Client,
  namespace: string,
  name: string,
  input: PromptInput,
  kind: 'prompt' | 'answer' = 'prompt',
  updateId?: string,
): Promise<PromptOutcome> {
  const handle = client.workflow.getHandle(sessionWorkflowId(namespace, name));
  try {
    const accepted = await handle.executeUpdate(kind === 'answer' ? answerUpdate : sendPromptUpdate, {
      args: [input],
      ...(updateId ? { updateId } : {}),
    });
    return { outcome: 'accepted', turn: accepted.turn };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      if (cause instanceof ApplicationFailure && cause.type === PROMPT_REFUSED) {
        return { outcome: 'refused', message: cause.message };
      }
      throw error;
    }
    if (error instanceof WorkflowNotFoundError) {
      // Also what an Update to a closed run gets: tell the two apart by the run's state.
      const state = await sessionState(client, namespace, name);
      if (!state) return { outcome: 'not-found' };
      return { outcome: 'refused', message: finishedRefusal(name, state.phase) };
    }
    throw error;
  }
}

/** The refusal of a prompt to a session whose workflow has ended. */
export function finishedRefusal(name: string, phase: string): string {
  return `session ${name} has finished (${phase}) and takes no more prompts: start a new session, or restart this one`;
}
