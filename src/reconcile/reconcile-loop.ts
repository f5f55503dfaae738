/**
 * The one level-triggered loop behind every reconciler of the worker: the runner watcher, the
 * AgentSession controller, the local runner watcher and the provider status reconciler. Each of
 * them owns only what it compares; the loop owns the machinery they all need and that is easy to
 * get subtly wrong when written four times:
 *
 * - informers, supervised so that one stopped on an error is started again;
 * - a keyed task queue with bounded concurrency, so informer callbacks never wait;
 * - a periodic resync (an interval after the previous one ended, never two at once) that goes
 *   over the informers' caches, and only every `relistIntervalMs` lists the world from the API
 *   server again: at 10,000 sessions a list of every Job, pod and AgentSession every 30 s was most
 *   of the leader's and the API server's CPU, and the watches already carry every change;
 * - `resyncNow`, which always lists and checks everything (a caller asking while such a resync
 *   runs joins it);
 * - a stop that waits for a resync in progress and drains the queue for a bounded time (what is
 *   left is redone by the next start's resync, so waiting longer would only delay a shutdown).
 */
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.js';
import { KeyedTaskQueue, type Task } from './keyed-task-queue.js';
import { type SupervisedInformer, superviseInformer } from './supervised-informer.js';

/** What one resync goes over. */
export interface ResyncScope {
  /** List the world from the API server, rather than go over the informers' caches. */
  relist: boolean;
  /** Asked for by `resyncNow`: check everything now, rather than spread costly checks over time. */
  requested: boolean;
}

/** What a loop reconciles and how. */
export interface ReconcileLoopOptions {
  /** Names the loop in logs, e.g. `runner watcher`. */
  name: string;
  logger: Logger;
  /**
   * Goes over the world (listed from the API server, or as the informers hold it, as `scope`
   * says) and reconciles it: pushes a task per object that needs one onto the loop's queue, or
   * does the work itself. A rejection is logged and the next interval tries again.
   */
  resync: (scope: ResyncScope) => Promise<void>;
  /** How long after a periodic resync ends the next one starts; 0 turns the timer off (`resyncNow` still works). */
  resyncIntervalMs: number;
  /**
   * How long after a relist began a periodic resync lists again rather than reading the caches;
   * 0 relists at every resync. The informers' own first lists count as the first relist.
   * @default 600000
   */
  relistIntervalMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
  /**
   * Whether the first periodic resync runs right after `start` rather than one interval later.
   * @default false
   */
  resyncAtStart?: boolean;
  /**
   * Whether a resync is done only once the queue is idle, i.e. the tasks it pushed have run:
   * `resyncNow` resolves then. The next periodic resync is timed from then too, but waits at most
   * one more interval for it: with thousands of objects changing all the time the queue may never
   * be idle, and the periodic resyncs must not stop.
   * @default false
   */
  resyncWaitsForQueue?: boolean;
  /**
   * Informers that push tasks between resyncs, by the name their logs carry. Their handlers are
   * registered by the owner; the loop starts, supervises and stops them.
   * @default {}
   */
  informers?: Record<string, Informer<KubernetesObject>>;
  /**
   * The first wait before restarting an informer that stopped on an error; doubles up to 30 s.
   * @default 1000
   */
  informerRestartBackoffMs?: number;
  /**
   * The most queued tasks running at once.
   * @default 50
   */
  concurrency?: number;
  /**
   * How long `stop` waits for queued tasks before leaving them to the next start's resync.
   * @default 5000
   */
  stopDrainMs?: number;
  /**
   * Fields added to the loop's `started` log line, e.g. its label selector.
   * @default {}
   */
  logFields?: object;
}

/** Counters for logs, metrics and tests. */
export interface ReconcileLoopStats {
  /** Resyncs that completed (a failed one is not counted). */
  resyncs: number;
  /** Restarts of the informers after errors, all informers together. */
  informerRestarts: number;
  /** Queued tasks running now. */
  active: number;
  /** Queued tasks waiting. */
  queued: number;
}

/** A running (or stopped) loop. */
export interface ReconcileLoop {
  /** Starts the informers and the periodic resync; resolves once the informers' first lists were attempted. */
  start(): Promise<void>;
  /** Stops the timer and the informers, waits for a resync in progress, and drains the queue for at most `stopDrainMs`. */
  stop(): Promise<void>;
  /**
   * Relists and checks everything now, or joins such a resync in progress (a periodic one in
   * progress is let finish first); also works when stopped. Rejects when the resync fails.
   */
  resyncNow(): Promise<void>;
  /** Queues `task` behind the earlier tasks of `key`; returns at once. */
  push(key: string, task: Task): void;
  /** Resolves once no queued task is running or waiting. */
  onIdle(): Promise<void>;
  stats(): ReconcileLoopStats;
}

/** Creates a loop; nothing runs until `start`. */
export function createReconcileLoop(options: ReconcileLoopOptions): ReconcileLoop {
  const { name, logger, resync, resyncIntervalMs } = options;
  const stopDrainMs = options.stopDrainMs ?? 5000;
  const queue = new KeyedTaskQueue(options.concurrency ?? 50);
  const informers: SupervisedInformer[] = Object.entries(options.informers ?? {}).map(
    ([informerName, informer]) =>
      superviseInformer(informer, {
        name: informerName,
        logger,
        initialBackoffMs: options.informerRestartBackoffMs ?? 1000,
      }),
  );
  let running = false;
  /** Counts starts, so a timer chain of an earlier start ends instead of running beside the new one. */
  let startCount = 0;
  let timer: NodeJS.Timeout | undefined;
  const now = options.now ?? Date.now;
  const relistIntervalMs = options.relistIntervalMs ?? 600_000;
  let lastRelistAt = Number.NEGATIVE_INFINITY;
  /** The resync in progress: its listing only, without the wait for the queue. */
  let resyncing: { done: Promise<void>; requested: boolean } | undefined;
  let resyncs = 0;
  /** Ends the waits of periodic resyncs for the queue, at stop. */
  const stopWaits = new Set<() => void>();
  let idle: Promise<void> | undefined;

  /** Runs a resync of `scope`, after `before` when given (otherwise at once). */
  const run = (scope: ResyncScope, before?: Promise<void>): Promise<void> => {
    const begin = async (): Promise<void> => {
      const startedAt = now();
      await resync(scope);
      // A failed relist is tried again at the next interval, not a relist interval later.
      if (scope.relist) lastRelistAt = startedAt;
    };
    const done = (before ? before.then(begin) : begin())
      .then(() => {
        resyncs += 1;
      })
      .finally(() => {
        if (resyncing?.done === done) resyncing = undefined;
      });
    resyncing = { done, requested: scope.requested };
    return done;
  };

  const settled = (): Promise<void> => (resyncing?.done ?? Promise.resolve()).catch(() => undefined);

  const resyncNow = (): Promise<void> => {
    // Overlapping resyncs would list twice for nothing: a caller joins a requested one running,
    // and one asked for during a periodic resync follows it.
    const everything = { relist: true, requested: true };
    const done = resyncing?.requested ? resyncing.done : run(everything, resyncing ? settled() : undefined);
    return options.resyncWaitsForQueue ? done.then(() => queue.onIdle()) : done;
  };

  /** Resolves once the queue is idle, or after `ms`, or once the loop stops. */
  const idleOrAfter = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timeout = setTimeout(finish, ms);
      stopWaits.add(finish);
      // One wait on the queue however many periodic resyncs gave up on it.
      idle ??= queue.onIdle().finally(() => {
        idle = undefined;
      });
      void idle.then(finish);
      function finish() {
        clearTimeout(timeout);
        stopWaits.delete(finish);
        resolve();
      }
    });

  const periodic = (): Promise<void> => {
    if (resyncing) return resyncing.done;
    return run({ relist: now() - lastRelistAt >= relistIntervalMs, requested: false }).then(() =>
      options.resyncWaitsForQueue ? idleOrAfter(resyncIntervalMs) : undefined,
    );
  };

  const schedule = (delayMs: number, chain: number): void => {
    if (!running || chain !== startCount || resyncIntervalMs <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      periodic()
        .catch((error: unknown) =>
          logger.warn(
            { loop: name, error: (error as Error).message },
            `${name} resync failed; retrying at the next interval`,
          ),
        )
        .finally(() => schedule(resyncIntervalMs, chain));
    }, delayMs);
  };

  return {
    async start() {
      if (running) return;
      running = true;
      const chain = (startCount += 1);
      const starting = now();
      await Promise.all(informers.map((informer) => informer.start()));
      // The informers listed everything just now; without any, the first resync lists.
      if (informers.length > 0) lastRelistAt = starting;
      schedule(options.resyncAtStart ? 0 : resyncIntervalMs, chain);
      logger.info({ ...options.logFields, resyncIntervalMs }, `${name} started`);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      for (const finish of [...stopWaits]) finish();
      await Promise.all(informers.map((informer) => informer.stop()));
      await settled();
      let drainTimer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        queue.onIdle().then(() => true),
        new Promise<boolean>((resolve) => {
          drainTimer = setTimeout(() => resolve(false), stopDrainMs);
        }),
      ]);
      clearTimeout(drainTimer);
      logger.info({ drained, queued: queue.stats().queued }, `${name} stopped`);
    },
    resyncNow,
    push: (key, task) => queue.push(key, task),
    onIdle: () => queue.onIdle(),
    stats() {
      const { active, queued } = queue.stats();
      return {
        resyncs,
        informerRestarts: informers.reduce((sum, informer) => sum + informer.stats().restarts, 0),
        active,
        queued,
      };
    },
  };
}
