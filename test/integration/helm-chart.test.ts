/**
 * The Helm chart against the real API server: it lints, its schema refuses a mistyped value,
 * everything it renders is accepted by a server-side dry run, an upgrade from the previous chart
 * version keeps the CRDs and a running session, and an uninstall leaves the CRDs and nothing else.
 * Its ServiceAccounts are refused what they must not do (the run's own release, which the test
 * run's worker and API processes use, proves they may do what they must), and the worker's Lease
 * requests get the API server's leader-election priority.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type { AgentSession } from '../../src/resources/types.js';
import { sessionObjectNames } from '../../src/runtime/kubernetes/builders/session-names.js';
import {
  CHART_DIR,
  helm,
  serviceAccountKubeconfig,
  TEST_ACCOUNTS,
  TEST_RELEASE,
} from '../support/chart-release.js';
import {
  envVar,
  eventually,
  kubeConfig,
  processKubeConfig,
  randomSuffix,
  testNamespace,
  forbidden,
} from '../support/kube.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { useWorker } from '../support/worker-fixture.js';

const kc = kubeConfig();
const kubeconfig = envVar('KUBECONFIG');
const core = kc.makeApiClient(k8s.CoreV1Api);
const apiext = kc.makeApiClient(k8s.ApiextensionsV1Api);
const objects = shepherdObjects(kc);
const fixture = useWorker(kc);
const PREVIOUS_CHART = new URL('./fixtures/charts/shepherd-0.1.0.tgz', import.meta.url).pathname;
const CRDS = ['agentsessions', 'agentconfigs', 'agentproviders', 'agenttriggers', 'namespacepolicies'].map(
  (p) => `${p}.shepherd.dev`,
);

/** Every option of the chart turned on, with the names a real install would use. */
const ALL_OPTIONS = [
  '--set', 'agentConfig.namespaces[0]=default',
  '--set', 'agentConfig.spec.defaultAgent=opencode',
  '--set', 'temporal.tls.secretName=temporal-tls',
  '--set', 'temporal.tls.serverName=temporal.internal',
  '--set', 'temporal.apiKey.secretName=temporal-cloud',
  '--set', 'temporal.registerSearchAttributes.enabled=true',
  '--set', 'temporal.uiUrl=https://temporal.example.com',
  '--set', 'publicApiUrl=https://shepherd.example.com',
  '--set', 'api.ingress.enabled=true',
  '--set', 'api.ingress.className=nginx',
  '--set', 'api.ingress.hosts[0].host=shepherd.example.com',
  '--set', 'api.ingress.hosts[0].paths[0].path=/',
  '--set', 'api.ingress.hosts[0].paths[0].pathType=Prefix',
  '--set', 'networkPolicy.enabled=true',
  '--set', 'networkPolicy.egress[0].to[0].ipBlock.cidr=10.0.0.0/8',
  '--set', 'forges[0].type=gitea',
  '--set', 'forges[0].url=https://gitea.example.com',
  '--set-json', 'egress.hosts={"api.anthropic.com":["160.79.104.0/23"],"gitea.example.com":["203.0.113.0/24"]}',
  '--set', 'imagePullSecrets[0]=registry',
  '--set', 'runner.imagePullSecrets[0]=runner-registry',
  '--set', 'watchNamespaces[0]=default',
  '--set', 'worker.extraEnv[0].name=SHEPHERD_PROVIDER_RESYNC_MS',
  '--set-string', 'worker.extraEnv[0].value=5000',
  '--set', 'grafanaDashboard.enabled=true',
]; // prettier-ignore

/** One object of a rendered chart. */
interface Rendered {
  kind: string;
  metadata: { name: string };
  spec?: unknown;
}

/** The objects of a rendered chart, as parsed YAML. */
function documents(rendered: string): Rendered[] {
  return parseAllDocuments(rendered)
    .map((doc) => doc.toJSON() as Rendered | null)
    .filter((doc): doc is Rendered => doc !== null);
}

/** Creates a session whose fake runner runs for an hour, and waits until it is Running. */
async function runningSession(namespace: string, name: string): Promise<AgentSession> {
  await objects.createSession(
    namespace,
    name,
    {
      agent: 'command',
      command: ['sh', '-c', 'echo working'],
      image: 'shepherd/runner:test',
      podMetadata: {
        annotations: { [FAKE_POD_ANNOTATIONS.exitCode]: '0', [FAKE_POD_ANNOTATIONS.duration]: '1h' },
      },
    },
    fixture.worker.labels,
  );
  return eventually(
    `session ${name} to run`,
    () => objects.readSession(namespace, name),
    (s) => s.status?.phase === 'Running',
    90_000,
  );
}

test('helm lint passes, and the strict schema refuses a mistyped key or a value of the wrong type', async () => {
  await helm(kubeconfig, ['lint', CHART_DIR, '--strict', ...ALL_OPTIONS]);
  await assert.rejects(
    helm(kubeconfig, ['template', 'x', CHART_DIR, '--set', 'worker.replica=3']),
    /replica.*not allowed/,
  );
  await assert.rejects(
    helm(kubeconfig, ['template', 'x', CHART_DIR, '--set', 'worker.replicas=two']),
    /worker\/replicas.*want integer/,
  );
  await assert.rejects(
    helm(kubeconfig, ['template', 'x', CHART_DIR, '--set', 'temporal.address=no-port']),
    /temporal\/address/,
  );
  await assert.rejects(
    helm(kubeconfig, ['template', 'x', CHART_DIR, '--set', 'forges[0].type=gitlab']),
    /forges/,
  );
  await assert.rejects(
    helm(kubeconfig, ['template', 'x', CHART_DIR, '--set', 'watchNamespaces[0]=Team_A']),
    /watchNamespaces\/0/,
  );
});

test('everything the chart renders, every option on, passes a server-side dry run', async () => {
  const rendered = await helm(kubeconfig, [
    'template',
    'dry',
    CHART_DIR,
    '--namespace',
    'default',
    ...ALL_OPTIONS,
  ]);
  const docs = documents(rendered);
  const kinds = new Set(docs.map((d) => d.kind));
  for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'PodDisruptionBudget', 'NetworkPolicy', 'Ingress', 'Job', 'AgentConfig', 'CustomResourceDefinition', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'FlowSchema'])
    assert.ok(kinds.has(kind), `the chart renders a ${kind}`); // prettier-ignore

  // The CRDs exist already (the run's release), so a dry run of the whole set is of real objects.
  const file = join(mkdtempSync(join(tmpdir(), 'shepherd-chart-')), 'rendered.yaml');
  writeFileSync(file, rendered);
  const applied = await execa('kubectl', ['apply', '--dry-run=server', '-f', file], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    reject: false,
  });
  assert.equal(applied.exitCode, 0, applied.stderr);
  assert.match(applied.stdout, /deployment.apps\/dry-shepherd-worker created \(server dry run\)/);

  // What the options promise, in the objects themselves.
  const worker = docs.find(
    (d) => d.kind === 'Deployment' && d.metadata.name === 'dry-shepherd-worker',
  ) as k8s.V1Deployment;
  const pod = worker.spec!.template.spec!;
  const container = pod.containers[0]!;
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.TEMPORAL_TLS, 'true');
  assert.equal(env.TEMPORAL_TLS_CLIENT_CERT_PATH, '/etc/shepherd/temporal-tls/tls.crt');
  assert.deepEqual(env.TEMPORAL_API_KEY, { secretKeyRef: { name: 'temporal-cloud', key: 'api-key' } });
  assert.equal(env.SHEPHERD_FORGES, '[{"type":"gitea","url":"https://gitea.example.com"}]');
  assert.equal(
    env.SHEPHERD_EGRESS_HOSTS,
    '{"api.anthropic.com":["160.79.104.0/23"],"gitea.example.com":["203.0.113.0/24"]}',
  );
  assert.equal(env.SHEPHERD_PROVIDER_RESYNC_MS, '5000');
  assert.equal(env.SHEPHERD_WATCH_NAMESPACES, 'default');
  // The replicas elect their leader over a Lease named after the Deployment, in the release's namespace.
  assert.equal(env.SHEPHERD_LEADER_ELECTION, 'true');
  assert.equal(env.SHEPHERD_LEADER_ELECTION_LEASE, 'dry-shepherd-worker');
  assert.equal(env.SHEPHERD_LEADER_ELECTION_NAMESPACE, 'default');
  const electionRole = docs.find(
    (d) => d.kind === 'Role' && d.metadata.name === 'dry-shepherd-worker-leader-election',
  ) as k8s.V1Role | undefined;
  assert.deepEqual(electionRole?.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ]);
  const single = documents(
    await helm(kubeconfig, ['template', 'dry', CHART_DIR, '--set', 'worker.leaderElection.enabled=false']),
  );
  const singleWorker = single.find(
    (d) => d.kind === 'Deployment' && d.metadata.name === 'dry-shepherd-worker',
  ) as k8s.V1Deployment;
  const singleEnv = singleWorker.spec!.template.spec!.containers[0]!.env ?? [];
  assert.deepEqual(
    singleEnv.filter((e) => e.name.startsWith('SHEPHERD_LEADER_ELECTION')),
    [{ name: 'SHEPHERD_LEADER_ELECTION', value: 'false' }],
  );
  assert.ok(
    !single.some((d) => d.metadata.name.endsWith('-leader-election')),
    'no Lease Role when it is off',
  );
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry' }]);
  const config = docs.find((d) => d.kind === 'AgentConfig');
  assert.deepEqual(config?.spec, {
    defaultAgent: 'opencode',
    defaultImage: 'ghcr.io/shepherd-dev/runner:0.2.0',
    imagePullSecrets: [{ name: 'runner-registry' }],
  });

  // The ServiceMonitor's CRD is the Prometheus Operator's, not in this cluster: rendered only.
  const monitoring = documents(
    await helm(kubeconfig, [
      'template',
      'dry',
      CHART_DIR,
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'grafanaDashboard.enabled=true',
    ]),
  );
  type Monitor = {
    metadata: { labels: Record<string, string> };
    spec: {
      selector: { matchLabels: Record<string, string> };
      endpoints: Array<{ port: string; path: string }>;
    };
  };
  const monitors = monitoring.filter((d) => d.kind === 'ServiceMonitor') as unknown as Monitor[];
  assert.deepEqual(
    monitors.map((m) => [
      m.metadata.labels['app.kubernetes.io/component'],
      m.spec.endpoints[0]?.port,
      m.spec.endpoints[0]?.path,
    ]),
    [
      ['api', 'http', '/metrics'],
      ['worker', 'health', '/metrics'],
    ],
  );
  // The workers' monitor finds their pods through a headless Service on the probe port.
  const workerMonitor = monitors[1]!;
  const workerService = monitoring.find(
    (d) =>
      d.kind === 'Service' &&
      Object.entries(workerMonitor.spec.selector.matchLabels).every(
        ([key, value]) => (d.metadata as { labels?: Record<string, string> }).labels?.[key] === value,
      ),
  ) as
    | { spec: { clusterIP: string; selector: Record<string, string>; ports: Array<{ targetPort: string }> } }
    | undefined;
  assert.equal(workerService?.spec.clusterIP, 'None');
  assert.equal(workerService?.spec.selector['app.kubernetes.io/component'], 'worker');
  assert.equal(workerService?.spec.ports[0]?.targetPort, 'health');
  const dashboard = monitoring.find(
    (d) => d.kind === 'ConfigMap' && String(d.metadata?.name).endsWith('-dashboard'),
  ) as { metadata: { labels: Record<string, string> }; data: Record<string, string> } | undefined;
  assert.equal(dashboard?.metadata.labels.grafana_dashboard, '1');
  const panels =
    (
      JSON.parse(dashboard?.data['shepherd.json'] ?? '{}') as {
        panels?: Array<{ targets: Array<{ expr: string }> }>;
      }
    ).panels ?? [];
  const exprs = panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
  for (const metric of [
    'shepherd_sessions',
    'shepherd_session_exits_total',
    'shepherd_attempt_duration_seconds',
    'shepherd_api_http_request_duration_seconds',
  ])
    assert.ok(exprs.includes(metric), `the dashboard does not chart ${metric}`);
  // Off unless asked for (the options above leave it off).
  assert.ok(!docs.some((d) => d.kind === 'ServiceMonitor'));
});

test('an upgrade from the previous chart version keeps the CRDs and a running session; an uninstall leaves the CRDs and nothing else', async (t) => {
  const namespace = await testNamespace(t, kc, 'chart');
  const release = `up-${randomSuffix()}`;
  const crdUids = async (): Promise<string[]> =>
    Promise.all(
      CRDS.map(async (name) => (await apiext.readCustomResourceDefinition({ name })).metadata?.uid ?? ''),
    );
  const before = await crdUids();

  // 0.1.0 held only the CRDs. They exist already, so the release takes them over, as an
  // operator's first install over hand-applied CRDs would. Its AgentConfig CRD lacks
  // imagePullSecrets until the upgrade (for the seconds between, no test of the run relies on it).
  await helm(kubeconfig, ['install', release, PREVIOUS_CHART, '--namespace', namespace, '--take-ownership']);
  const name = 'survives-upgrade';
  const running = await runningSession(namespace, name);

  const configFields = async () =>
    Object.keys(
      (await apiext.readCustomResourceDefinition({ name: 'agentconfigs.shepherd.dev' })).spec.versions[0]
        ?.schema?.openAPIV3Schema?.properties?.spec?.properties ?? {},
    );
  assert.ok(!(await configFields()).includes('imagePullSecrets'), 'the previous version is installed');

  // The CRDs this version adds (NamespacePolicy) exist too, made by the run's own release: the
  // upgrade takes them over as the install took over the others.
  await helm(kubeconfig, ['upgrade', release, CHART_DIR, '--namespace', namespace, '--take-ownership']);
  assert.deepEqual(await crdUids(), before, 'the CRDs were upgraded in place, never replaced');
  assert.ok((await configFields()).includes('imagePullSecrets'), "and carry this version's fields");
  const after = await objects.readSession(namespace, name);
  assert.equal(after.metadata.uid, running.metadata.uid);
  assert.equal(after.status?.phase, 'Running');
  const deployments = await kc
    .makeApiClient(k8s.AppsV1Api)
    .listNamespacedDeployment({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  assert.deepEqual(deployments.items.map((d) => d.metadata?.name).sort(), [
    `${release}-shepherd-api`,
    `${release}-shepherd-worker`,
  ]);

  await helm(kubeconfig, ['uninstall', release, '--namespace', namespace, '--wait']);
  assert.deepEqual(await crdUids(), before, 'crds.keep left the CRDs');
  assert.equal(
    (await objects.readSession(namespace, name)).status?.phase,
    'Running',
    'and the session with them',
  );
  const selector = { labelSelector: `app.kubernetes.io/instance=${release}` };
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const left = {
    deployments: (await apps.listNamespacedDeployment({ namespace, ...selector })).items.length,
    services: (await core.listNamespacedService({ namespace, ...selector })).items.length,
    serviceAccounts: (await core.listNamespacedServiceAccount({ namespace, ...selector })).items.length,
    budgets: (await policy.listNamespacedPodDisruptionBudget({ namespace, ...selector })).items.length,
    clusterRoles: (await rbac.listClusterRole(selector)).items.length,
    clusterRoleBindings: (await rbac.listClusterRoleBinding(selector)).items.length,
    admissionPolicies: (await admission.listValidatingAdmissionPolicy(selector)).items.length,
    admissionBindings: (await admission.listValidatingAdmissionPolicyBinding(selector)).items.length,
    releaseRecords: (
      await core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` })
    ).items.length,
  };
  assert.deepEqual(left, { deployments: 0, services: 0, serviceAccounts: 0, budgets: 0, clusterRoles: 0, clusterRoleBindings: 0, admissionPolicies: 0, admissionBindings: 0, releaseRecords: 0 }); // prettier-ignore
});

test("each ServiceAccount is refused what it must not do: the API's, the worker's and a runner's", async (t) => {
  const namespace = await testNamespace(t, kc, 'deny');
  const api = processKubeConfig('api');
  const worker = processKubeConfig('worker');
  assert.notEqual(
    api.getCurrentUser()?.name,
    kc.getCurrentUser()?.name,
    'the run installed the chart: not admin',
  );
  const as = (config: k8s.KubeConfig) => ({
    core: config.makeApiClient(k8s.CoreV1Api),
    batch: config.makeApiClient(k8s.BatchV1Api),
    rbac: config.makeApiClient(k8s.RbacAuthorizationV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
  });
  const job = { metadata: { name: 'not-yours' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'x' }] } } } }; // prettier-ignore

  // The API: no Secret listed (it may get one an AgentTrigger names, never enumerate them), no
  // Job, PVC or RBAC made: sessions run only through the worker.
  const a = as(api);
  assert.ok(await forbidden(() => a.core.listNamespacedSecret({ namespace })), 'API: list Secrets');
  assert.ok(
    await forbidden(() => a.batch.createNamespacedJob({ namespace, body: job })),
    'API: create a Job',
  );
  assert.ok(
    await forbidden(() =>
      a.core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: {
          metadata: { name: 'x' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      }),
    ),
    'API: create a PVC',
  );
  assert.ok(await forbidden(() => a.core.deleteNamespace({ name: namespace })), 'API: delete a namespace');

  // The worker: no Secret listed, no cluster-wide RBAC, no namespace deleted, and no Role
  // granting more than it holds (the API server's escalation check).
  const w = as(worker);
  assert.ok(await forbidden(() => w.core.listSecretForAllNamespaces()), 'worker: list Secrets');
  // Leases only where its leader election keeps them, and never deleted.
  const leases = worker.makeApiClient(k8s.CoordinationV1Api);
  assert.ok(
    await forbidden(() =>
      leases.createNamespacedLease({ namespace, body: { metadata: { name: 'not-yours' }, spec: {} } }),
    ),
    'worker: create a Lease outside the release namespace',
  );
  assert.ok(
    await forbidden(() =>
      leases.deleteNamespacedLease({ name: 'shepherd-worker', namespace: TEST_RELEASE.namespace }),
    ),
    'worker: delete a Lease',
  );
  assert.ok(await forbidden(() => w.core.deleteNamespace({ name: namespace })), 'worker: delete a namespace');
  assert.ok(
    await forbidden(() =>
      w.rbac.createClusterRoleBinding({
        body: {
          metadata: { name: `steal-${randomSuffix()}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [
            { kind: 'ServiceAccount', name: TEST_ACCOUNTS.worker, namespace: TEST_RELEASE.namespace },
          ],
        },
      }),
    ),
    'worker: bind cluster-admin',
  );
  assert.ok(
    await forbidden(() =>
      w.rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: 'wider' },
          rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
        },
      }),
    ),
    'worker: a Role wider than its own rights',
  );

  // A runner: its session's ServiceAccount reads its own session and writes nothing.
  const name = 'runner-rights';
  await runningSession(namespace, name);
  const runnerFile = join(mkdtempSync(join(tmpdir(), 'shepherd-runner-')), 'runner.kubeconfig');
  const runner = new k8s.KubeConfig();
  runner.loadFromFile(
    await serviceAccountKubeconfig(kc, namespace, sessionObjectNames(name).runner, runnerFile, 1),
  );
  const r = as(runner);
  const session = { group: GROUP, version: VERSION, namespace, plural: PLURAL.agentSession, name };
  const own = (await r.custom.getNamespacedCustomObject(session)) as AgentSession;
  assert.equal(own.metadata.name, name, 'a runner reads its own session');
  assert.ok(
    await forbidden(() =>
      r.custom.patchNamespacedCustomObjectStatus(
        { ...session, body: [{ op: 'replace', path: '/status/phase', value: 'Succeeded' }] },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      ),
    ),
    'runner: write its status',
  );
  assert.ok(await forbidden(() => r.core.listNamespacedSecret({ namespace })), 'runner: list Secrets');
  assert.ok(
    await forbidden(() => r.custom.listNamespacedCustomObject({ ...session, name: undefined } as never)),
    'runner: list sessions',
  );
});

test("the worker's Lease requests are served at the leader-election priority level, its other calls are not", async () => {
  const worker = processKubeConfig('worker');
  const flowControl = kc.makeApiClient(k8s.FlowcontrolApiserverV1Api);
  const { items: schemas } = await flowControl.listFlowSchema({
    labelSelector: `app.kubernetes.io/instance=${TEST_RELEASE.name},app.kubernetes.io/component=worker`,
  });
  const schema = schemas.find((s) => s.metadata?.name?.startsWith(`${TEST_RELEASE.namespace}-`));
  assert.equal(schema?.spec?.priorityLevelConfiguration.name, 'leader-election');
  const level = await flowControl.readPriorityLevelConfiguration({ name: 'leader-election' });

  // The API server names, on every answer, the FlowSchema and priority level that served it.
  const servedBy = async (call: () => Promise<unknown>) => {
    const headers = await call().then(
      (answer) => (answer as { headers: Record<string, string> }).headers,
      (error: unknown) => (error as k8s.ApiException<unknown>).headers,
    );
    return {
      schema: headers['x-kubernetes-pf-flowschema-uid'],
      level: headers['x-kubernetes-pf-prioritylevel-uid'],
    };
  };
  const leases = worker.makeApiClient(k8s.CoordinationV1Api);
  const renewal = await servedBy(() =>
    leases.readNamespacedLeaseWithHttpInfo({ name: 'no-such-lease', namespace: TEST_RELEASE.namespace }),
  );
  assert.deepEqual(renewal, { schema: schema?.metadata?.uid, level: level.metadata?.uid });
  const other = await servedBy(() =>
    worker.makeApiClient(k8s.CoreV1Api).listNamespacedPodWithHttpInfo({ namespace: TEST_RELEASE.namespace }),
  );
  assert.ok(other.schema, 'the API server names the FlowSchema of every request');
  assert.notEqual(other.schema, schema?.metadata?.uid, 'a pod list keeps its usual flow');
  assert.notEqual(other.level, level.metadata?.uid);
});
