/**
 * Where accepted deliveries start their sessions, after the delivery was answered: a bounded
 * in-process queue (so a burst of deliveries never opens a burst of calls to Kubernetes or
 * Temporal, and never grows memory without bound — a full queue refuses, and the source is told
 * to retry) with bounded retries and exponential backoff for failures that may pass. Work is keyed
 * (the session or ticket), so two deliveries for one session never race. Stopping aborts every
 * wait and lets the calls in flight finish.
 *
 * Nothing here is durable: a process that dies between the answer and the start loses the start.
 * The deterministic session names make the source's redelivery (or Jira's poll) safe to repeat.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { KeyedTaskQueue } from '../../reconcile/keyed-task-queue.js';

/** One start to make. */
export interface StartJob {
  /** Jobs with one key run one at a time, in order. */
  key: string;
  /** Fields for the log lines about this job (never a secret or a body). */
  what: Record<string, unknown>;
  /** Makes the start; resolves when it is done (or was done already). */
  run(): Promise<void>;
  /** Whether a failure may pass, so the job is tried again. */
  retryable(error: unknown): boolean;
}

/** Limits of the queue. */
export interface StartQueueOptions {
  logger: Logger;
  /** Starts in flight at once. @default 4 */
  concurrency?: number;
  /** Jobs waiting or running at most; more are refused. @default 1000 */
  capacity?: number;
  /** Tries per job, the first included. @default 5 */
  maxAttempts?: number;
  /** The wait after the first failure, doubled after each. @default 500 */
  initialBackoffMs?: number;
  /** The longest wait between tries. @default 8000 */
  maxBackoffMs?: number;
}

/** Counters for logs, tests and the benchmark. */
export interface StartQueueStats {
  active: number;
  queued: number;
  succeeded: number;
  failed: number;
  retries: number;
  refused: number;
}

/** The queue. */
export interface StartQueue {
  /** Queues `job`; false when the queue is full or stopped (nothing was queued). */
  offer(job: StartJob): boolean;
  /** Resolves once nothing is waiting or running. */
  idle(): Promise<void>;
  /**
   * Refuses new jobs and lets the queued ones run for up to `graceMs`; then drops those still
   * waiting, aborts every backoff wait, and waits for the calls in flight.
   */
  stop(graceMs?: number): Promise<void>;
  stats(): StartQueueStats;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates a start queue. */
export function createStartQueue(options: StartQueueOptions): StartQueue {
  const { logger } = options;
  const capacity = options.capacity ?? 1000;
  const maxAttempts = options.maxAttempts ?? 5;
  const initialBackoffMs = options.initialBackoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 8000;
  const queue = new KeyedTaskQueue(options.concurrency ?? 4);
  const abort = new AbortController();
  const counts = { succeeded: 0, failed: 0, retries: 0, refused: 0 };

  let accepting = true;
  const dropped = (job: StartJob, attempts: number) => {
    counts.failed += 1;
    logger.error({ ...job.what, attempts }, 'stopping: the session was not started');
  };

  const attempt = async (job: StartJob): Promise<void> => {
    if (abort.signal.aborted) return dropped(job, 0);
    let backoffMs = initialBackoffMs;
    for (let tries = 1; ; tries += 1) {
      try {
        await job.run();
        counts.succeeded += 1;
        return;
      } catch (error) {
        const again = tries < maxAttempts && job.retryable(error) && !abort.signal.aborted;
        if (!again) {
          counts.failed += 1;
          logger.error(
            { ...job.what, attempts: tries, error: message(error) },
            'could not start the session',
          );
          return;
        }
        counts.retries += 1;
        logger.warn(
          { ...job.what, attempt: tries, retryInMs: backoffMs, error: message(error) },
          'start failed; retrying',
        );
        try {
          await sleep(backoffMs, undefined, { signal: abort.signal });
        } catch {
          return dropped(job, tries);
        }
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
  };

  return {
    offer(job) {
      const { active, queued } = queue.stats();
      if (!accepting || active + queued >= capacity) {
        counts.refused += 1;
        return false;
      }
      queue.push(job.key, () => attempt(job));
      return true;
    },
    idle: () => queue.onIdle(),
    async stop(graceMs = 5000) {
      accepting = false;
      const grace = new AbortController();
      await Promise.race([
        queue.onIdle(),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => undefined),
      ]);
      grace.abort();
      abort.abort();
      await queue.onIdle();
    },
    stats() {
      const { active, queued } = queue.stats();
      return { active, queued, ...counts };
    },
  };
}
