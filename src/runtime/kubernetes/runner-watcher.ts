/**
 * The one Job/Pod watcher of a worker process. It watches every runner Job and pod of the cluster
 * or of the namespaces it is limited to (watch-scope.ts), or of a shard by label selector, and
 * signals the owning session workflow when a runner starts and when it ends. This replaces a heartbeating "wait for the Job" activity with a watch of its
 * own per session, which would hold 1,000 activity slots and 1,000 watches for 1,000 sessions.
 *
 * Events are derived from the objects' current state (runner-events.ts), never from the kind of
 * watch event, so the same code serves the informers and the periodic resync: the resync goes
 * over what the informers hold and re-sends whatever the workflows have not been told yet (a
 * signal that failed), and every relist interval lists the runner Jobs and pods from the API
 * server instead. A missed watch event therefore costs at most one relist interval, and a Job that
 * finished without a pod (deleted, garbage-collected) a minute, never a stranded session; a
 * worker that was down when a runner ended learns it from its informers' first lists.
 *
 * A runner whose pod the cluster refuses (admission, quota) has no pod to watch: the Job controller
 * only records `FailedCreate` Events on its Job. A third informer, over those Events alone (one
 * field-selected watch for the cluster, or per watched namespace, whatever the number of
 * sessions), ends such an attempt within seconds with the API server's own message.
 *
 * Each attempt's last sent `started` and `ended` are remembered, so an unchanged state is not sent
 * again; the workflow tolerates duplicates, so forgetting (after a restart) is harmless.
 */
import {
  BatchV1Api,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { COMPONENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../resources/constants.js';
import { type RunnerEvent, runnerEventSignal, sessionWorkflowId } from '../../workflows/session-contract.js';
import { createReconcileLoop, type ResyncScope } from '../../reconcile/reconcile-loop.js';
import {
  type ListParams,
  type WatchNamespaces,
  listWatched,
  watchedInformer,
} from '../../reconcile/watch-scope.js';
import {
  type RunnerRef,
  attemptKey,
  jobFinishedBefore,
  runnerEvents,
  runnerRefOfJob,
  runnerRefOfPod,
  sessionKey,
} from './runner-events.js';
import { FAILED_CREATE_FIELD_SELECTOR, type PodRefusal, podRefusalOfEvent } from './pod-refusals.js';

/** Selects runner Jobs and their pods: every runner carries both labels. */
export const RUNNER_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${COMPONENT_LABEL}=runner`;

/**
 * How long after its Job finished a runner whose pod is not in the informer's cache counts as
 * having lost its pod (deleted, garbage-collected) rather than as a pod watch running behind.
 */
const POD_CACHE_GRACE_MS = 60_000;

/** Dependencies and tuning of the runner watcher. */
export interface RunnerWatcherOptions {
  /** Where the runners run. Needs list and watch on pods, jobs and events in the watched namespaces. */
  kubeConfig: KubeConfig;
  /** The namespaces whose runners are watched. @default every namespace */
  namespaces?: WatchNamespaces;
  /** Signals the session workflows. */
  client: Client;
  logger: Logger;
  /**
   * Narrows the watch to a shard of the runners (ANDed with `RUNNER_SELECTOR`), for several
   * workers that split the sessions between them by a label on the pod template.
   */
  labelSelector?: string;
  /**
   * How often the level-triggered resync goes over every runner; 0 turns it off (`resyncNow`
   * still works).
   * @default 30000
   */
  resyncIntervalMs?: number;
  /**
   * How often a resync lists the runners from the API server rather than the informers' caches.
   * @default 600000
   */
  relistIntervalMs?: number;
  /**
   * Told of every event signalled: how long after the watcher saw the change the workflow had it,
   * and when the attempt's Job was created (for the attempt's duration), when known.
   */
  observeSignal?: (event: RunnerEvent, lagMs: number, attemptStartedAt?: Date) => void;
  /**
   * The most signals in flight at once. A burst beyond it queues; informer callbacks never wait.
   * @default 50
   */
  maxSignalsInFlight?: number;
  /**
   * The first wait before restarting an informer that stopped on an error; doubles up to 30 s.
   * @default 1000
   */
  informerRestartBackoffMs?: number;
}

/** Counters for logs, metrics and tests. */
export interface RunnerWatcherStats {
  /** Signals the workflows accepted. */
  signalsSent: number;
  /** Signals to a workflow that does not exist or has closed (ignored). */
  signalsToMissingWorkflows: number;
  /** Signals that failed otherwise; the next resync sends them again. */
  signalsFailed: number;
  /** Signals running now and waiting. */
  signalsInFlight: number;
  signalsQueued: number;
  /** Attempts with a remembered last event. */
  trackedAttempts: number;
  /** Completed resyncs, and events they sent that the informers had not. */
  resyncs: number;
  resyncEvents: number;
  /** Informer restarts after errors, pods, jobs and events together. */
  informerRestarts: number;
}

/** The watcher: one per worker process. */
export interface RunnerWatcher {
  /** Starts the informers and the periodic resync. */
  start(): Promise<void>;
  /** Stops watching and waits (at most a few seconds) for the signals already queued. */
  stop(): Promise<void>;
  /** Lists every runner now and sends what the workflows have not been told; also works when stopped. */
  resyncNow(): Promise<void>;
  stats(): RunnerWatcherStats;
}

/** What the watcher knows of one attempt from its informers. */
interface AttemptObjects {
  ref: RunnerRef;
  job?: V1Job;
  pods: Map<string, V1Pod>;
}

/** The last event sent for an attempt, as compared JSON, and when it was recorded. */
interface SentEvents {
  started?: string;
  ended?: string;
  recordedAt: number;
}

/** Creates the runner watcher. Nothing runs until `start`. */
export function createRunnerWatcher(options: RunnerWatcherOptions): RunnerWatcher {
  const { kubeConfig, client, logger } = options;
  const resyncIntervalMs = options.resyncIntervalMs ?? 30_000;
  const selector = options.labelSelector ? `${RUNNER_SELECTOR},${options.labelSelector}` : RUNNER_SELECTOR;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const batch = kubeConfig.makeApiClient(BatchV1Api);

  const attempts = new Map<string, AttemptObjects>();
  /** The attempt of each known runner Job, by `<namespace>/<job name>`, to find it from an Event. */
  const attemptOfJob = new Map<string, string>();
  /** `FailedCreate` refusals by `<namespace>/<job name>`, then by Event name (events can precede their Job in the cache). */
  const refusals = new Map<string, Map<string, PodRefusal>>();
  const jobKeyOf = (namespace: string, name: string) => `${namespace}/${name}`;
  const refusalsOfJob = (job: V1Job | undefined): PodRefusal[] => {
    const { namespace, name } = job?.metadata ?? {};
    if (!namespace || !name) return [];
    return [...(refusals.get(jobKeyOf(namespace, name))?.values() ?? [])];
  };
  const sent = new Map<string, SentEvents>();
  /** Events queued but not yet sent, by `<attempt key>#<kind>`, so a repeat is not queued twice. */
  const pending = new Map<string, string>();
  const counters = {
    signalsSent: 0,
    signalsToMissingWorkflows: 0,
    signalsFailed: 0,
    resyncEvents: 0,
  };

  const markSent = (key: string, event: RunnerEvent, fingerprint: string): void => {
    const entry = sent.get(key) ?? { recordedAt: 0 };
    entry[event.kind] = fingerprint;
    entry.recordedAt = Date.now();
    sent.set(key, entry);
  };

  /** Queues `event` for its workflow unless it is what was last sent or is already queued. Returns whether it was queued. */
  const dispatch = (ref: RunnerRef, event: RunnerEvent): boolean => {
    const key = attemptKey(ref);
    const fingerprint = JSON.stringify(event);
    const pendingKey = `${key}#${event.kind}`;
    if (sent.get(key)?.[event.kind] === fingerprint || pending.get(pendingKey) === fingerprint) return false;
    pending.set(pendingKey, fingerprint);
    const workflowId = sessionWorkflowId(ref.namespace, ref.session);
    const queuedAt = Date.now();
    // One key per session keeps a runner's `started` ahead of its `ended`.
    loop.push(sessionKey(ref), async () => {
      try {
        if (sent.get(key)?.[event.kind] === fingerprint) return;
        const signalAt = Date.now();
        await client.workflow.getHandle(workflowId).signal(runnerEventSignal, event);
        counters.signalsSent += 1;
        markSent(key, event, fingerprint);
        options.observeSignal?.(
          event,
          Date.now() - queuedAt,
          attempts.get(key)?.job?.metadata?.creationTimestamp,
        );
        logger.debug(
          { workflowId, event, queuedMs: signalAt - queuedAt, signalMs: Date.now() - signalAt },
          'runner event signalled',
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          // The session ended (or never had a workflow): nobody is waiting for this runner.
          counters.signalsToMissingWorkflows += 1;
          markSent(key, event, fingerprint);
          logger.debug({ workflowId, kind: event.kind }, 'no running workflow for a runner event; ignored');
        } else {
          counters.signalsFailed += 1;
          logger.warn(
            { workflowId, kind: event.kind, error: (error as Error).message },
            'could not signal a runner event; the next resync sends it again',
          );
        }
      } finally {
        if (pending.get(pendingKey) === fingerprint) pending.delete(pendingKey);
      }
    });
    return true;
  };

  /**
   * Sends what the attempt's objects say and the workflow has not been told; returns how many.
   * With `podlessBefore`, a Job that finished before it and has no pod in the cache is reported
   * too: its pod is gone, not late.
   */
  const evaluate = (objects: AttemptObjects, podlessBefore?: number): number => {
    const known = {
      refusals: refusalsOfJob(objects.job),
      finishedJobWithoutPod: podlessBefore !== undefined && jobFinishedBefore(objects.job, podlessBefore),
    };
    let sentNow = 0;
    for (const event of runnerEvents(objects.ref, objects.job, [...objects.pods.values()], known)) {
      if (dispatch(objects.ref, event)) sentNow += 1;
    }
    return sentNow;
  };

  const objectsOf = (ref: RunnerRef): AttemptObjects => {
    const key = attemptKey(ref);
    let objects = attempts.get(key);
    if (!objects) {
      objects = { ref, pods: new Map() };
      attempts.set(key, objects);
    }
    return objects;
  };

  /** Forgets an attempt once neither its Job nor any pod of it exists. */
  const forgetIfGone = (objects: AttemptObjects): void => {
    if (objects.job || objects.pods.size > 0) return;
    const key = attemptKey(objects.ref);
    attempts.delete(key);
    sent.delete(key);
  };

  const pods = {
    path: '/api/v1/pods',
    listAll: (params: ListParams) => core.listPodForAllNamespaces(params),
    listIn: (namespace: string, params: ListParams) => core.listNamespacedPod({ ...params, namespace }),
  };
  const jobs = {
    path: '/apis/batch/v1/jobs',
    listAll: (params: ListParams) => batch.listJobForAllNamespaces(params),
    listIn: (namespace: string, params: ListParams) => batch.listNamespacedJob({ ...params, namespace }),
  };
  const events = {
    path: '/api/v1/events',
    listAll: (params: ListParams) => core.listEventForAllNamespaces(params),
    listIn: (namespace: string, params: ListParams) => core.listNamespacedEvent({ ...params, namespace }),
  };
  const { namespaces } = options;
  const podInformer = watchedInformer<V1Pod>(kubeConfig, 'runner-pods', namespaces, pods, {
    labelSelector: selector,
  });
  const jobInformer = watchedInformer<V1Job>(kubeConfig, 'runner-jobs', namespaces, jobs, {
    labelSelector: selector,
  });
  const eventInformer = watchedInformer<CoreV1Event>(kubeConfig, 'runner-refusals', namespaces, events, {
    fieldSelector: FAILED_CREATE_FIELD_SELECTOR,
  });

  const onPod = (pod: V1Pod): void => {
    const ref = runnerRefOfPod(pod);
    const name = pod.metadata?.name;
    if (!ref || !name) return;
    const objects = objectsOf(ref);
    objects.pods.set(name, pod);
    evaluate(objects);
  };
  const onPodDeleted = (pod: V1Pod): void => {
    const ref = runnerRefOfPod(pod);
    const objects = ref && attempts.get(attemptKey(ref));
    if (!objects) return;
    objects.pods.delete(pod.metadata?.name ?? '');
    forgetIfGone(objects);
  };
  const onJob = (job: V1Job): void => {
    const ref = runnerRefOfJob(job);
    if (!ref) return;
    const objects = objectsOf(ref);
    objects.job = job;
    const { namespace, name } = job.metadata ?? {};
    if (namespace && name) attemptOfJob.set(jobKeyOf(namespace, name), attemptKey(ref));
    evaluate(objects);
  };
  const onJobDeleted = (job: V1Job): void => {
    const ref = runnerRefOfJob(job);
    const objects = ref && attempts.get(attemptKey(ref));
    if (!objects) return;
    delete objects.job;
    const { namespace, name } = job.metadata ?? {};
    if (namespace && name) attemptOfJob.delete(jobKeyOf(namespace, name));
    forgetIfGone(objects);
  };
  const onRefusal = (event: CoreV1Event): void => {
    const located = podRefusalOfEvent(event);
    if (!located) return;
    const jobKey = jobKeyOf(located.namespace, located.jobName);
    const ofJob = refusals.get(jobKey) ?? new Map<string, PodRefusal>();
    ofJob.set(located.eventName, located.refusal);
    refusals.set(jobKey, ofJob);
    const attempt = attemptOfJob.get(jobKey);
    const objects = attempt === undefined ? undefined : attempts.get(attempt);
    if (objects) evaluate(objects);
  };
  const onRefusalDeleted = (event: CoreV1Event): void => {
    const located = podRefusalOfEvent(event);
    if (!located) return;
    const jobKey = jobKeyOf(located.namespace, located.jobName);
    const ofJob = refusals.get(jobKey);
    ofJob?.delete(located.eventName);
    if (ofJob?.size === 0) refusals.delete(jobKey);
  };
  podInformer.on('add', onPod);
  podInformer.on('update', onPod);
  podInformer.on('delete', onPodDeleted);
  jobInformer.on('add', onJob);
  jobInformer.on('update', onJob);
  jobInformer.on('delete', onJobDeleted);
  eventInformer.on('add', onRefusal);
  eventInformer.on('update', onRefusal);
  eventInformer.on('delete', onRefusalDeleted);

  /** Re-sends, from the informers' state, what the workflows have not been told yet. */
  const resyncCached = (): void => {
    const startedAt = Date.now();
    let resent = 0;
    const podlessBefore = startedAt - POD_CACHE_GRACE_MS;
    for (const objects of attempts.values()) resent += evaluate(objects, podlessBefore);
    counters.resyncEvents += resent;
    const log = resent > 0 ? logger.info.bind(logger) : logger.debug.bind(logger);
    log(
      { runners: attempts.size, eventsSent: resent, durationMs: Date.now() - startedAt },
      resent > 0 ? 'resync sent runner events not yet delivered' : 'resync found nothing to send',
    );
  };

  const resyncOnce = async ({ relist, requested }: ResyncScope): Promise<void> => {
    if (!relist) {
      resyncCached();
      return;
    }
    const startedAt = Date.now();
    // Jobs first, then pods: a pod that existed when its finished Job was listed is still in the
    // pod list unless it was deleted meanwhile, so "finished Job without a pod" is never a lag.
    const jobList = await listWatched(namespaces, jobs, { labelSelector: selector });
    const podList = await listWatched(namespaces, pods, { labelSelector: selector });
    // The refusals are listed only when asked for: the API server keeps no watch cache of Events,
    // so the field-selected list makes etcd read every Event of the cluster (at 7,700 sessions,
    // etcd went from 0.7 to 4.3 GiB during one). Otherwise the Event informer's are used; a
    // refusal it missed is still found by the workflow's own check of its runner.
    const listedRefusals = requested ? new Map<string, PodRefusal[]>() : undefined;
    if (listedRefusals) {
      for (const event of await listWatched(namespaces, events, {
        fieldSelector: FAILED_CREATE_FIELD_SELECTOR,
      })) {
        const located = podRefusalOfEvent(event);
        if (!located) continue;
        const jobKey = jobKeyOf(located.namespace, located.jobName);
        listedRefusals.set(jobKey, [...(listedRefusals.get(jobKey) ?? []), located.refusal]);
      }
    }
    const listed = new Map<string, { ref: RunnerRef; job?: V1Job; pods: V1Pod[] }>();
    const entry = (ref: RunnerRef) => {
      const key = attemptKey(ref);
      let found = listed.get(key);
      if (!found) {
        found = { ref, pods: [] };
        listed.set(key, found);
      }
      return found;
    };
    for (const job of jobList) {
      const ref = runnerRefOfJob(job);
      if (ref) entry(ref).job = job;
    }
    for (const pod of podList) {
      const ref = runnerRefOfPod(pod);
      if (ref) entry(ref).pods.push(pod);
    }
    let resent = 0;
    for (const { ref, job, pods: attemptPods } of listed.values()) {
      const jobRefusals = !listedRefusals
        ? refusalsOfJob(job)
        : job?.metadata?.name
          ? (listedRefusals.get(jobKeyOf(ref.namespace, job.metadata.name)) ?? [])
          : [];
      const options = { finishedJobWithoutPod: true, refusals: jobRefusals };
      for (const event of runnerEvents(ref, job, attemptPods, options)) {
        if (dispatch(ref, event)) resent += 1;
      }
    }
    // Forget attempts whose objects vanished without the informer noticing (a delete during a
    // watch gap). An entry recorded after the lists began may belong to an object they missed.
    for (const [key, entrySent] of sent) {
      if (!listed.has(key) && entrySent.recordedAt < startedAt) sent.delete(key);
    }
    counters.resyncEvents += resent;
    const log = resent > 0 ? logger.info.bind(logger) : logger.debug.bind(logger);
    log(
      { runners: listed.size, eventsSent: resent, durationMs: Date.now() - startedAt },
      resent > 0 ? 'resync found runner events the watch had missed' : 'resync found nothing missed',
    );
  };

  const loop = createReconcileLoop({
    name: 'runner watcher',
    logger,
    resync: resyncOnce,
    resyncIntervalMs,
    ...(options.relistIntervalMs === undefined ? {} : { relistIntervalMs: options.relistIntervalMs }),
    informers: { ...jobInformer.informers, ...podInformer.informers, ...eventInformer.informers },
    ...(options.informerRestartBackoffMs === undefined
      ? {}
      : { informerRestartBackoffMs: options.informerRestartBackoffMs }),
    ...(options.maxSignalsInFlight === undefined ? {} : { concurrency: options.maxSignalsInFlight }),
    logFields: { labelSelector: selector, namespaces: namespaces ?? 'all' },
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    resyncNow: () => loop.resyncNow(),
    stats() {
      const loopStats = loop.stats();
      return {
        ...counters,
        signalsInFlight: loopStats.active,
        signalsQueued: loopStats.queued,
        trackedAttempts: sent.size,
        resyncs: loopStats.resyncs,
        informerRestarts: loopStats.informerRestarts,
      };
    },
  };
}
