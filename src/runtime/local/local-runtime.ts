/**
 * The local runtime for the worker: the activities that run sessions as directories and detached
 * processes under the data directory, and the watcher that reports those processes. The runner
 * is bundled into the data directory when the worker starts (unless a pre-built bundle is given,
 * as dist/ has one), so each attempt starts it in a fraction of a second instead of compiling its
 * sources again.
 */
import type { LocalResources } from '../../triggers/local-resources.js';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { bundleRunner } from '../../runner/bundle.js';
import type { WorkerRuntime } from '../worker-runtime.js';
import { createLocalActivities } from './local-activities.js';
import { createLocalRunnerWatcher } from './local-runner-watcher.js';
import { localLogTail } from './runner-log-tail.js';

/** Dependencies and options of the local runtime. */
export interface LocalRuntimeOptions {
  /** Where sessions live (see local-sessions.ts); created if missing. */
  dataDir: string;
  client: Client;
  logger: Logger;
  /** The local triggers file, whose Secrets the runner's credentials may come from. */
  resources?: () => LocalResources;
  /**
   * A pre-built runner bundle, run where it is: it never changes under a running runner (dist/ is
   * read-only in the Shepherd image), and a bundle has no runner sources to build one from.
   */
  runnerBundle?: string;
}

/**
 * Writes the runner bundle to `<dataDir>/runner/shepherd-runner.mjs`. It is written under a
 * private name and renamed into place, so a second worker on the same data directory, or a runner
 * still running from the previous bundle, never sees half a file.
 */
async function installRunner(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'runner');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'shepherd-runner.mjs');
  const partial = join(dir, `.shepherd-runner-${process.pid}.mjs`);
  await bundleRunner(partial);
  renameSync(partial, target);
  return target;
}

/**
 * Builds the local runtime (bundling the runner first, unless given one); nothing runs until its
 * services are started.
 */
export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<WorkerRuntime> {
  const { dataDir, client, logger } = options;
  mkdirSync(dataDir, { recursive: true });
  if (options.runnerBundle && !existsSync(options.runnerBundle))
    throw new Error(`the runner bundle ${options.runnerBundle} does not exist`);
  const runner = options.runnerBundle ?? (await installRunner(dataDir));
  return {
    activities: createLocalActivities({
      dataDir,
      runnerCommand: [process.execPath, runner],
      ...(options.resources ? { resources: options.resources } : {}),
    }),
    logTail: localLogTail(dataDir),
    services: [
      createLocalRunnerWatcher({
        dataDir,
        client,
        logger: logger.child({ component: 'local-runner-watcher' }),
      }),
    ],
  };
}
