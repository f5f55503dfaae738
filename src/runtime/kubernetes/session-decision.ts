/**
 * What the AgentSession controller does about one CR: a pure function of the CR as last seen,
 * the latest run of its workflow id, and what this controller has already done for it. Kept apart
 * from the controller's I/O so that every case of the ownership and generation rules can be
 * checked directly, without Kubernetes or Temporal.
 *
 * Ownership: the latest run of a session's workflow id belongs to this CR when its memo names the
 * CR's uid or, for a run started without the memo (by an older controller or API), when it is
 * running or started after the CR was created. A run of an earlier CR of the same name is
 * cancelled, never adopted; a finished run of this CR is never started again (a session whose
 * workflow ended without ever writing `status.workflowId` would otherwise start at every resync).
 *
 * Generations: a stop is sent once per generation with `desiredState: Stopped`, and a restart once
 * per generation with `desiredState: Running` past a `Stopped` status; the latest run's memo
 * carries the generation it restarted for, so a second replica does not restart it again.
 */
import type { WorkflowExecutionDescription, WorkflowExecutionStatusName } from '@temporalio/client';
import type { AgentSession, Phase } from '../../resources/types.js';
import { RESTART_GENERATION_MEMO, SESSION_UID_MEMO } from '../../session-client/session-commands.js';

/** What the controller has done for one CR, so repeated events do not repeat calls. */
export interface Handled {
  /** The CR's uid; bookkeeping for another uid (an earlier CR of the same name) does not apply. */
  uid: string;
  /** The workflow is known to exist (or to have run) for this uid. */
  started?: boolean;
  /** The generation a stop was sent (or found unnecessary) for. */
  stopGeneration?: number;
  /** The generation a restart was sent for. */
  restartGeneration?: number;
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
  /** The restart of this generation was already sent. */
  | 'restart-already-sent'
  /** The running run is already the restart for this generation (another replica started it). */
  | 'already-restarted'
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

/** What the controller does for one CR. */
export type SessionAction =
  | { kind: 'nothing'; reason: NothingReason; record?: HandledUpdate }
  /** Start the session's first run (memo: the uid). */
  | { kind: 'start'; record: HandledUpdate }
  /** Cancel the running run of an earlier CR of the same name; a later event starts this one. */
  | { kind: 'cancel-other-run'; runId: string; previousUid?: string }
  /** Signal stop for desiredState Stopped. */
  | { kind: 'signal-stop'; generation: number; record: HandledUpdate }
  /** Signal-with-start the restart into the running run, for `generation`. */
  | { kind: 'restart'; generation: number; record: HandledUpdate }
  /** Start a new run with `restart: true` for `generation` (memo: uid and generation). */
  | { kind: 'restart-as-new-run'; generation: number; record: HandledUpdate }
  /** The CR was deleted: cancel its running run. */
  | { kind: 'cancel-deleted'; runId: string };

/** Phases after which a stop has nothing left to stop. */
const STOPPED_OR_FINISHED: ReadonlySet<Phase> = new Set(['Stopped', 'Succeeded', 'Failed', 'TimedOut']);

const LOOK_UP: LookUpLatestRun = { kind: 'look-up-latest-run' };

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
function decideDeleted(session: AgentSession, latestRun: LatestRunLookup): SessionAction | LookUpLatestRun {
  if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
  if (!latestRun || latestRun.status !== 'RUNNING') return nothing('no-running-run');
  const { uid } = session.metadata;
  if (latestRun.memoUid !== undefined && uid !== undefined && latestRun.memoUid !== uid) {
    return nothing('run-of-newer-session');
  }
  return { kind: 'cancel-deleted', runId: latestRun.runId };
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
  if (observed.deleted) return decideDeleted(session, latestRun);
  const { uid, generation = 0, deletionTimestamp } = session.metadata;
  // Deleting: the delete event cancels the workflow; acting on the last update would race it.
  if (!uid || deletionTimestamp) return nothing('not-reconcilable');
  const entry: Handled = handled?.uid === uid ? handled : { uid };
  const desired = session.spec.desiredState ?? 'Running';
  const phase = session.status?.phase;
  const hasWorkflow = Boolean(session.status?.workflowId) || entry.started === true;

  if (desired === 'Stopped') {
    if (phase && STOPPED_OR_FINISHED.has(phase)) return nothing('stopped-or-finished');
    if (entry.stopGeneration === generation) return nothing('stop-already-handled');
    if (!hasWorkflow) {
      // A session created stopped is held: its workflow starts when desiredState becomes
      // Running. One whose status does not name its workflow yet may still have one running.
      if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
      if (!latestRun || latestRun.status !== 'RUNNING' || !runOwnedBy(latestRun, session, uid)) {
        return nothing('held', { stopGeneration: generation });
      }
    }
    return { kind: 'signal-stop', generation, record: { stopGeneration: generation } };
  }

  const observedGeneration = session.status?.observedGeneration ?? 0;
  if (phase === 'Stopped' && generation > observedGeneration) {
    if (entry.restartGeneration === generation) return nothing('restart-already-sent');
    if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
    const record = { started: true, restartGeneration: generation };
    // A stopped session's workflow has normally finished: a new run restarts it, and a replica
    // that loses the race gets "already running". A signal-with-start would do the same for the
    // winner, but the loser's signal would reach the new run and restart its first attempt. So
    // only a run still alive is signalled, unless its memo shows it is already this restart.
    if (latestRun?.status !== 'RUNNING') return { kind: 'restart-as-new-run', generation, record };
    if (
      latestRun.memoUid === uid &&
      latestRun.restartGeneration !== undefined &&
      latestRun.restartGeneration >= generation
    ) {
      return nothing('already-restarted', record);
    }
    return { kind: 'restart', generation, record };
  }

  if (hasWorkflow) return nothing('has-workflow');
  if (latestRun === NOT_LOOKED_UP) return LOOK_UP;
  if (latestRun) {
    if (runOwnedBy(latestRun, session, uid)) return nothing('owns-latest-run', { started: true });
    if (latestRun.status === 'RUNNING') {
      return {
        kind: 'cancel-other-run',
        runId: latestRun.runId,
        ...(latestRun.memoUid === undefined ? {} : { previousUid: latestRun.memoUid }),
      };
    }
  }
  return { kind: 'start', record: { started: true } };
}
