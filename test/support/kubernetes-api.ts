/**
 * The API in kubernetes mode for the integration tests that drive it as a user would
 * (api-kubernetes, api-session-intent, api-schemathesis): the app on the real TokenReview and
 * SubjectAccessReview with AgentSession CRs, a test namespace in which a user may use sessions as a
 * platform team would grant it, the test user alice's token, and a `command` session whose runner
 * KWOK plays. Each test file keeps its own hooks, since each needs a different part of this.
 */
import type { NamespacePolicySpec } from '../../src/resources/types.js';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL } from '../../src/resources/constants.js';
import { kubernetesAuthenticator } from '../../src/runtime/kubernetes/kubernetes-auth.js';
import { kubernetesBackend } from '../../src/runtime/kubernetes/kubernetes-backend.js';
import { envVar, processKubeConfig, randomSuffix } from './kube.js';

/** The bearer token of alice, a user the test API server knows (and nothing grants by itself). */
export function aliceToken(): string {
  return envVar('SHEPHERD_TEST_ALICE_TOKEN');
}

/** Request headers that authenticate as alice. */
export function aliceHeaders(): { authorization: string } {
  return { authorization: `Bearer ${aliceToken()}` };
}

/** What a test's API runs as and is limited to, when not the run's release and every namespace. */
export interface KubernetesApiOptions {
  /** The API's credentials. @default the run's API ServiceAccount (processKubeConfig) */
  kubeConfig?: k8s.KubeConfig;
  /** The namespaces the API is limited to (SHEPHERD_WATCH_NAMESPACES). @default every namespace */
  namespaces?: readonly string[];
  /** The policy of namespaces without a NamespacePolicy (SHEPHERD_DEFAULT_POLICY). @default no limits */
  defaultPolicy?: NamespacePolicySpec;
}

/**
 * Builds the API app in kubernetes mode, running as the chart's API ServiceAccount (see
 * processKubeConfig) unless `options` names other credentials; its sessions' workflows go to
 * `taskQueue`. Its logger is silent: a test reports what it checks.
 */
export function kubernetesApi(
  client: Client,
  taskQueue: string,
  options: KubernetesApiOptions = {},
): Promise<FastifyInstance> {
  const kc = options.kubeConfig ?? processKubeConfig('api');
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  return buildApp({
    backend: kubernetesBackend({
      kubeConfig: kc,
      namespaces: options.namespaces,
      client,
      taskQueue,
      logger: silent,
      ...(options.defaultPolicy ? { defaultPolicy: options.defaultPolicy } : {}),
    }),
    auth: kubernetesAuthenticator({ kubeConfig: kc }),
    metrics: createApiMetrics(false),
  });
}

/** Creates a namespace `<prefix>-<random>` labelled as a test's; the caller deletes it at the end. */
export async function createApiNamespace(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomSuffix()}`;
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels: { 'shepherd.dev/test': 'true' } } } });
  return name;
}

/** What a grant allows beyond get, list, create, update, patch and delete of sessions. */
export interface SessionGrant {
  /** Watching sessions. */
  watch?: boolean;
  /** Reading the runner pods' logs. */
  logs?: boolean;
}

/** Lets `user` use Shepherd sessions in `namespace`, and nothing else, as a platform team would. */
export async function grantSessions(
  kc: k8s.KubeConfig,
  namespace: string,
  user: string,
  grant: SessionGrant = {},
): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'shepherd-user' },
      rules: [
        {
          apiGroups: [GROUP],
          resources: [PLURAL.agentSession],
          verbs: ['get', 'list', ...(grant.watch ? ['watch'] : []), 'create', 'update', 'patch', 'delete'],
        },
        ...(grant.logs ? [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] : []),
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `shepherd-user-${user}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'shepherd-user' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
}

/**
 * The API's create body of a `command` session whose fake runner exits `exitCode` after
 * `duration`, for the worker with `labels`; `spec` adds to or overrides the spec.
 */
export function fakeRunSession(
  name: string,
  labels: Record<string, string>,
  run: { exitCode: number; duration: string },
  spec: Record<string, unknown> = {},
) {
  return {
    metadata: { name, labels },
    spec: {
      agent: 'command',
      command: ['sh', '-c', 'echo working'],
      image: 'shepherd/runner:test',
      podMetadata: {
        annotations: {
          [FAKE_POD_ANNOTATIONS.exitCode]: String(run.exitCode),
          [FAKE_POD_ANNOTATIONS.duration]: run.duration,
        },
      },
      ...spec,
    },
  };
}
