/**
 * What the AgentSession controller does about one CR: a pure function of the CR as last seen,
 * the latest run of its workflow id, and what this controller has already done for it. Kept apart
 * from the controller's I/O so that every case of the ownership and intent rules can be checked
 * directly, without Kubernetes or Temporal.
 *
 * Ownership: the latest run of a session's workflow id belongs to this CR when its memo names the
 * CR's uid or, for a run started without the memo (by an older controller or API), when it is
 * running or started after the CR was created. A running run of an earlier CR of the same name is
 * cancelled, never adopted or signalled, and this CR's run starts once it closed; a finished run
 * of this CR is never started again just because the CR has no status.
 *
 * Intent: `desiredState: Stopped` is recorded on the CR (stop-record.ts: an annotation with the
 * generation it was seen at) before the stop is signalled. A restart is that record followed by
 * `desiredState: Running` at a later generation, and nothing else: a session stopped by a signal,
 * or edited while stopped, stays stopped. The restart stops a run still alive, waits for it to
 * close and starts a new run whose memo names the generation it restarted for, so replicas (and a
 * second look by the same replica) see it done and only remove the record.
 *
 * Honesty: a run of this CR that closed without writing a final status (terminated, timed out,
 * cancelled or failed in Temporal) is noticed and the CR gets a final status saying so.
 */
import type { WorkflowExecutionDescription, WorkflowExecutionStatusName } from '@temporalio/client';
import { FINISHED_PHASES } from '../../resources/phases.js';
import type { AgentSession } from '../../resources/types.js';
import { RESTART_GENERATION_MEMO, SESSION_UID_MEMO } from '../../session-client/session-commands.js';
import { stopRequestedGeneration } from './stop-record.js';

/** What the controller has done for one CR, so repeated events do not repeat calls. */
export interface Handled {
  /** The CR's uid; bookkeeping for another uid (an earlier CR of the same name) does not apply. */
  uid: string;
  /** The workflow is known to exist (or to have run) for this uid. */
  started?: boolean;
  /** The generation a stop was sent (or found unnecessary) for. */
  stopGeneration?: number;
}

/** Bookkeeping to record once an action has been carried out. */
export type HandledUpdate = Partial<Omit<Handled, 'uid'>>;

/** The latest run of a session's workflow id, as far as the decision needs it. */
export interface LatestRun {
  runId: string;
  status: WorkflowExecutionStatusName;
  /** The uid in the run's memo, when it was started with one. */
  memoUid?: string;
  /** The generation in the run's memo that it was started to restart for. */
  restartGeneration?: number;
  startTime: Date;
}

/** A CR as the controller last saw it. */
export interface ObservedSession {
  session: AgentSession;
  /** The informer reported the CR deleted; `session` is its last state. */
  deleted: boolean;
  /**
   * The CR now under the same name, for a deleted one: a run started after it was created is
   * the successor's even without a memo.
   */
  successor?: AgentSession;
  /**
   * Seen by the periodic resync rather than an event: the time to ask Temporal whether a
   * session that looks active still has a live run.
   */
  resync?: boolean;
}

/**
 * Stands for the latest run before the controller has looked it up. Most decisions need no
 * lookup (a session whose status names its workflow, a stop already sent), so the controller
 * calls Temporal only when the decision asks for it with `look-up-latest-run`.
 */
export const NOT_LOOKED_UP = 'not-looked-up';

/** The latest run, `undefined` when the workflow id has none, or {@link NOT_LOOKED_UP}. */
export type LatestRunLookup = LatestRun | undefined | typeof NOT_LOOKED_UP;

/** Why the controller does nothing (for logs, counters and tests). */
export type NothingReason =
  /** No uid yet, or the CR is being deleted: the delete event cancels the workflow. */
  | 'not-reconcilable'
  /** desiredState Stopped and the session is stopped or finished already. */
  | 'stopped-or-finished'
  /** desiredState Stopped and the stop of this generation was already handled. */
  | 'stop-already-handled'
  /** desiredState Stopped and no run of this CR is running: the session is held unstarted. */
  | 'held'
  /** The CR's status names its workflow, or this controller started or found it. */
  | 'has-workflow'
  /** The latest run of the workflow id belongs to this CR. */
  | 'owns-latest-run'
  /** Deleted, and no run is running. */
  | 'no-running-run'
  /** Deleted, but the running run belongs to a newer CR of the same name. */
  | 'run-of-newer-session';

/** Asks the controller to look up the latest run and decide again with it. */
export interface LookUpLatestRun {
  kind: 'look-up-latest-run';
}

/** How a run closed without a final status, for the status the controller writes. */
export type AbnormalClose = 'TERMINATED' | 'TIMED_OUT' | 'CANCELLED' | 'FAILED';

/** What the controller does for one CR. */
export type SessionAction =
  | { kind: 'nothing'; reason: NothingReason; record?: HandledUpdate }
  /**
   * Start the session's first run (memo: the uid, and `restartGeneration` when it is started by
   * desiredState Running after a hold, so the record of the stop is seen consumed). `firstRun`:
   * the workflow id had no run when looked up, so the start must not follow a run that appeared
   * since (another replica's, already closed): that one is this session's, and decided on instead.
   */
  | {
      kind: 'start';
      record: HandledUpdate;
      restartGeneration?: number;
      firstRun?: true;
      /**
       * Decided before looking the run up (a CR this controller sees for the first time, with no
       * status: almost always a new session whose id never ran). The start is a `firstRun` one,
       * so it cannot follow any run; when it is refused, the controller looks the run up and
       * decides again, as it would have before the start.
       */
      beforeLookUp?: true;
    }
  /**
   * Cancel the running run of an earlier CR of the same name (never signal it: it is not ours),
   * then decide again once it closed.
   */
  | { kind: 'cancel-other-run'; runId: string; previousUid?: string }
  /** Record desiredState Stopped on the CR at `generation`, then decide again. */
  | { kind: 'record-stop-request'; generation: number }
  /** Signal stop to this CR's running run `runId`. */
  | { kind: 'signal-stop'; runId: string; reason: string; generation: number; record: HandledUpdate }
  /** Write the held status: created with desiredState Stopped, nothing started. */
  | { kind: 'hold'; generation: number; record: HandledUpdate }
  /** This CR's run `runId` is still closing (stopping or cleaning up): decide again shortly. */
  | { kind: 'wait-for-close'; runId: string }
  /** Start a new run with `restart: true` for `generation` (memo: uid and generation). */
  | { kind: 'restart-as-new-run'; generation: number; record: HandledUpdate }
  /** The restart asked for by the record at `stopGeneration` happened: remove the record. */
  | { kind: 'clear-stop-request'; stopGeneration: number }
  /** This CR's run `runId` closed without a final status: write one that says so. */
  | { kind: 'mark-closed'; runId: string; close: AbnormalClose }
  /** The CR was deleted: cancel its running run. */
  | { kind: 'cancel-deleted'; runId: string };

/** Run states of a run that ended without the workflow returning (so without a final status). */
const ABNORMAL_CLOSES: ReadonlySet<WorkflowExecutionStatusName> = new Set([
  'TERMINATED',
  'TIMED_OUT',
  'CANCELLED',
  'FAILED',
]);

const LOOK_UP: LookUpLatestRun = { kind: 'look-up-latest-run' };

/** The stop reason a desiredState stop carries into the workflow and its status. */
export const STOP_REASON = 'desiredState set to Stopped';

/** The stop reason when a stop is part of a restart (desiredState Stopped, then Running). */
export const RESTART_STOP_REASON = 'restarting: desiredState set to Stopped and then to Running';

function nothing(reason: NothingReason, record?: HandledUpdate): SessionAction {
  return record ? { kind: 'nothing', reason, record } : { kind: 'nothing', reason };
}

function timeOf(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

/** The decision's view of a described run. */
export function latestRunOf(description: WorkflowExecutionDescription): LatestRun {
  const memoUid = description.memo?.[SESSION_UID_MEMO];
  const restartGeneration = description.memo?.[RESTART_GENERATION_MEMO];
  return {
    runId: description.runId,
    status: description.status.name,
    ...(typeof memoUid === 'string' ? { memoUid } : {}),
    ...(typeof restartGeneration === 'number' ? { restartGeneration } : {}),
    startTime: description.startTime,
  };
}

/**
 * Whether `run` was started for the CR: its memo names this uid or, for a run started without
 * the memo, it is running now or started after the CR was created.
 */
export function runOwnedBy(run: LatestRun, session: AgentSession, uid: string): boolean {
  if (run.memoUid !== undefined) return run.memoUid === uid;
  if (run.status === 'RUNNING') return true;
  const created = timeOf(session.metadata.creationTimestamp);
  return created !== undefined && run.startTime.getTime() >= created;
}

/** The action for a deleted CR: cancel its running run, unless that run is a newer CR's. */
function decideDeleted(
  observed: ObservedSession,
  latestRun: LatestRunLookup,
): SessionAction | LookUpLatestRun {
  const { uid } = observed.session.metadata;
  // Without a uid there is no telling whose the run is; a newer CR's must never be cancelled.
  if (!uid) return nothing('not-reconcilable');
  if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
  if (!latestRun || latestRun.status !== 'RUNNING') return nothing('no-running-run');
  if (latestRun.memoUid !== undefined && latestRun.memoUid !== uid) return nothing('run-of-newer-session');
  const successor = observed.successor;
  if (latestRun.memoUid === undefined && successor && successor.metadata.uid !== uid) {
    const created = timeOf(successor.metadata.creationTimestamp);
    if (created !== undefined && latestRun.startTime.getTime() >= created) {
      return nothing('run-of-newer-session');
    }
  }
  return { kind: 'cancel-deleted', runId: latestRun.runId };
}

/**
 * The abnormal close of this CR's latest run, if it closed without a final status. A workflow id
 * with no run at all is not one: a worker pointed at the wrong Temporal namespace would otherwise
 * fail every session.
 */
function abnormalClose(
  latestRun: LatestRun | undefined,
  session: AgentSession,
  uid: string,
): { runId: string; close: AbnormalClose } | undefined {
  const phase = session.status?.phase;
  if (!latestRun || (phase && FINISHED_PHASES.has(phase))) return undefined;
  if (!ABNORMAL_CLOSES.has(latestRun.status) || !runOwnedBy(latestRun, session, uid)) return undefined;
  return { runId: latestRun.runId, close: latestRun.status as AbnormalClose };
}

/**
 * Decides what to do about `observed`.
 *
 * @param latestRun The latest run of the session's workflow id (undefined: it has none), or
 *   {@link NOT_LOOKED_UP}, in which case the answer may be `look-up-latest-run`.
 * @param handled What this controller recorded for the CR's key, if anything; ignored when it is
 *   for another uid.
 */
export function decide(
  observed: ObservedSession,
  latestRun: LatestRun | undefined,
  handled: Handled | undefined,
): SessionAction;
export function decide(
  observed: ObservedSession,
  latestRun: LatestRunLookup,
  handled: Handled | undefined,
): SessionAction | LookUpLatestRun;
export function decide(
  observed: ObservedSession,
  latestRun: LatestRunLookup,
  handled: Handled | undefined,
): SessionAction | LookUpLatestRun {
  const { session } = observed;
  if (observed.deleted) return decideDeleted(observed, latestRun);
  const { uid, generation = 0, deletionTimestamp } = session.metadata;
  // Deleting: the delete event cancels the workflow; acting on the last update would race it.
  if (!uid || deletionTimestamp) return nothing('not-reconcilable');
  const entry: Handled = handled?.uid === uid ? handled : { uid };
  const desired = session.spec.desiredState ?? 'Running';
  const phase = session.status?.phase;
  const stopRequested = stopRequestedGeneration(session);

  if (desired === 'Stopped') {
    // The record comes first: were the stop signalled first, a crash before the record would
    // make a later Running look like an edit rather than a restart.
    if (stopRequested === undefined) return { kind: 'record-stop-request', generation };
    if (phase && FINISHED_PHASES.has(phase)) return nothing('stopped-or-finished');
    if (entry.stopGeneration === generation) return nothing('stop-already-handled');
    if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
    if (latestRun?.status === 'RUNNING') {
      if (runOwnedBy(latestRun, session, uid)) {
        const record = { stopGeneration: generation };
        return { kind: 'signal-stop', runId: latestRun.runId, reason: STOP_REASON, generation, record };
      }
      return cancelOtherRun(latestRun);
    }
    // Created (or edited before it ever ran) with desiredState Stopped: say so in the status.
    if (!session.status) return { kind: 'hold', generation, record: { stopGeneration: generation } };
    return nothing('held', { stopGeneration: generation });
  }

  if (stopRequested !== undefined && generation > stopRequested) {
    if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
    const owned = latestRun !== undefined && runOwnedBy(latestRun, session, uid);
    if (owned && latestRun.restartGeneration !== undefined && latestRun.restartGeneration > stopRequested) {
      return { kind: 'clear-stop-request', stopGeneration: stopRequested };
    }
    if (latestRun?.status === 'RUNNING') {
      if (!owned) return cancelOtherRun(latestRun);
      // Stopped then Running while the run is alive: the stop may not have been sent (a crash
      // between the record and the signal); a repeated stop is harmless. Then a new run.
      if (
        (!phase || !FINISHED_PHASES.has(phase)) &&
        phase !== 'Stopping' &&
        entry.stopGeneration !== generation
      ) {
        const record = { stopGeneration: generation };
        return {
          kind: 'signal-stop',
          runId: latestRun.runId,
          reason: RESTART_STOP_REASON,
          generation,
          record,
        };
      }
      return { kind: 'wait-for-close', runId: latestRun.runId };
    }
    // Never started (held): the first run. Otherwise a new run continues the attempt count.
    const everRan = owned || Boolean(session.status?.workflowId) || entry.started === true;
    if (!everRan) {
      return {
        kind: 'start',
        restartGeneration: generation,
        record: { started: true },
        ...firstRun(latestRun),
      };
    }
    return { kind: 'restart-as-new-run', generation, record: { started: true } };
  }

  const active = !phase || !FINISHED_PHASES.has(phase);
  const hasWorkflow = Boolean(session.status?.workflowId) || entry.started === true;
  // A session that looks active is checked against Temporal at each resync, so a run that
  // closed without a final status is noticed.
  if (hasWorkflow && !(active && observed.resync)) return nothing('has-workflow');
  if (latestRun === NOT_LOOKED_UP) {
    // A new session's start is on the way from `kubectl apply` to its Job: no lookup first.
    if (!hasWorkflow && !session.status && !observed.resync) {
      return { kind: 'start', record: { started: true }, firstRun: true, beforeLookUp: true };
    }
    return LOOK_UP;
  }
  const closed = abnormalClose(latestRun, session, uid);
  if (closed) return { kind: 'mark-closed', ...closed };
  if (hasWorkflow) return nothing('has-workflow');
  if (latestRun) {
    if (runOwnedBy(latestRun, session, uid)) return nothing('owns-latest-run', { started: true });
    if (latestRun.status === 'RUNNING') return cancelOtherRun(latestRun);
  }
  return { kind: 'start', record: { started: true }, ...firstRun(latestRun) };
}

/** Marks a start as the workflow id's first run when the lookup found none. */
function firstRun(latestRun: LatestRun | undefined): { firstRun?: true } {
  return latestRun === undefined ? { firstRun: true } : {};
}

function cancelOtherRun(run: LatestRun): SessionAction {
  return {
    kind: 'cancel-other-run',
    runId: run.runId,
    ...(run.memoUid === undefined ? {} : { previousUid: run.memoUid }),
  };
}
