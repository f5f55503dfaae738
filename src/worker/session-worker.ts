/**
 * One Shepherd worker process: the Temporal worker running the session workflow with the
 * activities of its runtime (Kubernetes or local), and that runtime's background services (runner
 * watcher, AgentSession controller, provider status) — started together and stopped together.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { loadKubeConfig } from '../runtime/kubernetes/kube-config.js';
import { createKubernetesRuntime } from '../runtime/kubernetes/kubernetes-runtime.js';
import { createLocalRuntime } from '../runtime/local/local-runtime.js';
import type { WorkerConfig } from './config.js';

/** A running worker. */
export interface SessionWorker {
  /** Resolves when the worker has stopped (after `stop`, or on a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The workflow code: the pre-built bundle when one is configured, else the sources. */
function workflowSource(
  bundle: string | undefined,
): { workflowsPath: string } | { workflowBundle: { codePath: string } } {
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

  const runtime =
    config.runtime === 'local'
      ? await createLocalRuntime({ dataDir: config.dataDir, client, logger })
      : createKubernetesRuntime({
          kubeConfig: loadKubeConfig(config.kubeconfig),
          client,
          logger,
          taskQueue: config.taskQueue,
          controller: config.controller,
          ...(config.sessionSelector ? { sessionSelector: config.sessionSelector } : {}),
          ...(config.providerResyncMs ? { providerResyncMs: config.providerResyncMs } : {}),
        });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...workflowSource(config.workflowBundle),
    activities: runtime.activities,
    // Sessions wait on signals, not on activities, so many can be cached at once.
    maxCachedWorkflows: 2_000,
  });

  const running = worker.run();
  for (const service of runtime.services) await service.start();
  logger.info(
    {
      runtime: config.runtime,
      taskQueue: config.taskQueue,
      temporal: config.temporalAddress,
      controller: config.runtime === 'kubernetes' && config.controller,
      ...(config.runtime === 'local' ? { dataDir: config.dataDir } : {}),
    },
    'worker running',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const service of [...runtime.services].reverse()) await service.stop();
      // The SDK shuts the worker down by itself on SIGINT/SIGTERM; a second shutdown would throw.
      if (worker.getState() === 'RUNNING') worker.shutdown();
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
