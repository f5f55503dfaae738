/**
 * One Temporal Schedule per polling Jira trigger (`jira-poll/<namespace>/<trigger>`, every
 * `spec.jira.pollInterval`), kept in step with the TriggerCatalog: created for a trigger with a
 * JQL, updated when its interval (or the task queue) changes, deleted when the trigger goes. Only
 * Schedules whose id has our prefix and whose memo says Shepherd made them are ever updated or
 * deleted, so an operator's own Schedule is safe even under our prefix. Every worker replica may
 * run the reconciler: a create that loses the race finds the Schedule there and treats it as its own.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { ScheduleDescription, ScheduleOptionsStartWorkflowAction, Workflow } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { parseDuration } from '../../session/duration.js';
import type { CatalogTrigger, TriggerCatalog } from '../trigger-catalog.js';
import {
  JIRA_POLL_SCHEDULE_PREFIX,
  JIRA_POLL_WORKFLOW_TYPE,
  type JiraPollInput,
  jiraPollScheduleId,
} from './jira-contract.js';

/** Schedule memo key marking a Schedule as Shepherd's. */
export const SCHEDULE_OWNER_MEMO = 'shepherd.dev/managed-by';
/** Its value. */
export const SCHEDULE_OWNER = 'shepherd';
/**
 * Memo key, on the Schedule's action (the one memo an update can change), holding what the
 * Schedule was made from: a difference means the Schedule is updated.
 */
export const SCHEDULE_CONFIG_MEMO = 'shepherd.dev/jira-poll-config';

/** The CRD's documented minimum poll interval. */
export const MIN_POLL_INTERVAL_MS = 10_000;
/**
 * Polls missed while Temporal was down are caught up only this late (Temporal's own minimum): a
 * missed poll is not worth more than the next one.
 */
const CATCHUP_WINDOW_MS = 10_000;
/** A poll that runs longer than this is ended; the next one starts at the next interval. */
const POLL_RUN_TIMEOUT = '20 minutes';

/** A Schedule that should exist. */
export interface DesiredJiraSchedule {
  scheduleId: string;
  namespace: string;
  trigger: string;
  intervalMs: number;
}

/** A trigger that should poll but cannot. */
export interface JiraScheduleProblem {
  namespace: string;
  trigger: string;
  message: string;
}

/**
 * The Schedules the triggers call for: one per usable jira trigger with `spec.match.jql`. A
 * trigger the catalog marks unusable polls nothing (its status says why); one whose interval is
 * bad is reported.
 */
export function desiredJiraSchedules(entries: readonly CatalogTrigger[]): {
  schedules: DesiredJiraSchedule[];
  problems: JiraScheduleProblem[];
} {
  const schedules: DesiredJiraSchedule[] = [];
  const problems: JiraScheduleProblem[] = [];
  for (const { trigger, problem } of entries) {
    if (trigger.spec.source !== 'jira' || !trigger.spec.match?.jql || !trigger.spec.jira || problem) continue;
    const namespace = trigger.metadata.namespace ?? 'default';
    const name = trigger.metadata.name;
    const interval = trigger.spec.jira.pollInterval ?? '1m';
    let intervalMs: number;
    try {
      intervalMs = parseDuration(interval, 'spec.jira.pollInterval');
    } catch (error) {
      problems.push({ namespace, trigger: name, message: (error as Error).message });
      continue;
    }
    if (intervalMs < MIN_POLL_INTERVAL_MS) {
      problems.push({
        namespace,
        trigger: name,
        message: `spec.jira.pollInterval "${interval}" is shorter than 10s; set at least 10s, e.g. 1m`,
      });
      continue;
    }
    schedules.push({ scheduleId: jiraPollScheduleId(namespace, name), namespace, trigger: name, intervalMs });
  }
  return { schedules, problems };
}

/** What a Schedule is made from, as its config memo holds it. */
function configOf(desired: DesiredJiraSchedule, taskQueue: string): string {
  return JSON.stringify({ intervalMs: desired.intervalMs, taskQueue, v: 1 });
}

/** The action and policies of a desired Schedule. */
function scheduleBody(desired: DesiredJiraSchedule, taskQueue: string) {
  const input: JiraPollInput = { namespace: desired.namespace, trigger: desired.trigger };
  const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
    type: 'startWorkflow',
    workflowType: JIRA_POLL_WORKFLOW_TYPE,
    workflowId: desired.scheduleId,
    taskQueue,
    args: [input],
    workflowExecutionTimeout: POLL_RUN_TIMEOUT,
    memo: { [SCHEDULE_CONFIG_MEMO]: configOf(desired, taskQueue) },
    staticSummary: `Jira poll of AgentTrigger ${desired.namespace}/${desired.trigger}`,
  };
  return {
    spec: { intervals: [{ every: desired.intervalMs }] },
    action,
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: CATCHUP_WINDOW_MS,
      pauseOnFailure: false,
    },
  };
}

/** What a reconcile did. */
export interface JiraScheduleReport {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Triggers that cannot poll, and Schedules under our prefix that are not ours. */
  problems: JiraScheduleProblem[];
}

/** Options of a reconcile. */
export interface ReconcileJiraSchedulesOptions {
  client: Client;
  /** The task queue the poll workflows run on (the worker's). */
  taskQueue: string;
  /** The jira triggers (every one the catalog has). */
  triggers: readonly CatalogTrigger[];
}

function isOurs(memo: Record<string, unknown> | undefined): boolean {
  return memo?.[SCHEDULE_OWNER_MEMO] === SCHEDULE_OWNER;
}

/** Makes the Schedules match the triggers, once. */
export async function reconcileJiraSchedules(
  options: ReconcileJiraSchedulesOptions,
): Promise<JiraScheduleReport> {
  const { client, taskQueue } = options;
  const { schedules, problems } = desiredJiraSchedules(options.triggers);
  const report: JiraScheduleReport = { created: [], updated: [], deleted: [], problems };

  const existing = new Set<string>();
  for await (const summary of client.schedule.list()) {
    if (summary.scheduleId.startsWith(JIRA_POLL_SCHEDULE_PREFIX) && isOurs(summary.memo)) {
      existing.add(summary.scheduleId);
    }
  }

  /** Updates a Schedule of ours whose config differs; reports one that is not ours. */
  const updateIfChanged = async (desired: DesiredJiraSchedule) => {
    const handle = client.schedule.getHandle(desired.scheduleId);
    let description: ScheduleDescription;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return false;
      throw error;
    }
    if (!isOurs(description.memo)) {
      problems.push({
        namespace: desired.namespace,
        trigger: desired.trigger,
        message: `Schedule ${desired.scheduleId} exists but was not made by Shepherd (memo ${SCHEDULE_OWNER_MEMO} is not ${SCHEDULE_OWNER}); delete it so the trigger can poll`,
      });
      return true;
    }
    if (description.action.memo?.[SCHEDULE_CONFIG_MEMO] === configOf(desired, taskQueue)) return true;
    await handle.update((previous) => ({ ...scheduleBody(desired, taskQueue), state: previous.state }));
    report.updated.push(desired.scheduleId);
    return true;
  };

  for (const desired of schedules) {
    // The list lags behind creates, so one missing from it may exist all the same.
    if (existing.has(desired.scheduleId) && (await updateIfChanged(desired))) continue;
    try {
      await client.schedule.create({
        scheduleId: desired.scheduleId,
        ...scheduleBody(desired, taskQueue),
        memo: { [SCHEDULE_OWNER_MEMO]: SCHEDULE_OWNER },
        state: { note: `Polls the JQL of AgentTrigger ${desired.trigger} in namespace ${desired.namespace}` },
      });
      report.created.push(desired.scheduleId);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await updateIfChanged(desired);
    }
  }

  const wanted = new Set(schedules.map((s) => s.scheduleId));
  for (const id of existing) {
    if (wanted.has(id)) continue;
    try {
      await client.schedule.getHandle(id).delete();
      report.deleted.push(id);
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
  }
  return report;
}

/** A background service: start and stop with the worker. */
export interface JiraScheduleReconciler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reconciles now (after any reconcile under way); resolves with its report. */
  reconcileNow(): Promise<JiraScheduleReport>;
}

/** Options of the reconciler. */
export interface JiraScheduleReconcilerOptions {
  client: Client;
  taskQueue: string;
  catalog: Pick<TriggerCatalog, 'bySource' | 'onChange' | 'ready'>;
  logger: Logger;
  /**
   * How often it reconciles without a change, catching up after a failure or someone's edit.
   * @default 60000
   */
  resyncMs?: number;
}

/** Reconciles at start, after every catalog change, and every `resyncMs`. */
export function jiraScheduleReconciler(options: JiraScheduleReconcilerOptions): JiraScheduleReconciler {
  const { client, taskQueue, catalog, logger } = options;
  const resyncMs = options.resyncMs ?? 60_000;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<JiraScheduleReport> | undefined;
  let queued: Promise<JiraScheduleReport> | undefined;

  const once = async (): Promise<JiraScheduleReport> => {
    const report = await reconcileJiraSchedules({ client, taskQueue, triggers: catalog.bySource('jira') });
    for (const problem of report.problems) {
      logger.warn(problem, 'Jira trigger cannot poll');
    }
    if (report.created.length + report.updated.length + report.deleted.length > 0) {
      logger.info(
        { created: report.created, updated: report.updated, deleted: report.deleted },
        'Jira poll Schedules reconciled',
      );
    }
    return report;
  };

  /** One reconcile at a time; calls during one share the one that runs right after it. */
  const reconcileNow = (): Promise<JiraScheduleReport> => {
    if (!running) {
      running = once().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return reconcileNow();
      });
    return queued;
  };

  const tick = () => {
    if (stopped) return;
    void reconcileNow()
      .catch((error: unknown) => {
        logger.warn({ error: (error as Error).message }, 'Jira poll Schedules not reconciled; retrying');
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, resyncMs);
      });
  };

  return {
    async start() {
      stopped = false;
      await catalog.ready();
      catalog.onChange(() => {
        if (!stopped) void reconcileNow().catch(() => undefined);
      });
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    reconcileNow,
  };
}
