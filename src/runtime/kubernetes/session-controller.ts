/**
 * The AgentSession controller: what `kubectl apply`, `kubectl edit` and `kubectl delete` on an
 * AgentSession mean for its workflow. A session without a workflow gets one started, deleting the
 * CR cancels the workflow, and `spec.desiredState` maps to the `stop` and `restart` signals.
 *
 * Every action is idempotent against Temporal itself — the workflow id is the session's, a start
 * that finds the workflow running is success, a signal or cancel to a missing workflow is a no-op —
 * so several replicas may run this controller at once with no leader election, and a resync may
 * repeat any action. The workflow owns the status; the controller never writes to the CR.
 *
 * A session whose workflow ended without ever writing `status.workflowId` must not be started
 * again at every resync. So the controller records the CR's uid in the workflow's memo and, before
 * starting, looks at the latest run of the id: a run for this uid (or, without the memo, one that
 * started after the CR was created) means the session already had its workflow.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { type Client, type WorkflowExecutionDescription, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { GROUP, PLURAL, VERSION } from '../../resources/constants.js';
import type { AgentSession, Phase } from '../../resources/types.js';
import {
  RESTART_GENERATION_MEMO,
  SESSION_UID_MEMO,
  startSessionWorkflow,
} from '../../session-client/session-commands.js';
import {
  SESSION_TASK_QUEUE,
  type SessionWorkflowInput,
  sessionWorkflowId,
  stopSignal,
} from '../../workflows/session-contract.js';
import { listAllPages } from '../../reconcile/paged-list.js';
import { createReconcileLoop } from '../../reconcile/reconcile-loop.js';

/** Phases after which a stop has nothing left to stop. */
const STOPPED_OR_FINISHED: ReadonlySet<Phase> = new Set(['Stopped', 'Succeeded', 'Failed', 'TimedOut']);

/** Dependencies and tuning of the controller. */
export interface SessionControllerOptions {
  /** Needs list and watch on agentsessions in all namespaces. */
  kubeConfig: KubeConfig;
  /** Starts, signals and cancels the session workflows. */
  client: Client;
  logger: Logger;
  /**
   * The task queue new session workflows are started on.
   * @default SESSION_TASK_QUEUE
   */
  taskQueue?: string;
  /** Only AgentSessions matching this label selector are handled, to shard sessions across workers. */
  labelSelector?: string;
  /**
   * How often every AgentSession is listed and reconciled again; 0 turns it off.
   * @default 30000
   */
  resyncIntervalMs?: number;
  /**
   * The most Temporal calls in flight at once.
   * @default 50
   */
  maxCallsInFlight?: number;
  /**
   * The first wait before restarting the informer after an error; doubles up to 30 s.
   * @default 1000
   */
  informerRestartBackoffMs?: number;
}

/** Counters for logs, metrics and tests. */
export interface SessionControllerStats {
  /** Workflows this controller started (a start that found the workflow running is not counted). */
  started: number;
  /** Starts that found the workflow already running, or already run for this CR. */
  alreadyStarted: number;
  stopsSent: number;
  restartsSent: number;
  cancelsSent: number;
  /** Temporal calls that failed; the next event or resync retries them. */
  failures: number;
  resyncs: number;
  informerRestarts: number;
}

/** The controller: any number of replicas may run. */
export interface SessionController {
  /** Starts the informer and the periodic resync. */
  start(): Promise<void>;
  /** Stops both and waits (at most a few seconds) for the calls already queued. */
  stop(): Promise<void>;
  /** Lists every AgentSession now and reconciles each; also works when stopped. */
  resyncNow(): Promise<void>;
  stats(): SessionControllerStats;
}

/** What the controller has done for one CR, so repeated events do not repeat calls. */
interface Handled {
  uid: string;
  /** The workflow is known to exist (or to have run) for this uid. */
  started?: boolean;
  /** The generation a stop was sent for. */
  stopGeneration?: number;
  /** The generation a restart was sent for. */
  restartGeneration?: number;
}

function keyOf(session: AgentSession): string {
  return `${session.metadata.namespace ?? ''}/${session.metadata.name}`;
}

function timeOf(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

/** Creates the controller. Nothing runs until `start`. */
export function createSessionController(options: SessionControllerOptions): SessionController {
  const { kubeConfig, client, logger } = options;
  const taskQueue = options.taskQueue ?? SESSION_TASK_QUEUE;
  const resyncIntervalMs = options.resyncIntervalMs ?? 30_000;
  const { labelSelector } = options;
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const handled = new Map<string, Handled>();
  /** The newest object seen per CR and whether it was deleted; a queued task acts on the newest. */
  const latest = new Map<string, { session: AgentSession; deleted: boolean }>();
  const counters = {
    started: 0,
    alreadyStarted: 0,
    stopsSent: 0,
    restartsSent: 0,
    cancelsSent: 0,
    failures: 0,
  };

  const handledFor = (key: string, uid: string): Handled => {
    let entry = handled.get(key);
    if (entry?.uid !== uid) {
      entry = { uid };
      handled.set(key, entry);
    }
    return entry;
  };

  const memoUid = (description: WorkflowExecutionDescription): string | undefined => {
    const value = description.memo?.[SESSION_UID_MEMO];
    return typeof value === 'string' ? value : undefined;
  };

  /** The latest run of the session's workflow id, or undefined when there is none. */
  const describeLatestRun = async (workflowId: string): Promise<WorkflowExecutionDescription | undefined> => {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  };

  const workflowInput = (session: AgentSession, restart: boolean): SessionWorkflowInput => ({
    namespace: session.metadata.namespace ?? '',
    name: session.metadata.name,
    ...(session.metadata.uid ? { uid: session.metadata.uid } : {}),
    ...(restart ? { restart: true } : {}),
  });

  /**
   * Whether the latest run of the session's workflow id was started for this CR: its memo names
   * this uid or, for a run started without the memo (by an older controller or the API), it is
   * running now or started after the CR was created.
   */
  const runOwnedBy = (run: WorkflowExecutionDescription, session: AgentSession, uid: string): boolean => {
    const owner = memoUid(run);
    if (owner !== undefined) return owner === uid;
    if (run.status.name === 'RUNNING') return true;
    const created = timeOf(session.metadata.creationTimestamp);
    return created !== undefined && run.startTime.getTime() >= created;
  };

  const ensureStarted = async (session: AgentSession, entry: Handled): Promise<void> => {
    const workflowId = sessionWorkflowId(session.metadata.namespace ?? '', session.metadata.name);
    const latestRun = await describeLatestRun(workflowId);
    if (latestRun) {
      if (runOwnedBy(latestRun, session, entry.uid)) {
        entry.started = true;
        counters.alreadyStarted += 1;
        logger.debug({ workflowId, runId: latestRun.runId }, 'session already has its workflow');
        return;
      }
      if (latestRun.status.name === 'RUNNING') {
        // The run belongs to an earlier CR of the same name, deleted while its workflow ran on.
        logger.info(
          { workflowId, runId: latestRun.runId, previousUid: memoUid(latestRun) },
          'cancelling the workflow of a deleted session that had the same name',
        );
        await client.workflow.getHandle(workflowId, latestRun.runId).cancel();
        counters.cancelsSent += 1;
        return; // The next event or resync starts this session's workflow once that run closed.
      }
    }
    const result = await startSessionWorkflow(client, { taskQueue, input: workflowInput(session, false) });
    if (result.outcome === 'started') {
      counters.started += 1;
      logger.info({ workflowId, ...result }, 'session workflow started');
    } else {
      // Another replica (or the API) started it between our look and our start.
      counters.alreadyStarted += 1;
      logger.debug({ workflowId }, 'session workflow was already started');
    }
    entry.started = true;
  };

  /**
   * Restarts a stopped session for `generation`. A stopped session's workflow has normally
   * finished: a new run is started with `restart: true` (the input tells it to continue the
   * attempt count), and a replica that loses the race gets "already started". A signal-with-start
   * would do the same for the winner, but the loser's signal would reach the new run and restart
   * its first attempt. Only a run still alive is signalled, unless its memo shows it is already
   * the restart for this generation.
   */
  const restart = async (session: AgentSession, entry: Handled, generation: number): Promise<void> => {
    const workflowId = sessionWorkflowId(session.metadata.namespace ?? '', session.metadata.name);
    const latestRun = await describeLatestRun(workflowId);
    if (latestRun?.status.name === 'RUNNING') {
      const restartOf = latestRun.memo?.[RESTART_GENERATION_MEMO];
      if (memoUid(latestRun) === entry.uid && typeof restartOf === 'number' && restartOf >= generation) {
        logger.debug({ workflowId, runId: latestRun.runId, generation }, 'session already restarted');
      } else {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, true),
          restartGeneration: generation,
          signal: 'restart',
        });
        counters.restartsSent += 1;
        logger.info({ workflowId, ...result, generation }, 'restart signalled for desiredState Running');
      }
    } else {
      const result = await startSessionWorkflow(client, {
        taskQueue,
        input: workflowInput(session, true),
        restartGeneration: generation,
      });
      if (result.outcome === 'started') {
        counters.restartsSent += 1;
        logger.info({ workflowId, ...result, generation }, 'stopped session restarted as a new run');
      } else {
        logger.debug({ workflowId, generation }, 'another replica restarted the session');
      }
    }
    entry.started = true;
    entry.restartGeneration = generation;
  };

  const reconcile = async (session: AgentSession): Promise<void> => {
    const { namespace = '', name, uid, generation = 0, deletionTimestamp } = session.metadata;
    // Deleting: the delete event cancels the workflow; acting on the last update would race it.
    if (!uid || deletionTimestamp) return;
    const key = keyOf(session);
    const entry = handledFor(key, uid);
    const workflowId = sessionWorkflowId(namespace, name);
    const desired = session.spec.desiredState ?? 'Running';
    const phase = session.status?.phase;
    const hasWorkflow = Boolean(session.status?.workflowId) || entry.started === true;

    if (desired === 'Stopped') {
      if (phase && STOPPED_OR_FINISHED.has(phase)) return;
      if (entry.stopGeneration === generation) return;
      if (!hasWorkflow) {
        // A session created stopped is held: its workflow starts when desiredState becomes
        // Running. One whose status does not name its workflow yet may still have one running.
        const latestRun = await describeLatestRun(workflowId);
        if (!latestRun || latestRun.status.name !== 'RUNNING' || !runOwnedBy(latestRun, session, uid)) {
          entry.stopGeneration = generation;
          return;
        }
      }
      try {
        await client.workflow
          .getHandle(workflowId)
          .signal(stopSignal, { reason: 'desiredState set to Stopped' });
        counters.stopsSent += 1;
        logger.info({ workflowId, generation }, 'stop signalled for desiredState Stopped');
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        logger.debug({ workflowId }, 'no running workflow to stop');
      }
      entry.stopGeneration = generation;
      return;
    }

    const observed = session.status?.observedGeneration ?? 0;
    if (phase === 'Stopped' && generation > observed) {
      if (entry.restartGeneration === generation) return;
      await restart(session, entry, generation);
      return;
    }

    if (!session.status?.workflowId && !entry.started) await ensureStarted(session, entry);
  };

  const cancelDeleted = async (session: AgentSession): Promise<void> => {
    const { namespace = '', name, uid } = session.metadata;
    handled.delete(keyOf(session));
    const workflowId = sessionWorkflowId(namespace, name);
    const latestRun = await describeLatestRun(workflowId);
    if (!latestRun || latestRun.status.name !== 'RUNNING') return;
    const owner = memoUid(latestRun);
    if (owner !== undefined && uid !== undefined && owner !== uid) {
      // The run belongs to a newer CR of the same name; this delete is old news.
      logger.debug({ workflowId, owner, uid }, 'deleted session does not own the running workflow');
      return;
    }
    try {
      await client.workflow.getHandle(workflowId, latestRun.runId).cancel();
      counters.cancelsSent += 1;
      logger.info({ workflowId, runId: latestRun.runId }, 'session deleted; workflow cancelled');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  };

  /** Queues the newest state of a CR; several events for one CR coalesce into one task. */
  const enqueue = (session: AgentSession, deleted: boolean): void => {
    const key = keyOf(session);
    const alreadyQueued = latest.has(key);
    latest.set(key, { session, deleted });
    if (alreadyQueued) return;
    loop.push(key, async () => {
      const item = latest.get(key);
      latest.delete(key);
      if (!item) return;
      try {
        await (item.deleted ? cancelDeleted(item.session) : reconcile(item.session));
      } catch (error) {
        counters.failures += 1;
        logger.warn(
          { session: key, error: (error as Error).message },
          'could not reconcile an AgentSession with its workflow; the next resync retries',
        );
      }
    });
  };

  const listPage = (page: { limit: number; continueToken: string | undefined }) =>
    customObjects.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL.agentSession,
      limit: page.limit,
      ...(labelSelector ? { labelSelector } : {}),
      ...(page.continueToken ? { _continue: page.continueToken } : {}),
    }) as Promise<KubernetesListObject<KubernetesObject>>;

  const informer = makeInformer<KubernetesObject>(
    kubeConfig,
    `/apis/${GROUP}/${VERSION}/${PLURAL.agentSession}`,
    () =>
      customObjects.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL.agentSession,
        ...(labelSelector ? { labelSelector } : {}),
      }) as Promise<KubernetesListObject<KubernetesObject>>,
    labelSelector,
  );
  // The informer is typed by client-node's object shape; the API returns plain AgentSession JSON.
  const onChange = (object: KubernetesObject) => enqueue(object as unknown as AgentSession, false);
  informer.on('add', onChange);
  informer.on('update', onChange);
  informer.on('delete', (object) => enqueue(object as unknown as AgentSession, true));

  const resyncOnce = async (): Promise<void> => {
    const startedAt = Date.now();
    const sessions = await listAllPages(listPage);
    for (const object of sessions) {
      // The informer's copy is usually newer than a list that took a while.
      const { name, namespace } = object.metadata ?? {};
      const cached = name ? informer.get(name, namespace) : undefined;
      enqueue((cached ?? object) as unknown as AgentSession, false);
    }
    logger.debug({ sessions: sessions.length, durationMs: Date.now() - startedAt }, 'session resync queued');
  };

  const loop = createReconcileLoop({
    name: 'session controller',
    logger,
    resync: resyncOnce,
    resyncIntervalMs,
    // The caller of resyncNow wants the reconciles done, not just queued.
    resyncWaitsForQueue: true,
    informers: { agentsessions: informer },
    ...(options.informerRestartBackoffMs === undefined
      ? {}
      : { informerRestartBackoffMs: options.informerRestartBackoffMs }),
    ...(options.maxCallsInFlight === undefined ? {} : { concurrency: options.maxCallsInFlight }),
    logFields: { taskQueue, labelSelector },
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    resyncNow: () => loop.resyncNow(),
    stats() {
      const { resyncs, informerRestarts } = loop.stats();
      return { ...counters, resyncs, informerRestarts };
    },
  };
}
