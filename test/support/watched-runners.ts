/**
 * The setup the runner watcher's integration tests share (runner-watcher, runner-refusals): the
 * recording fixture workflow under the session workflow's name on a worker of its own, and one
 * runner watcher over the test file's shard of runner Jobs, started before the file's tests and
 * stopped after them; and a way to start a session's workflow as Shepherd starts it, so the
 * watcher's signals reach it.
 */
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type * as k8s from '@kubernetes/client-node';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Logger } from 'pino';
import { type RunnerWatcher, createRunnerWatcher } from '../../src/runtime/kubernetes/runner-watcher.js';
import { SESSION_WORKFLOW_TYPE, sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { TEST_SHARD_LABEL } from './runner-job.js';
import { type FixtureWorker, startFixtureWorker } from './temporal.js';

/** What the file's tests share; `temporal` and `watcher` are there once the `before` hook ran. */
export interface WatchedRunners {
  readonly temporal: FixtureWorker;
  readonly watcher: RunnerWatcher;
  /** Starts the recording workflow of session `name` as the session workflow would be started. */
  readonly startSession: (namespace: string, name: string) => Promise<WorkflowHandleWithFirstExecutionRunId>;
}

/**
 * Registers the `before` and `after` hooks that start and stop the worker and the watcher of
 * `shard`'s runners. The watcher has no resync timer: a test that wants a resync calls
 * resyncNow(), and a timer would make the other tests' events ambiguous.
 */
export function watchRunners(options: { kubeConfig: k8s.KubeConfig; shard: string; logger: Logger }) {
  let temporal: FixtureWorker | undefined;
  let watcher: RunnerWatcher | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the runner watcher is not started: use it in a test');
    return value;
  };
  before(async () => {
    temporal = await startFixtureWorker(
      fileURLToPath(new URL('../integration/fixtures/recording-workflow.ts', import.meta.url)),
    );
    watcher = createRunnerWatcher({
      kubeConfig: options.kubeConfig,
      client: temporal.client,
      logger: options.logger,
      labelSelector: `${TEST_SHARD_LABEL}=${options.shard}`,
      resyncIntervalMs: 0,
    });
    await watcher.start();
  });
  after(async () => {
    await watcher?.stop();
    await temporal?.close();
  });
  const runners: WatchedRunners = {
    get temporal() {
      return started(temporal);
    },
    get watcher() {
      return started(watcher);
    },
    startSession: async (namespace, name) =>
      started(temporal).client.workflow.start(SESSION_WORKFLOW_TYPE, {
        taskQueue: started(temporal).taskQueue,
        workflowId: sessionWorkflowId(namespace, name),
        args: [{ namespace, name }],
      }),
  };
  return runners;
}
