/**
 * Keeps a client-node informer running. A client-node informer re-lists by itself after a 410
 * (its resource version expired) and re-watches when the server closes a watch, but on any other
 * error — the API server unreachable, a 5xx, a dropped connection — it reports the error and stops
 * for good. Its owner must start it again; this does, with exponential backoff, and logs each time.
 *
 * The same informer instance is restarted rather than replaced, so its cache survives: when the
 * restart has to re-list, objects deleted during the outage are reported as deletions.
 */
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.js';

/** How a supervised informer restarts. */
export interface SupervisedInformerOptions {
  /** Names the informer in logs, e.g. `runner-pods`. */
  name: string;
  logger: Logger;
  /**
   * The wait before the first restart after an error; doubled on each consecutive failure.
   * @default 1000
   */
  initialBackoffMs?: number;
  /**
   * The longest wait between restarts.
   * @default 30000
   */
  maxBackoffMs?: number;
  /**
   * An informer that stayed up this long before failing counts as healthy again: its next restart
   * waits only `initialBackoffMs`.
   * @default 60000
   */
  healthyAfterMs?: number;
}

/** Counters for logs and tests. */
export interface SupervisedInformerStats {
  /** Errors the informer reported while supervised. */
  errors: number;
  /** Restarts after an error. */
  restarts: number;
}

/** Starts and stops an informer; restarts it after an error until stopped. */
export interface SupervisedInformer {
  /** Starts the informer; resolves after its first list and watch were attempted. */
  start(): Promise<void>;
  /** Stops it and any pending restart. */
  stop(): Promise<void>;
  stats(): SupervisedInformerStats;
}

/** Human-readable text of an informer error, which may be an Error, an ApiException or a status. */
function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return JSON.stringify(error) ?? String(error);
}

/**
 * Supervises `informer`. Register its add/update/delete handlers before or after; the supervisor
 * adds only an error handler.
 */
export function superviseInformer<T extends KubernetesObject>(
  informer: Informer<T>,
  options: SupervisedInformerOptions,
): SupervisedInformer {
  const initialBackoffMs = options.initialBackoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const healthyAfterMs = options.healthyAfterMs ?? 60_000;
  const { logger, name } = options;

  let running = false;
  let backoffMs = initialBackoffMs;
  let lastStartAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const stats: SupervisedInformerStats = { errors: 0, restarts: 0 };

  const startInformer = async (): Promise<void> => {
    lastStartAt = Date.now();
    try {
      await informer.start();
    } catch (error) {
      // start() reports list and watch failures through the error handler; a throw here is a
      // configuration problem (no current cluster), which a restart may still outlive.
      onError(error);
    }
  };

  const onError = (error: unknown): void => {
    // Stopping aborts the watch request, which the informer reports as an error too.
    if (!running) return;
    stats.errors += 1;
    if (restartTimer) return;
    if (Date.now() - lastStartAt >= healthyAfterMs) backoffMs = initialBackoffMs;
    const delayMs = backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    logger.warn(
      { informer: name, error: describeError(error), restartInMs: delayMs },
      'informer stopped on an error; restarting it',
    );
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!running) return;
      stats.restarts += 1;
      logger.info({ informer: name, restarts: stats.restarts }, 'restarting informer');
      void startInformer();
    }, delayMs);
  };

  informer.on('error', onError);

  return {
    async start() {
      if (running) return;
      running = true;
      backoffMs = initialBackoffMs;
      await startInformer();
    },
    async stop() {
      running = false;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      await informer.stop();
    },
    stats: () => ({ ...stats }),
  };
}
