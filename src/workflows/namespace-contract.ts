/**
 * The contract of the namespace workflow, id `shepherd-namespace/<namespace>`: one per namespace
 * whose NamespacePolicy limits concurrency or sets a monthly budget. It is the namespace's
 * semaphore and its ledger, kept durably by Temporal, so several workers share one queue without
 * a lock service. Sessions signal it (through the `signalNamespace` activity, which starts it when
 * it is not running); it signals them back. Imported by workflow code: no Node built-ins.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Name of the namespace workflow function. */
export const NAMESPACE_WORKFLOW_TYPE = 'namespaceWorkflow';

const ID_PREFIX = 'shepherd-namespace/';

/** The workflow id of a namespace's workflow. */
export function namespaceWorkflowId(namespace: string): string {
  return `${ID_PREFIX}${namespace}`;
}

/** A session asks for a slot to run a turn (idempotent: asking again changes nothing). */
export interface SlotRequest {
  /** The session workflow's id, which the answer is signalled to. */
  sessionId: string;
  /** How many sessions may hold a slot, as the session's policy says; absent means no limit. */
  limit?: number;
}

/** A session gives its slot back, or leaves the queue. */
export interface SlotRelease {
  sessionId: string;
}

/** What one attempt of a session spent, for the month's ledger. */
export interface UsageCharge {
  /** Unique per attempt (`<session uid>/<attempt>`): a charge signalled twice counts once. */
  key: string;
  sessionId: string;
  /** USD, reported by the runner or priced from its tokens; absent when it cannot be priced. */
  costUsd?: number;
  tokens: number;
  /** The namespace's monthly cap in USD, as the session's policy says. */
  monthlyCapUsd?: number;
}

/** Input of the namespace workflow: the namespace, and the state a run continued as new with. */
export interface NamespaceWorkflowInput {
  namespace: string;
  state?: NamespaceState;
}

/** A session holding a slot or waiting for one. */
export interface SlotEntry {
  sessionId: string;
}

/** Where the namespace stands. */
export interface NamespaceState {
  /** The latest limit a session asked with; absent means no limit. */
  limit?: number;
  /** Sessions holding a slot, in the order they got it. */
  holders: SlotEntry[];
  /** Sessions waiting, first come first served. */
  queue: SlotEntry[];
  /** The month (UTC, YYYY-MM) `spentUsd` and `tokens` are for. */
  month: string;
  spentUsd: number;
  tokens: number;
  /** The latest monthly cap a charge carried. */
  monthlyCapUsd?: number;
  /** Keys of the latest charges, so a repeated signal is not counted twice (bounded). */
  recentCharges: string[];
}

/** Sent to a session: its place in the queue (0: the slot is its), and the month's spending. */
export interface SlotNotice {
  position: number;
  /** Sessions holding a slot, and the limit, for the status message. */
  running: number;
  limit?: number;
  month: string;
  spentUsd: number;
}

/** Sent to the sessions holding a slot when the month's spending reaches the monthly cap. */
export interface MonthlyCapReached {
  month: string;
  spentUsd: number;
  capUsd: number;
}

export const acquireSlotSignal = defineSignal<[SlotRequest]>('acquireSlot');
export const releaseSlotSignal = defineSignal<[SlotRelease]>('releaseSlot');
export const chargeUsageSignal = defineSignal<[UsageCharge]>('chargeUsage');
/** Received by the session workflow. */
export const slotNoticeSignal = defineSignal<[SlotNotice]>('slotNotice');
/** Received by the session workflow. */
export const monthlyCapReachedSignal = defineSignal<[MonthlyCapReached]>('monthlyCapReached');

/** The namespace's state. */
export const namespaceStateQuery = defineQuery<NamespaceState>('namespaceState');

/** What the `signalNamespace` activity sends: one of the three signals, to the namespace's workflow. */
export type NamespaceSignal =
  | { kind: 'acquire'; request: SlotRequest }
  | { kind: 'release'; release: SlotRelease }
  | { kind: 'charge'; charge: UsageCharge };

/** The NamespacePolicy status the namespace workflow writes. */
export interface NamespaceUsageStatus {
  month: string;
  spentUsd: number;
  tokens: number;
  runningSessions: number;
  queuedSessions: number;
}

/** The activities of the namespace workflow (and the session workflow's `signalNamespace`). */
export interface NamespaceActivities {
  /** Signals the namespace's workflow, starting it when it is not running. */
  signalNamespace(input: { namespace: string; signal: NamespaceSignal }): Promise<void>;
  /** Writes the NamespacePolicy `default`'s status; a namespace without one is left alone. */
  writeNamespaceStatus(input: { namespace: string; status: NamespaceUsageStatus }): Promise<void>;
  /** Which of these session workflows are no longer running (so their slots are given back). */
  closedSessions(input: { sessionIds: string[] }): Promise<string[]>;
}
