/**
 * The local runtime for the worker: the activities that run sessions as directories and detached
 * processes under the data directory, and the watcher that reports those processes.
 */
import { mkdirSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { WorkerRuntime } from '../worker-runtime.js';
import { createLocalActivities } from './local-activities.js';
import { createLocalRunnerWatcher } from './local-runner-watcher.js';

/** Dependencies and options of the local runtime. */
export interface LocalRuntimeOptions {
  /** Where sessions live (see local-sessions.ts); created if missing. */
  dataDir: string;
  client: Client;
  logger: Logger;
}

/** Builds the local runtime; nothing runs until its services are started. */
export function createLocalRuntime(options: LocalRuntimeOptions): WorkerRuntime {
  const { dataDir, client, logger } = options;
  mkdirSync(dataDir, { recursive: true });
  return {
    activities: createLocalActivities({ dataDir }),
    services: [
      createLocalRunnerWatcher({
        dataDir,
        client,
        logger: logger.child({ component: 'local-runner-watcher' }),
      }),
    ],
  };
}
