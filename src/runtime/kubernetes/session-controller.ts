/**
 * The AgentSession controller: what `kubectl apply`, `kubectl edit` and `kubectl delete` on an
 * AgentSession mean for its workflow. A session without a workflow gets one started, deleting the
 * CR cancels the workflow, and `spec.desiredState` maps to the `stop` and `restart` signals.
 *
 * Every action is idempotent against Temporal itself — the workflow id is the session's, a start
 * that finds the workflow running is success, a signal or cancel to a missing workflow is a no-op —
 * so several replicas may run this controller at once with no leader election, and a resync may
 * repeat any action. The workflow owns the status; the controller writes to the CR only the record
 * of a desiredState stop (an annotation) and the two statuses no workflow is there to write (a
 * session held unstarted, a run closed in Temporal without its final status; controller-status.ts),
 * each as a JSON patch that tests the uid and resourceVersion it decided on, so it never writes
 * into a newer CR of the same name nor over a status the workflow wrote meanwhile.
 *
 * A `shepherd.dev/prompt` annotation is sent to the workflow as a prompt (source `kubectl`) and
 * removed once taken or refused, once across replicas: see prompt-annotation.ts.
 *
 * What to do is decided by `decide` (session-decision.ts) from the CR, the latest run of its
 * workflow id and this controller's bookkeeping; this module only feeds it and carries out its
 * actions.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { GROUP, PLURAL, VERSION } from '../../resources/constants.js';
import type { AgentSession } from '../../resources/types.js';
import {
  phaseRefusal,
  type PromptOutcome,
  sendSessionPrompt,
  startSessionWorkflow,
} from '../../session-client/session-commands.js';
import {
  SESSION_TASK_QUEUE,
  type SessionWorkflowInput,
  sessionWorkflowId,
  stopSignal,
} from '../../workflows/session-contract.js';
import { createReconcileLoop, type ResyncScope } from '../../reconcile/reconcile-loop.js';
import {
  type WatchNamespaces,
  customObjectCollection,
  listWatched,
  watchedInformer,
} from '../../reconcile/watch-scope.js';
import { closedRunStatus, heldStatus } from './controller-status.js';
import { runCheckSchedule } from './run-check-schedule.js';
import { newHolderId, type PromptSettlement, promptStep, settleOps } from './prompt-annotation.js';
import { clearStopOps, recordStopOps } from './stop-record.js';
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
  /** Needs list and watch on agentsessions in the watched namespaces. */
  kubeConfig: KubeConfig;
  /** The namespaces whose AgentSessions are handled; others are never seen. @default every namespace */
  namespaces?: WatchNamespaces;
  /** Starts, signals and cancels the session workflows. */
  client: Client;
  /**
   * Start workflows eagerly: `client` is on the `NativeConnection` of a worker polling
   * `taskQueue`, which then gets each new run's first task in the start's answer.
   * @default false
   */
  eagerStart?: boolean;
  logger: Logger;
  /**
   * The task queue new session workflows are started on.
   * @default SESSION_TASK_QUEUE
   */
  taskQueue?: string;
  /** Only AgentSessions matching this label selector are handled, to shard sessions across workers. */
  labelSelector?: string;
  /**
   * How often every AgentSession is reconciled again from the informer's cache; 0 turns it off.
   * @default 30000
   */
  resyncIntervalMs?: number;
  /**
   * How often a resync lists the AgentSessions from the API server instead.
   * @default 600000
   */
  relistIntervalMs?: number;
  /**
   * How often a periodic resync asks Temporal about the run of each session that looks active, to
   * notice a run that closed without writing its final status (run-check-schedule.ts): 10,000
   * sessions cost about 17 lookups a second, not 10,000 every resync. `resyncNow` checks every
   * session.
   * @default 600000
   */
  runCheckIntervalMs?: number;
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
  /**
   * The first wait before looking again at a CR whose action waits for another run to close
   * (a cancelled run of an earlier CR, a stopping run being restarted); doubles up to 10 s, for
   * at most 12 looks, after which the periodic resync carries on.
   * @default 500
   */
  requeueBackoffMs?: number;
  /**
   * How long a replica's claim on a `shepherd.dev/prompt` annotation is its own: past it, another
   * replica sends the prompt in its place (with the same Update id, so it is taken once).
   * @default 60000
   */
  promptLeaseMs?: number;
  /**
   * How long sending a prompt waits for the workflow to take or refuse it.
   * @default 30000
   */
  promptTimeoutMs?: number;
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
  /** Statuses written for a run that closed in Temporal without its own final status. */
  closedRunsMarked: number;
  /** Prompts from the `shepherd.dev/prompt` annotation the workflow took. */
  promptsTaken: number;
  /** Prompts from the annotation refused (by the workflow, or at once for a phase that cannot take one). */
  promptsRefused: number;
  /** Times a CR was looked at again shortly, to start it once another run closed. */
  requeues: number;
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

/** The most decisions one reconcile makes in a row (record, then signal; start, then clear). */
const MAX_STEPS = 4;

/** The most times a CR is looked at again while it waits for another run to close. */
const MAX_REQUEUES = 12;

/** The longest wait between two such looks. */
const MAX_REQUEUE_DELAY_MS = 10_000;

/** Actions after which the controller decides again at once, on the CR it got back. */
const DECIDE_AGAIN: ReadonlySet<SessionAction['kind']> = new Set([
  'record-stop-request',
  'restart-as-new-run',
  'start',
  'clear-stop-request',
]);

/**
 * Actions after which the CR is looked at again shortly, since what they wait for (another run
 * closing, a stopped run closing before its restart) changes nothing on the CR to trigger an event.
 */
const LOOK_AGAIN: ReadonlySet<SessionAction['kind']> = new Set([
  'cancel-other-run',
  'wait-for-close',
  'signal-stop',
]);

/** What `execute` returns for a start decided before the lookup that found the id had run. */
const REFUSED_BEFORE_LOOK_UP = Symbol('refused before look-up');

/** The HTTP status of a failed Kubernetes call, if it has one. */
function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Creates the controller. Nothing runs until `start`. */
export function createSessionController(options: SessionControllerOptions): SessionController {
  const { kubeConfig, client, logger } = options;
  const taskQueue = options.taskQueue ?? SESSION_TASK_QUEUE;
  const resyncIntervalMs = options.resyncIntervalMs ?? 30_000;
  const requeueBackoffMs = options.requeueBackoffMs ?? 500;
  const { labelSelector } = options;
  const eager = options.eagerStart === true;
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const handled = new Map<string, Handled>();
  /** The newest object seen per CR and whether it was deleted; a queued task acts on the newest. */
  const latest = new Map<string, ObservedSession>();
  /** Looks again already made per CR while it waits for another run to close. */
  const requeued = new Map<string, number>();
  const runChecks = runCheckSchedule(options.runCheckIntervalMs ?? 600_000);
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const counters = {
    started: 0,
    alreadyStarted: 0,
    stopsSent: 0,
    restartsSent: 0,
    cancelsSent: 0,
    closedRunsMarked: 0,
    promptsTaken: 0,
    promptsRefused: 0,
    requeues: 0,
    failures: 0,
  };
  /** This replica, as prompt claims name it. */
  const holder = newHolderId();
  const promptLeaseMs = options.promptLeaseMs ?? 60_000;
  const promptOptions = options.promptTimeoutMs === undefined ? {} : { timeoutMs: options.promptTimeoutMs };

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

  /**
   * Applies a JSON patch to the CR (or its status) that first tests the uid and resourceVersion
   * the decision was made on (without the resourceVersion for a patch whose own `test` operations
   * say what must not have changed). Returns the patched CR, or undefined when the CR changed or
   * went meanwhile: its next event decides again.
   */
  const patchGuarded = async (
    session: AgentSession,
    ops: object[],
    subresource: 'status' | undefined,
    { testResourceVersion = true } = {},
  ): Promise<AgentSession | undefined> => {
    const { namespace = '', name, uid, resourceVersion } = session.metadata;
    const body = [
      { op: 'test', path: '/metadata/uid', value: uid },
      ...(resourceVersion && testResourceVersion
        ? [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }]
        : []),
      ...ops,
    ];
    const request = { group: GROUP, version: VERSION, plural: PLURAL.agentSession, namespace, name, body };
    const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    try {
      const patched: unknown =
        subresource === 'status'
          ? await customObjects.patchNamespacedCustomObjectStatus(request, json)
          : await customObjects.patchNamespacedCustomObject(request, json);
      return patched as AgentSession;
    } catch (error) {
      const code = httpStatusOf(error);
      if (code === 404 || code === 409 || code === 422) {
        logger.debug(
          { session: `${namespace}/${name}`, code },
          'AgentSession changed before the write; deciding again',
        );
        return undefined;
      }
      throw error;
    }
  };

  /**
   * Carries out `action`; throws when it could not, so its bookkeeping is not recorded. Returns
   * the CR as it is afterwards when the action wrote it, or undefined when the CR changed under
   * the write (its next event decides again).
   */
  const execute = async (
    session: AgentSession,
    workflowId: string,
    action: SessionAction,
  ): Promise<AgentSession | undefined | typeof REFUSED_BEFORE_LOOK_UP> => {
    switch (action.kind) {
      case 'nothing':
        if (action.reason === 'owns-latest-run') {
          counters.alreadyStarted += 1;
          logger.debug({ workflowId }, 'session already has its workflow');
        } else if (action.reason === 'run-of-newer-session') {
          logger.debug({ workflowId }, 'deleted session does not own the running workflow');
        }
        return session;
      case 'start': {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, false),
          eager,
          ...(action.restartGeneration === undefined ? {} : { restartGeneration: action.restartGeneration }),
          ...(action.firstRun ? { firstRun: true } : {}),
        });
        if (result.outcome === 'started') {
          counters.started += 1;
          logger.info({ workflowId, ...result }, 'session workflow started');
        } else if (action.beforeLookUp) {
          return REFUSED_BEFORE_LOOK_UP;
        } else {
          // Another replica (or the API) started it between our look and our start; if that run
          // has closed already, the next resync sees it.
          counters.alreadyStarted += 1;
          logger.debug({ workflowId }, 'session workflow was already started');
        }
        return session;
      }
      case 'cancel-other-run':
        // The run belongs to an earlier CR of the same name, deleted while its workflow ran on.
        logger.info(
          { workflowId, runId: action.runId, previousUid: action.previousUid },
          'cancelling the workflow of a deleted session that had the same name',
        );
        try {
          await client.workflow.getHandle(workflowId, action.runId).cancel();
          counters.cancelsSent += 1;
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        return session;
      case 'record-stop-request':
        return patchGuarded(session, recordStopOps(session, action.generation), undefined);
      case 'clear-stop-request':
        logger.debug(
          { workflowId, stopGeneration: action.stopGeneration },
          'restart done; stop record removed',
        );
        return patchGuarded(session, clearStopOps(), undefined);
      case 'signal-stop':
        try {
          // To the run of this CR only: the latest run by id alone could be an earlier CR's.
          await client.workflow
            .getHandle(workflowId, action.runId)
            .signal(stopSignal, { reason: action.reason });
          counters.stopsSent += 1;
          logger.info({ workflowId, runId: action.runId, generation: action.generation }, 'stop signalled');
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          logger.debug({ workflowId }, 'no running workflow to stop');
        }
        return session;
      case 'hold': {
        const patched = await patchGuarded(
          session,
          [{ op: 'add', path: '/status', value: heldStatus(action.generation, new Date()) }],
          'status',
        );
        if (patched) logger.info({ workflowId }, 'session held: created with desiredState Stopped');
        return patched;
      }
      case 'wait-for-close':
        logger.debug({ workflowId, runId: action.runId }, 'waiting for the run to close before restarting');
        return session;
      case 'restart-as-new-run': {
        const result = await startSessionWorkflow(client, {
          taskQueue,
          input: workflowInput(session, true),
          restartGeneration: action.generation,
          eager,
        });
        if (result.outcome === 'started') {
          counters.restartsSent += 1;
          logger.info(
            { workflowId, ...result, generation: action.generation },
            'session restarted as a new run',
          );
        } else {
          logger.debug(
            { workflowId, generation: action.generation },
            'another replica restarted the session',
          );
        }
        return session;
      }
      case 'mark-closed': {
        const status = closedRunStatus(
          session.status,
          { workflowId, runId: action.runId, close: action.close },
          new Date(),
        );
        const patched = await patchGuarded(
          session,
          [{ op: 'add', path: '/status', value: status }],
          'status',
        );
        if (patched) {
          counters.closedRunsMarked += 1;
          logger.warn(
            { workflowId, runId: action.runId, close: action.close },
            'session workflow closed without a final status; marked Failed',
          );
        }
        return patched;
      }
      case 'cancel-deleted':
        try {
          await client.workflow.getHandle(workflowId, action.runId).cancel();
          counters.cancelsSent += 1;
          logger.info({ workflowId, runId: action.runId }, 'session deleted; workflow cancelled');
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        return session;
    }
  };

  /** Looks at the CR again after a backoff, a bounded number of times; the resync does the rest. */
  const lookAgainLater = (key: string): void => {
    const looks = requeued.get(key) ?? 0;
    if (stopped || looks >= MAX_REQUEUES) return;
    requeued.set(key, looks + 1);
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const [namespace, name] = key.split('/') as [string, string];
        const current = informer.get(name, namespace || undefined);
        if (current && !stopped) {
          counters.requeues += 1;
          enqueue(current as unknown as AgentSession, { deleted: false });
        }
      },
      Math.min(requeueBackoffMs * 2 ** looks, MAX_REQUEUE_DELAY_MS),
    );
    timer.unref();
    timers.add(timer);
  };

  /**
   * Decides about the CR, looking up its latest run only when the decision needs it, and acts;
   * after an action that changed what the decision sees, decides again (a bounded number of
   * times) so that, say, a recorded stop is signalled in the same reconcile.
   */
  const reconcile = async (key: string, first: ObservedSession): Promise<AgentSession | undefined> => {
    // A deleted CR's bookkeeping goes with it; a CR created again under the name starts afresh.
    if (first.deleted) handled.delete(key);
    let observed = first;
    for (let step = 0; step < MAX_STEPS; step += 1) {
      const { session } = observed;
      const workflowId = sessionWorkflowId(session.metadata.namespace ?? '', session.metadata.name);
      const early = decide(observed, NOT_LOOKED_UP, handled.get(key));
      let action =
        early.kind === 'look-up-latest-run'
          ? decide(observed, await lookUpLatestRun(workflowId), handled.get(key))
          : early;
      let after = await execute(session, workflowId, action);
      if (after === REFUSED_BEFORE_LOOK_UP) {
        // The id has had a run (this CR's, started by the API; or an earlier CR's): look it up.
        action = decide(observed, await lookUpLatestRun(workflowId), handled.get(key));
        const next = await execute(session, workflowId, action);
        after = next === REFUSED_BEFORE_LOOK_UP ? undefined : next;
      }
      const record = 'record' in action ? action.record : undefined;
      const { uid } = session.metadata;
      if (record && uid) {
        const entry = handled.get(key);
        handled.set(key, { ...(entry?.uid === uid ? entry : { uid }), ...record });
      }
      if (LOOK_AGAIN.has(action.kind)) {
        lookAgainLater(key);
        return after;
      }
      requeued.delete(key);
      if (!after || !DECIDE_AGAIN.has(action.kind)) return after;
      observed = { session: after, deleted: false };
    }
    return observed.session;
  };

  /** Looks at the CR again once, after `delayMs` (a prompt claim of another replica expiring). */
  const lookAgainAt = (key: string, delayMs: number): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const [namespace, name] = key.split('/') as [string, string];
      const current = informer.get(name, namespace || undefined);
      if (current && !stopped) enqueue(current as unknown as AgentSession, { deleted: false });
    }, delayMs);
    timer.unref();
    timers.add(timer);
  };

  /**
   * Sends the prompt of the CR's `shepherd.dev/prompt` annotation, claiming it first, and settles
   * it (prompt-annotation.ts). A prompt the workflow did not answer in time stays claimed, and is
   * sent again with the same Update id at the next event or resync.
   */
  const takePrompt = async (key: string, first: AgentSession): Promise<void> => {
    let session = first;
    // At most: claim, then send or refuse (a claim that loses its race waits for the next event).
    for (let round = 0; round < 2; round += 1) {
      const step = promptStep(session, {
        holder,
        now: Date.now(),
        leaseMs: promptLeaseMs,
        nonce: () => newHolderId(),
      });
      const { namespace = '', name } = session.metadata;
      switch (step.kind) {
        case 'none':
          return;
        case 'wait':
          lookAgainAt(key, step.retryInMs);
          return;
        case 'claim': {
          const claimed = await patchGuarded(session, step.ops, undefined);
          if (!claimed) return;
          session = claimed;
          continue;
        }
        case 'refuse':
        case 'send': {
          let settlement: PromptSettlement;
          if (step.kind === 'refuse') {
            settlement = { outcome: 'refused', message: step.message };
          } else {
            // As the API does: a phase that cannot take a prompt refuses it without a wait.
            const input = { prompt: step.prompt, source: 'kubectl' as const };
            const refusal = phaseRefusal(name, session.status ?? {}, input, 'prompt');
            const outcome: PromptOutcome = refusal
              ? { outcome: 'refused', message: refusal }
              : await sendSessionPrompt(client, namespace, name, input, 'prompt', {
                  updateId: step.updateId,
                  ...promptOptions,
                });
            if (outcome.outcome === 'unanswered') {
              logger.warn({ session: key }, outcome.message);
              return;
            }
            settlement =
              outcome.outcome === 'accepted'
                ? { outcome: 'accepted' }
                : {
                    outcome: 'refused',
                    message:
                      outcome.outcome === 'refused'
                        ? outcome.message
                        : `session ${name} has no workflow to take the prompt (it has not started, or its history is gone)`,
                  };
            if (outcome.outcome === 'accepted') {
              logger.info({ session: key, turn: outcome.turn }, 'prompt from the annotation taken');
            }
          }
          const settled = await patchGuarded(session, settleOps(session, step.claim, settlement), undefined, {
            testResourceVersion: false,
          });
          if (settled) {
            if (settlement.outcome === 'accepted') counters.promptsTaken += 1;
            else {
              counters.promptsRefused += 1;
              logger.info({ session: key, reason: settlement.message }, 'prompt from the annotation refused');
            }
          }
          return;
        }
      }
    }
  };

  /** Queues the newest state of a CR; several events for one CR coalesce into one task. */
  const enqueue = (session: AgentSession, how: { deleted: boolean; resync?: boolean }): void => {
    const key = keyOf(session);
    if (how.deleted) runChecks.forget(key);
    const queued = latest.get(key);
    // A resync coalesced with an event still checks the run.
    const resync = how.resync === true || (queued?.resync === true && !how.deleted);
    latest.set(key, { session, deleted: how.deleted, ...(resync ? { resync } : {}) });
    if (queued) return;
    loop.push(key, async () => {
      const item = latest.get(key);
      latest.delete(key);
      if (!item) return;
      try {
        const successor = item.deleted
          ? informer.get(item.session.metadata.name, item.session.metadata.namespace)
          : undefined;
        const current = await reconcile(
          key,
          successor ? { ...item, successor: successor as unknown as AgentSession } : item,
        );
        if (current && !item.deleted) await takePrompt(key, current);
      } catch (error) {
        counters.failures += 1;
        logger.warn(
          { session: key, error: (error as Error).message },
          'could not reconcile an AgentSession with its workflow; the next resync retries',
        );
      }
    });
  };

  const sessions = customObjectCollection(customObjects, {
    group: GROUP,
    version: VERSION,
    plural: PLURAL.agentSession,
  });
  const informer = watchedInformer(kubeConfig, 'agentsessions', options.namespaces, sessions, {
    ...(labelSelector ? { labelSelector } : {}),
  });
  // The informer is typed by client-node's object shape; the API returns plain AgentSession JSON.
  const onChange = (object: KubernetesObject) =>
    enqueue(object as unknown as AgentSession, { deleted: false });
  informer.on('add', onChange);
  informer.on('update', onChange);
  informer.on('delete', (object) => enqueue(object as unknown as AgentSession, { deleted: true }));

  const resyncOnce = async ({ relist, requested }: ResyncScope): Promise<void> => {
    const startedAt = Date.now();
    const listed = relist
      ? await listWatched(options.namespaces, sessions, { ...(labelSelector ? { labelSelector } : {}) })
      : informer.cached();
    const seen = new Set<string>();
    for (const object of listed) {
      // The informer's copy is usually newer than a list that took a while.
      const { name, namespace } = object.metadata ?? {};
      const cached = relist && name ? informer.get(name, namespace) : undefined;
      const session = (cached ?? object) as unknown as AgentSession;
      const key = keyOf(session);
      seen.add(key);
      if (requested) runChecks.checked(key, startedAt);
      enqueue(session, { deleted: false, resync: requested || runChecks.due(key, startedAt) });
    }
    runChecks.keepOnly(seen);
    logger.debug(
      { sessions: listed.length, relist, durationMs: Date.now() - startedAt },
      'session resync queued',
    );
  };

  const loop = createReconcileLoop({
    name: 'session controller',
    logger,
    resync: resyncOnce,
    resyncIntervalMs,
    ...(options.relistIntervalMs === undefined ? {} : { relistIntervalMs: options.relistIntervalMs }),
    // The caller of resyncNow wants the reconciles done, not just queued.
    resyncWaitsForQueue: true,
    informers: informer.informers,
    ...(options.informerRestartBackoffMs === undefined
      ? {}
      : { informerRestartBackoffMs: options.informerRestartBackoffMs }),
    ...(options.maxCallsInFlight === undefined ? {} : { concurrency: options.maxCallsInFlight }),
    logFields: { taskQueue, labelSelector, namespaces: options.namespaces ?? 'all' },
  });

  return {
    start: () => {
      stopped = false;
      return loop.start();
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await loop.stop();
    },
    resyncNow: () => loop.resyncNow(),
    stats() {
      const { resyncs, informerRestarts } = loop.stats();
      return { ...counters, resyncs, informerRestarts };
    },
  };
}
