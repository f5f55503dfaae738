/**
 * The activities of the namespace workflow, and `signalNamespace`, through which sessions reach it.
 * Signals go with signal-with-start, so the first session of a namespace starts its workflow and
 * no worker has to run one in advance; the NamespacePolicy status is written by the runtime that
 * has one (the local runtime has no NamespacePolicy, so it writes nothing).
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import {
  acquireSlotSignal,
  chargeUsageSignal,
  NAMESPACE_WORKFLOW_TYPE,
  type NamespaceActivities,
  type NamespaceSignal,
  type NamespaceUsageStatus,
  namespaceWorkflowId,
  releaseSlotSignal,
} from '../workflows/namespace-contract.js';

/** What the namespace activities need. */
export interface NamespaceActivityDeps {
  client: Client;
  /** The task queue the namespace workflows run on (the sessions' own). */
  taskQueue: string;
  /** Writes a namespace's NamespacePolicy status; absent where no NamespacePolicy exists. */
  writeStatus?: (namespace: string, status: NamespaceUsageStatus) => Promise<void>;
}

/** The signal and its argument, as signal-with-start takes them. */
function signalOf(signal: NamespaceSignal) {
  switch (signal.kind) {
    case 'acquire':
      return { signal: acquireSlotSignal, signalArgs: [signal.request] as [typeof signal.request] };
    case 'release':
      return { signal: releaseSlotSignal, signalArgs: [signal.release] as [typeof signal.release] };
    case 'charge':
      return { signal: chargeUsageSignal, signalArgs: [signal.charge] as [typeof signal.charge] };
  }
}

/** The namespace activities. */
export function createNamespaceActivities(deps: NamespaceActivityDeps): NamespaceActivities {
  const { client, taskQueue } = deps;
  return {
    async signalNamespace({ namespace, signal }) {
      const { signal: definition, signalArgs } = signalOf(signal);
      await client.workflow.signalWithStart(NAMESPACE_WORKFLOW_TYPE, {
        workflowId: namespaceWorkflowId(namespace),
        taskQueue,
        args: [{ namespace }],
        signal: definition,
        signalArgs,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        staticSummary: `Namespace ${namespace}: concurrency slots and monthly spending`,
      } as Parameters<typeof client.workflow.signalWithStart>[1]);
    },

    async writeNamespaceStatus({ namespace, status }) {
      await deps.writeStatus?.(namespace, status);
    },

    async closedSessions({ sessionIds }) {
      const closed: string[] = [];
      for (const id of sessionIds) {
        try {
          const described = await client.workflow.getHandle(id).describe();
          if (described.status.name !== 'RUNNING') closed.push(id);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) closed.push(id);
          else throw error;
        }
      }
      return closed;
    },
  };
}
