/**
 * What a runtime gives the worker process: the activities the session workflow calls, and the
 * background services that report runners and reconcile resources (watchers, controllers). The
 * worker starts the services after the Temporal worker and stops them before it; it knows nothing
 * else about the runtime.
 */
import type { NamespaceUsageStatus } from '../workflows/namespace-contract.js';
import type { SessionActivities, SessionRef } from './session-activities.js';

/** The last `lines` lines of the runner log of `attempt`, while the runner's record exists. */
export type RunnerLogTail = (
  session: SessionRef,
  attempt: number,
  lines: number,
) => Promise<string | undefined>;

/** A background service of a runtime. */
export interface RuntimeService {
  start(): Promise<void>;
  /** Stops it and waits, within a few seconds, for work already under way. */
  stop(): Promise<void>;
}

/** One runtime, as the worker sees it. */
export interface WorkerRuntime {
  activities: SessionActivities;
  /** Reads the end of a runner's log, for the feedback of a failed session. */
  logTail: RunnerLogTail;
  /** Started in order, stopped in reverse. */
  services: RuntimeService[];
  /** Writes a namespace's usage where the runtime shows it (absent: nowhere, as locally). */
  writeNamespaceStatus?: (namespace: string, status: NamespaceUsageStatus) => Promise<void>;
}
