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
 * What to do is decided by `decide` (session-decision.ts) from the CR, the latest run of its
 * workflow id and this controller's bookkeeping; this module only feeds it and carries out its
 * actions.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { GROUP, PLURAL, VERSION } from '../../resources/constants.js';
import type { AgentSession } from '../../resources/types.js';
import { startSessionWorkflow } from '../../session-client/session-commands.js';
import {
  SESSION_TASK_QUEUE,
  type SessionWorkflowInput,
  sessionWorkflowId,
  stopSignal,
} from '../../workflows/session-contract.js';
import { listAllPages } from '../../reconcile/paged-list.js';
import { createReconcileLoop } from '../../reconcile/reconcile-loop.js';
import {
  type Handled,
  type LatestRun,
  NOT_LOOKED_UP,
  type ObservedSession,
  type SessionAction,
  decide,
  latestRunOf,
} from './session-decision.js';

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
  /** Lists every AgentSession now and resolves once each is reconciled; also works when stopped. */
  resyncNow(): Promise<void>;
  stats(): SessionControllerStats;
}

function keyOf(session: AgentSession): string {
  return `${session.metadata.namespace ?? ''}/${session.metadata.name}`;
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
  const latest = new Map<string, ObservedSession>();
  const counters = {
    started: 0,
    alreadyStarted: 0,
    stopsSent: 0,
    restartsSent: 0,
    cancelsSent: 0,
    failures: 0,
  };

  /** The latest run of the session's workflow id, or undefined when there is none. */
  const lookUpLatestRun = async (workflowId: string): Promise<LatestRun | undefined> => {
    try {
      return latestRunOf(await client.workflow.getHandle(workflowId).describe());
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

  /** Carries out `action`; throws when it could not, so its bookkeeping is not recorded. */
  const execute = async (session: AgentSession, workflowId: string, action: SessionAction): Promise<void> => {
    switch (action.kind) {
      case 'nothing':
        if (action.reason === 'owns-latest-run') {
          counters.alreadyStarted += 1;
          logger.debug({ workflowId }, 'session already has its workflow');
        } else if (action.reason === 'already-restarted') {
          logger.debug({ workflowId }, 'session already restarted');
        } else if (action.reason === 'run-of-newer-session') {
          logger.debug({ workflowId }, 'deleted session does not own the running workflow');
        }
        return;
      case 'start': {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, false),
        });
        if (result.outcome === 'started') {
          counters.started += 1;
          logger.info({ workflowId, ...result }, 'session workflow started');
        } else {
          // Another replica (or the API) started it between our look and our start.
          counters.alreadyStarted += 1;
          logger.debug({ workflowId }, 'session workflow was already started');
        }
        return;
      }
      case 'cancel-other-run':
        // The run belongs to an earlier CR of the same name, deleted while its workflow ran on.
        logger.info(
          { workflowId, runId: action.runId, previousUid: action.previousUid },
          'cancelling the workflow of a deleted session that had the same name',
        );
        await client.workflow.getHandle(workflowId, action.runId).cancel();
        counters.cancelsSent += 1;
        return; // The next event or resync starts this session's workflow once that run closed.
      case 'signal-stop':
        try {
          await client.workflow
            .getHandle(workflowId)
            .signal(stopSignal, { reason: 'desiredState set to Stopped' });
          counters.stopsSent += 1;
          logger.info(
            { workflowId, generation: action.generation },
            'stop signalled for desiredState Stopped',
          );
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          logger.debug({ workflowId }, 'no running workflow to stop');
        }
        return;
      case 'restart': {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, true),
          restartGeneration: action.generation,
          signal: 'restart',
        });
        counters.restartsSent += 1;
        logger.info(
          { workflowId, ...result, generation: action.generation },
          'restart signalled for desiredState Running',
        );
        return;
      }
      case 'restart-as-new-run': {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, true),
          restartGeneration: action.generation,
        });
        if (result.outcome === 'started') {
          counters.restartsSent += 1;
          logger.info(
            { workflowId, ...result, generation: action.generation },
            'stopped session restarted as a new run',
          );
        } else {
          logger.debug(
            { workflowId, generation: action.generation },
            'another replica restarted the session',
          );
        }
        return;
      }
      case 'cancel-deleted':
        try {
          await client.workflow.getHandle(workflowId, action.runId).cancel();
          counters.cancelsSent += 1;
          logger.info({ workflowId, runId: action.runId }, 'session deleted; workflow cancelled');
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        return;
    }
  };

  /** Decides about the CR, looking up its latest run only when the decision needs it, and acts. */
  const reconcile = async (key: string, observed: ObservedSession): Promise<void> => {
    const { session } = observed;
    // A deleted CR's bookkeeping goes with it; a CR created again under the name starts afresh.
    if (observed.deleted) handled.delete(key);
    const workflowId = sessionWorkflowId(session.metadata.namespace ?? '', session.metadata.name);
    const first = decide(observed, NOT_LOOKED_UP, handled.get(key));
    const action =
      first.kind === 'look-up-latest-run'
        ? decide(observed, await lookUpLatestRun(workflowId), handled.get(key))
        : first;
    await execute(session, workflowId, action);
    const record = 'record' in action ? action.record : undefined;
    const { uid } = session.metadata;
    if (record && uid) {
      const entry = handled.get(key);
      handled.set(key, { ...(entry?.uid === uid ? entry : { uid }), ...record });
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
        await reconcile(key, item);
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
