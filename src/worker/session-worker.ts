/**
 * One Shepherd worker process: the Temporal worker running the session workflow with the
 * activities of its runtime (Kubernetes or local), and that runtime's background services (runner
 * watcher, AgentSession controller, provider status) — started together and stopped together.
 */
import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { loadKubeConfig } from '../runtime/kubernetes/kube-config.js';
import { createKubernetesRuntime } from '../runtime/kubernetes/kubernetes-runtime.js';
import { createLocalRuntime } from '../runtime/local/local-runtime.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseForgesConfig } from '../forges/forge-registry.js';
import type { RuntimeService } from '../runtime/worker-runtime.js';
import { createNamespaceActivities } from '../namespace/namespace-activities.js';
import { createOutcomeActivities } from '../session-outcome/create-outcome-activities.js';
import { createJiraActivities } from '../triggers/jira/jira-activities.js';
import { jiraClientForTrigger } from '../triggers/jira/jira-client.js';
import { jiraScheduleReconciler } from '../triggers/jira/jira-schedules.js';
import { kubernetesSessionCreator, localSessionCreator } from '../triggers/jira/session-creator.js';
import { startKubernetesTriggerCatalog } from '../triggers/kubernetes-trigger-catalog.js';
import { type LocalResources, localResourcesFile } from '../triggers/local-resources.js';
import { startLocalTriggerCatalog } from '../triggers/local-trigger-catalog.js';
import { kubernetesSecretSource, localSecretSource, type SecretSource } from '../triggers/secret-source.js';
import { postSlackReply } from '../triggers/slack/slack-reply.js';
import type { TriggerCatalog } from '../triggers/trigger-catalog.js';
import { DEFAULT_MAX_CACHED_WORKFLOWS, type WorkerConfig } from './config.js';
import type { LeaderElectionConfig } from './leader-election-config.js';
import { traceKubernetesCalls } from '../observability/kubernetes-spans.js';
import { startTracing, type Tracing } from '../observability/tracing.js';
import { workflowCode } from './workflow-bundle.js';
import { clientInterceptors } from '../observability/client-interceptors.js';
import {
  workerInterceptors,
  workflowInterceptorModules,
  workflowSpanSinks,
} from '../observability/worker-interceptors.js';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/worker-metrics.js';

/** A running worker. */
export interface SessionWorker {
  /** Resolves when the worker has stopped (after `stop`, or on a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
  /** Whether the Temporal worker is polling its task queue (for the readiness probe). */
  polling(): boolean;
  /** The worker's Prometheus metrics. */
  metrics: WorkerMetrics;
}

/**
 * The triggers the worker reports back to and polls for, and where their credentials are read:
 * the cluster's AgentTriggers and Secrets, or the local triggers file.
 */
function startTriggers(
  config: WorkerConfig,
  kubeConfig: KubeConfig | undefined,
  localResources: () => LocalResources,
  logger: Logger,
): { catalog: TriggerCatalog; secrets: SecretSource } {
  const log = logger.child({ component: 'trigger-catalog' });
  if (kubeConfig) {
    const secrets = kubernetesSecretSource(kubeConfig);
    const catalog = startKubernetesTriggerCatalog({
      kubeConfig,
      namespaces: config.watchNamespaces,
      secrets,
      logger: log,
    });
    return { secrets, catalog };
  }
  return {
    secrets: localSecretSource(localResources),
    catalog: startLocalTriggerCatalog({ file: config.triggersFile, logger: log }),
  };
}

/**
 * The election of this process: the configured Lease, in the kubeconfig context's namespace (a
 * pod's own) unless one is named, under the identity Temporal also gives the worker.
 */
function leaderElectionOf(config: LeaderElectionConfig, kubeConfig: KubeConfig) {
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  const { lease, namespace, ...timings } = config;
  return {
    ...timings,
    name: lease,
    namespace: namespace ?? context?.namespace ?? 'default',
    identity: `${process.pid}@${hostname()}`,
  };
}

let runtimeInstalled = false;

/**
 * Starts every part of the worker.
 *
 * @param tracing Where spans go. @default off
 */
export async function startSessionWorker(
  config: WorkerConfig,
  logger: Logger,
  tracing: Tracing = startTracing('shepherd-worker', {}),
): Promise<SessionWorker> {
  if (!runtimeInstalled) {
    // The SDK's own logs go through at WARN; payloads are never logged.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const nativeConnection = await NativeConnection.connect(config.temporalConnection);
  // The client shares the worker's connection, so the controller's starts can be eager: the
  // server answers a start with the run's first task for this worker, sparing a trip through
  // matching on the way from an AgentSession to its Job.
  const client = new Client({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    interceptors: clientInterceptors(),
  });
  const metrics = createWorkerMetrics({ client });

  const kubeConfig =
    config.runtime === 'kubernetes'
      ? traceKubernetesCalls(loadKubeConfig(config.kubeconfig), tracing.tracer)
      : undefined;
  const localResources = localResourcesFile(config.triggersFile, (error) =>
    logger.warn({ file: config.triggersFile, error: error.message }, 'triggers file'),
  );
  const runtime = kubeConfig
    ? createKubernetesRuntime({
        kubeConfig,
        client,
        // An eager start keeps the session on the worker that started it: with replicas, where
        // only the leader's controller starts sessions, they would all land on the leader instead
        // of spreading over the task queue's workers. So eager only for a single worker.
        eagerStart: !config.leaderElection,
        logger,
        taskQueue: config.taskQueue,
        controller: config.controller,
        namespaces: config.watchNamespaces,
        ...(config.sessionSelector ? { sessionSelector: config.sessionSelector } : {}),
        ...(config.providerResyncMs ? { providerResyncMs: config.providerResyncMs } : {}),
        ...(config.defaultPolicy ? { defaultPolicy: config.defaultPolicy } : {}),
        ...(config.egressHosts ? { egressHosts: config.egressHosts } : {}),
        ...(config.leaderElection
          ? { leaderElection: leaderElectionOf(config.leaderElection, kubeConfig) }
          : {}),
        observeRunnerSignal: (...args) => metrics.observeRunnerSignal(...args),
      })
    : await createLocalRuntime({
        dataDir: config.dataDir,
        client,
        logger,
        resources: localResources,
        ...(config.runnerBundle ? { runnerBundle: config.runnerBundle } : {}),
      });
  const triggers = startTriggers(config, kubeConfig, localResources, logger);
  const activities = {
    ...runtime.activities,
    ...createNamespaceActivities({
      client,
      taskQueue: config.taskQueue,
      ...(runtime.writeNamespaceStatus ? { writeStatus: runtime.writeNamespaceStatus } : {}),
    }),
    ...createOutcomeActivities({
      secrets: triggers.secrets,
      readTrigger: async (namespace, name) => {
        await triggers.catalog.ready();
        return triggers.catalog.get(namespace, name)?.trigger;
      },
      forges: config.forges ?? parseForgesConfig(undefined),
      links: {
        ...(config.publicApiUrl ? { apiUrl: config.publicApiUrl } : {}),
        ...(config.temporalUiUrl ? { temporalUiUrl: config.temporalUiUrl } : {}),
        temporalNamespace: config.temporalNamespace,
      },
      logTail: runtime.logTail,
      jira: async (trigger) => {
        const jira = await jiraClientForTrigger(trigger, triggers.secrets);
        return {
          comment: (key, text) => jira.comment(key, text),
          transition: async (key, name) => {
            const done = await jira.transition(key, name);
            if (done.outcome === 'unavailable') {
              logger.warn({ key, transition: name, status: done.status }, 'Jira offers no such transition');
            }
          },
        };
      },
      slackReply: (token, reply) => postSlackReply({ token }, reply),
      logger: logger.child({ component: 'outcome' }),
    }),
    ...createJiraActivities({
      triggers: triggers.catalog,
      secrets: triggers.secrets,
      createSession: kubeConfig
        ? kubernetesSessionCreator({
            kubeConfig,
            client,
            taskQueue: config.taskQueue,
            logger,
            ...(config.defaultPolicy ? { defaultPolicy: config.defaultPolicy } : {}),
          })
        : localSessionCreator({ client, taskQueue: config.taskQueue, dataDir: config.dataDir }),
      client,
      taskQueue: config.taskQueue,
      logger: logger.child({ component: 'jira' }),
    }),
  };
  const services: RuntimeService[] = [
    ...runtime.services,
    jiraScheduleReconciler({
      client,
      taskQueue: config.taskQueue,
      catalog: triggers.catalog,
      logger: logger.child({ component: 'jira-schedules' }),
    }),
  ];
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...workflowCode(config.workflowBundle, tracing.enabled),
    activities,
    interceptors: workerInterceptors(
      metrics,
      logger.child({ component: 'activity' }),
      config.workflowBundle === undefined ? workflowInterceptorModules(tracing.enabled) : [],
    ),
    sinks: workflowSpanSinks(tracing),
    // Sessions wait on signals, not on activities, so many can be cached at once; beyond the
    // bound, idle ones are evicted and replayed on their next signal.
    maxCachedWorkflows: config.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
  });

  const running = worker.run();
  for (const service of services) await service.start();
  logger.info(
    {
      runtime: config.runtime,
      taskQueue: config.taskQueue,
      temporal: config.temporalConnection.address,
      controller: config.runtime === 'kubernetes' && config.controller,
      ...(config.runtime === 'local' ? { dataDir: config.dataDir } : {}),
    },
    'worker running',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const service of [...services].reverse()) await service.stop();
      await triggers.catalog.stop();
      // The SDK shuts the worker down by itself on SIGINT/SIGTERM; a second shutdown would throw.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
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
  return { done, stop, polling: () => worker.getState() === 'RUNNING', metrics };
}
