/**
 * Client-side commands on a session workflow, shared by the CR controller, the API and the CLI:
 * start (idempotent), stop, restart (signal-with-start, so a finished session runs again as a new
 * run of the same workflow id) and read the state.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  restartSignal,
  SESSION_WORKFLOW_TYPE,
  type SessionState,
  sessionWorkflowId,
  stateQuery,
  stopSignal,
  type SessionWorkflowInput,
} from '../workflows/session-contract.js';

/** Starts the session's workflow; a running one is left alone. Returns whether it started one. */
export async function startSession(
  client: Client,
  taskQueue: string,
  input: SessionWorkflowInput,
): Promise<boolean> {
  try {
    await client.workflow.start(SESSION_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: sessionWorkflowId(input.namespace, input.name),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
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

/** Restarts a session: a running one begins a new attempt, a finished one a new run. */
export async function restartSession(
  client: Client,
  taskQueue: string,
  input: SessionWorkflowInput,
): Promise<void> {
  await client.workflow.signalWithStart(SESSION_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: sessionWorkflowId(input.namespace, input.name),
    args: [{ ...input, restart: true }],
    signal: restartSignal,
    signalArgs: [],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
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
