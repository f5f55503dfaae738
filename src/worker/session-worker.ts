/**
 * One Shepherd worker process: the Temporal worker running the session workflow and the
 * Kubernetes activities, the shared Job/Pod watcher that signals workflows, and the AgentSession
 * controller — started together and stopped together.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createKubernetesActivities } from '../runtime/kubernetes/kubernetes-activities.js';
import { createLocalActivities } from '../runtime/local/local-activities.js';
import { createLocalRunnerWatcher } from '../runtime/local/local-runner-watcher.js';
import type { SessionActivities } from '../runtime/session-activities.js';
import { createRunnerWatcher } from '../runtime/kubernetes/runner-watcher.js';
import { createProviderStatusReconciler } from '../runtime/kubernetes/provider-status.js';
import { createSessionController } from '../runtime/kubernetes/session-controller.js';
import type { WorkerConfig } from './config.js';

/** A running worker. */
export interface SessionWorker {
  /** Resolves when the worker has stopped (after `stop`, or on a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The workflow code: the pre-built bundle when `SHEPHERD_WORKFLOW_BUNDLE` names one, else the sources. */
function workflowSource(): { workflowsPath: string } | { workflowBundle: { codePath: string } } {
  const bundle = process.env.SHEPHERD_WORKFLOW_BUNDLE;
  if (bundle) return { workflowBundle: { codePath: bundle } };
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return {
    workflowsPath: existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
  };
}

let runtimeInstalled = false;

/** Starts every part of the worker. */
export async function startSessionWorker(config: WorkerConfig, logger: Logger): Promise<SessionWorker> {
  if (!runtimeInstalled) {
    // The SDK's own logs go through at WARN; payloads are never logged.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const nativeConnection = await NativeConnection.connect({ address: config.temporalAddress });
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });

  let activities: SessionActivities;
  let watcher: { start(): Promise<void>; stop(): Promise<void> };
  let controller: { start(): Promise<void>; stop(): Promise<void> } | undefined;
  /** Further background services of the runtime, started after the worker and stopped before it. */
  const services: { start(): Promise<void>; stop(): Promise<void> }[] = [];
  if (config.runtime === 'local') {
    mkdirSync(config.dataDir, { recursive: true });
    activities = createLocalActivities({ dataDir: config.dataDir });
    watcher = createLocalRunnerWatcher({
      dataDir: config.dataDir,
      client,
      logger: logger.child({ component: 'local-runner-watcher' }),
    });
  } else {
    const kubeConfig = new k8s.KubeConfig();
    if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
    else kubeConfig.loadFromDefault();
    activities = createKubernetesActivities({ kubeConfig });
    watcher = createRunnerWatcher({
      kubeConfig,
      client,
      logger: logger.child({ component: 'runner-watcher' }),
    });
    const providers = createProviderStatusReconciler({
      kubeConfig,
      logger: logger.child({ component: 'provider-status' }),
      ...(config.providerResyncMs ? { intervalMs: config.providerResyncMs } : {}),
    });
    services.push(providers);
    controller = config.controller
      ? createSessionController({
          kubeConfig,
          client,
          taskQueue: config.taskQueue,
          logger: logger.child({ component: 'session-controller' }),
          ...(config.sessionSelector ? { labelSelector: config.sessionSelector } : {}),
        })
      : undefined;
  }
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...workflowSource(),
    activities,
    // Sessions wait on signals, not on activities, so many can be cached at once.
    maxCachedWorkflows: 2_000,
  });

  const running = worker.run();
  await watcher.start();
  await controller?.start();
  for (const service of services) await service.start();
  logger.info(
    {
      runtime: config.runtime,
      taskQueue: config.taskQueue,
      temporal: config.temporalAddress,
      controller: controller !== undefined,
      ...(config.runtime === 'local' ? { dataDir: config.dataDir } : {}),
    },
    'worker running',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const service of services) await service.stop();
      await controller?.stop();
      await watcher.stop();
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await nativeConnection.close();
    })());
  const done = running.then(
    async () => {
      await stop();
    },
    async (error: unknown) => {
      logger.error({ err: error }, 'worker failed');
      await stop();
      throw error;
    },
  );
  return { done, stop };
}
