/**
 * The Kubernetes runtime for the worker: the activities that make PVCs, Secrets and Jobs, the
 * shared runner watcher, the AgentProvider status reconciler and, unless turned off, the
 * AgentSession controller. With leader election those three watch the cluster only on the
 * replica that holds the Lease (leader-election.ts); the activities run on every replica.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { NamespacePolicySpec } from '../../resources/types.js';
import type { WatchNamespaces } from '../../reconcile/watch-scope.js';
import type { RuntimeService, WorkerRuntime } from '../worker-runtime.js';
import { createKubernetesActivities } from './kubernetes-activities.js';
import { createProviderStatusReconciler } from './provider-status.js';
import { createRunnerWatcher, type RunnerWatcherOptions } from './runner-watcher.js';
import { createSessionController } from './session-controller.js';
import { kubernetesLogTail } from './runner-log-tail.js';
import { namespacePolicyStatusWriter } from './namespace-policy-status.js';
import type { EgressHosts } from './builders/session-network-policy.js';
import { type LeaderElectionOptions, leaderOnlyServices } from './leader-election.js';

/** Dependencies and options of the Kubernetes runtime. */
export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  client: Client;
  /**
   * `client` is on the worker's own `NativeConnection`: the controller starts workflows eagerly.
   * @default false
   */
  eagerStart?: boolean;
  logger: Logger;
  /** The task queue the controller starts session workflows on. */
  taskQueue: string;
  /** Run the AgentSession controller. */
  controller: boolean;
  /** Only AgentSessions matching this label selector are started by the controller. */
  sessionSelector?: string;
  /** How often AgentProvider status is checked against its Secret. @default 10000 */
  providerResyncMs?: number;
  /** The namespaces the watcher, the controller and the provider check are limited to. @default every namespace */
  namespaces?: WatchNamespaces;
  /** The policy of namespaces without a NamespacePolicy. @default no limits */
  defaultPolicy?: NamespacePolicySpec;
  /** The CIDRs of the hosts runners reach, for sessions whose egress is restricted. @default none */
  egressHosts?: EgressHosts;
  /**
   * Run the watcher, the controller and the provider check only while this process holds this
   * Lease. @default unset: always, as for a single worker
   */
  leaderElection?: Omit<LeaderElectionOptions, 'kubeConfig' | 'logger'>;
  /** Told of every runner event the watcher signals (for metrics). */
  observeRunnerSignal?: RunnerWatcherOptions['observeSignal'];
}

/** Builds the Kubernetes runtime; nothing runs until its services are started. */
export function createKubernetesRuntime(options: KubernetesRuntimeOptions): WorkerRuntime {
  const { kubeConfig, client, logger, namespaces } = options;
  const clusterServices = (): RuntimeService[] => [
    createRunnerWatcher({
      kubeConfig,
      client,
      namespaces,
      logger: logger.child({ component: 'runner-watcher' }),
      ...(options.observeRunnerSignal ? { observeSignal: options.observeRunnerSignal } : {}),
    }),
    ...(options.controller
      ? [
          createSessionController({
            kubeConfig,
            client,
            namespaces,
            taskQueue: options.taskQueue,
            ...(options.eagerStart ? { eagerStart: true } : {}),
            logger: logger.child({ component: 'session-controller' }),
            ...(options.sessionSelector ? { labelSelector: options.sessionSelector } : {}),
          }),
        ]
      : []),
    createProviderStatusReconciler({
      kubeConfig,
      namespaces,
      logger: logger.child({ component: 'provider-status' }),
      ...(options.providerResyncMs ? { intervalMs: options.providerResyncMs } : {}),
    }),
  ];
  const services = options.leaderElection
    ? [
        leaderOnlyServices({
          election: {
            ...options.leaderElection,
            kubeConfig,
            logger: logger.child({ component: 'leader-election' }),
          },
          services: clusterServices,
        }),
      ]
    : clusterServices();
  return {
    activities: createKubernetesActivities({
      kubeConfig,
      ...(options.defaultPolicy ? { defaultPolicy: options.defaultPolicy } : {}),
      ...(options.egressHosts ? { egressHosts: options.egressHosts } : {}),
    }),
    logTail: kubernetesLogTail(kubeConfig),
    services,
    writeNamespaceStatus: namespacePolicyStatusWriter(kubeConfig),
  };
}
