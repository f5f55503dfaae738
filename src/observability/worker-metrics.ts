/**
 * The worker's Prometheus metrics, served on its probe port at `/metrics`: sessions by phase,
 * session start, turn and attempt durations, how sessions ended, activity queue waits and
 * durations, and the runner watcher's lag, beside Node's process metrics. A registry of its own
 * (not prom-client's global one) so two workers in one process never clash over names.
 *
 * Most of it is read at the activity boundary (see activity-interceptor.ts), where every status
 * the session workflow writes passes: that needs no change to the workflow, so it cannot alter
 * its commands. Sessions by phase are counted from Temporal's visibility store (the
 * ShepherdPhase search attribute), which every worker sees whole, rather than from what one
 * worker happened to write; the counts are cached for a few seconds so that several scrapers
 * cost Temporal a handful of count queries.
 */
import type { Client } from '@temporalio/client';
import { LRUCache } from 'lru-cache';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConditionType } from '../resources/conditions.js';
import { FINISHED_PHASES, PHASES } from '../resources/phases.js';
import type { AgentSessionStatus, Phase } from '../resources/types.js';
import type { RunnerEvent } from '../workflows/session-contract.js';
import { SESSION_WORKFLOW_TYPE } from '../workflows/session-contract.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';

/** Seconds: from well under a second (a Job's creation) to a day (a long agent run). */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];
/** Seconds: queue waits and signal lag, from milliseconds to a minute. */
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Which run of which session a status belongs to. */
export interface StatusSource {
  workflowId: string;
  runId: string;
}

/** The worker's metrics and what feeds them. */
export interface WorkerMetrics {
  registry: Registry;
  /** Records what a status the workflow wrote says: a session's start, a turn's or the session's end. */
  observeStatus(source: StatusSource, status: AgentSessionStatus): void;
  /** Records an activity's wait in the task queue and how it ran. */
  observeActivity(activity: string, scheduleToStartMs: number, durationMs: number, outcome: string): void;
  /** Records a runner event the watcher signalled: its lag and, at a runner's end, the attempt's duration. */
  observeRunnerSignal(event: RunnerEvent, lagMs: number, attemptStartedAt?: Date): void;
}

/** What the worker metrics read. */
export interface WorkerMetricsOptions {
  /** Counts sessions by phase in Temporal's visibility store; without it the gauge is absent. */
  client?: Client;
  /** How long visibility counts are reused. @default 15000 */
  phaseCacheMs?: number;
  /** Also collect Node's process metrics. @default true */
  processMetrics?: boolean;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** The query counting sessions in `phase`: open ones, except for final phases, which a closed run keeps. */
function phaseQuery(phase: Phase): string {
  const open = FINISHED_PHASES.has(phase) ? '' : ` AND ExecutionStatus = 'Running'`;
  return `WorkflowType = '${SESSION_WORKFLOW_TYPE}' AND ${SEARCH_ATTRIBUTES.phase.name} = '${phase}'${open}`;
}

/** Creates the registry and metrics. */
export function createWorkerMetrics(options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const { client } = options;
  if (client) {
    const cacheMs = options.phaseCacheMs ?? 15_000;
    let counted: { at: number; counts: Promise<Map<Phase, number>> } | undefined;
    const countPhases = async (): Promise<Map<Phase, number>> => {
      const counts = await Promise.all(
        PHASES.map(async (phase) => [phase, (await client.workflow.count(phaseQuery(phase))).count] as const),
      );
      return new Map(counts);
    };
    new Gauge({
      name: 'shepherd_sessions',
      help: 'Sessions by phase, from Temporal visibility: open sessions, and finished ones while Temporal retains them.',
      labelNames: ['phase'],
      registers,
      async collect() {
        if (!counted || Date.now() - counted.at > cacheMs) {
          counted = { at: Date.now(), counts: countPhases() };
          // A failed count is not cached: the next scrape asks again.
          counted.counts.catch(() => (counted = undefined));
        }
        const counts = await counted.counts;
        for (const phase of PHASES) this.set({ phase }, counts.get(phase) ?? 0);
      },
    });
  }

  const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  const sessionStart = histogram(
    'shepherd_session_start_seconds',
    "From a session's start to its first runner created (a Job, or locally a process): admission and provisioning.",
    DURATION_BUCKETS,
  );
  const turnDuration = histogram(
    'shepherd_turn_duration_seconds',
    'Duration of the turns of conversations, by result.',
    DURATION_BUCKETS,
    ['result'],
  );
  const sessionDuration = histogram(
    'shepherd_session_duration_seconds',
    'From a session run’s start to its end, by final phase.',
    DURATION_BUCKETS,
    ['phase'],
  );
  const sessionExits = new Counter({
    name: 'shepherd_session_exits_total',
    help: 'Session runs that ended, by final phase and reason (the Completed condition’s reason).',
    labelNames: ['phase', 'reason'],
    registers,
  });
  const attemptDuration = histogram(
    'shepherd_attempt_duration_seconds',
    'From a runner Job’s creation to the watcher seeing the runner end, by how it ended.',
    DURATION_BUCKETS,
    ['reason'],
  );
  const watcherLag = histogram(
    'shepherd_runner_watcher_lag_seconds',
    'From the runner watcher seeing a Job/Pod change to the session workflow having the signal, by event.',
    WAIT_BUCKETS,
    ['event'],
  );
  const activityQueueWait = histogram(
    'shepherd_activity_schedule_to_start_seconds',
    'How long activities waited in the task queue before a worker started them, by activity.',
    WAIT_BUCKETS,
    ['activity'],
  );
  const activityDuration = histogram(
    'shepherd_activity_duration_seconds',
    'How long activity attempts ran, by activity and outcome (ok, error).',
    DURATION_BUCKETS,
    ['activity', 'outcome'],
  );

  // What was recorded already, so a status written again (a retry, a later write) counts once.
  const recorded = new LRUCache<string, true>({ max: 50_000 });
  const once = (key: string): boolean => {
    if (recorded.has(key)) return false;
    recorded.set(key, true);
    return true;
  };

  return {
    registry,
    observeStatus({ workflowId, runId }, status) {
      const run = `${workflowId}/${runId}`;
      const started = status.startTime ? Date.parse(status.startTime) : NaN;
      const jobCreated = status.conditions?.find((c) => c.type === ConditionType.JobCreated);
      if (jobCreated?.status === 'True' && !Number.isNaN(started) && once(`${run}#start`)) {
        sessionStart.observe(seconds(Date.parse(jobCreated.lastTransitionTime) - started));
      }
      for (const turn of status.turns ?? []) {
        if (!turn.startTime || !turn.completionTime || !turn.result) continue;
        if (!once(`${run}#turn${turn.number}`)) continue;
        turnDuration.observe(
          { result: turn.result },
          seconds(Date.parse(turn.completionTime) - Date.parse(turn.startTime)),
        );
      }
      const { phase } = status;
      if (phase && FINISHED_PHASES.has(phase) && once(`${run}#end`)) {
        const reason =
          status.conditions?.find((c) => c.type === ConditionType.Completed)?.reason ?? 'Unknown';
        sessionExits.inc({ phase, reason });
        if (status.completionTime && !Number.isNaN(started)) {
          sessionDuration.observe({ phase }, seconds(Date.parse(status.completionTime) - started));
        }
      }
    },
    observeActivity(activity, scheduleToStartMs, durationMs, outcome) {
      activityQueueWait.observe({ activity }, seconds(scheduleToStartMs));
      activityDuration.observe({ activity, outcome }, seconds(durationMs));
    },
    observeRunnerSignal(event, lagMs, attemptStartedAt) {
      watcherLag.observe({ event: event.kind }, seconds(lagMs));
      if (event.kind === 'ended' && attemptStartedAt) {
        attemptDuration.observe(
          { reason: event.termination.reason ?? 'Unknown' },
          // An informer's copy may hold the timestamp as the API's string.
          seconds(Date.now() - new Date(attemptStartedAt).getTime()),
        );
      }
    },
  };
}
