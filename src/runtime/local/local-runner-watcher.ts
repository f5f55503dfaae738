/**
 * The local runtime's counterpart of the Job/Pod watcher: it polls the attempt directories of the
 * data directory and signals each session workflow when its runner process starts and ends. An
 * `ended` signal that went through is marked on disk, so a restarted worker reports exactly the
 * attempts that ended while it was down, and nothing twice.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { type ReconcileLoop, createReconcileLoop } from '../../reconcile/reconcile-loop.js';
import { runnerEventSignal, sessionWorkflowId } from '../../workflows/session-contract.js';
import { attemptFiles, listAttempts, localRunnerEvents } from './local-sessions.js';

/** Options of {@link createLocalRunnerWatcher}. */
export interface LocalRunnerWatcherOptions {
  dataDir: string;
  client: Client;
  logger: Logger;
  /** How often the attempt directories are read. @default 500 */
  pollMs?: number;
}

/** Creates the local runner watcher; nothing runs until `start`. */
export function createLocalRunnerWatcher(
  options: LocalRunnerWatcherOptions,
): Pick<ReconcileLoop, 'start' | 'stop'> {
  const { dataDir, client, logger } = options;
  const pollMs = options.pollMs ?? 500;
  const startedSent = new Set<string>();

  const poll = async () => {
    for (const { namespace, name, attempt } of listAttempts(dataDir)) {
      const files = attemptFiles(dataDir, namespace, name, attempt);
      if (existsSync(files.signalled)) continue;
      const key = `${namespace}/${name}/${attempt}`;
      const workflowId = sessionWorkflowId(namespace, name);
      for (const event of localRunnerEvents(dataDir, namespace, name, attempt)) {
        if (event.kind === 'started' && startedSent.has(key)) continue;
        try {
          await client.workflow.getHandle(workflowId).signal(runnerEventSignal, event);
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) {
            logger.warn(
              { workflowId, kind: event.kind, error: (error as Error).message },
              'could not signal; retrying',
            );
            break;
          }
          // No running workflow: nobody waits for this runner any more.
        }
        if (event.kind === 'started') startedSent.add(key);
        else {
          writeFileSync(files.signalled, new Date().toISOString());
          startedSent.delete(key);
        }
      }
    }
  };
  // Each poll signals in order itself (an attempt's `ended` only after its `started` went through),
  // so the loop's queue stays unused.
  const loop = createReconcileLoop({
    name: 'local runner watcher',
    logger,
    resync: poll,
    resyncIntervalMs: pollMs,
    resyncAtStart: true,
  });
  return { start: () => loop.start(), stop: () => loop.stop() };
}
