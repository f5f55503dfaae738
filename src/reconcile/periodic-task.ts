/**
 * A task that runs now and then every `intervalMs` after the previous round ends (never two
 * rounds at once), for the level-triggered loops of the worker. A failed round is logged and the
 * next one runs as usual.
 */
import type { Logger } from '../common/logger.js';

/** A started-on-demand periodic task. */
export interface PeriodicTask {
  start(): Promise<void>;
  /** Stops the loop and waits for a round in progress. */
  stop(): Promise<void>;
}

/** Creates a periodic task; nothing runs until `start`. */
export function periodicTask(
  round: () => Promise<void>,
  intervalMs: number,
  logger: Logger,
  what: string,
): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = round()
      .catch((error: unknown) => logger.warn({ error: (error as Error).message }, `${what} failed`))
      .finally(() => {
        if (timer !== undefined) timer = setTimeout(tick, intervalMs);
      });
  };
  return {
    async start() {
      timer = setTimeout(tick, 0);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
