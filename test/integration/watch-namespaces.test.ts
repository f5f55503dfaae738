/**
 * Namespaced mode on the real API server: a release of the chart with `watchNamespaces` set to one
 * namespace, and a real worker process and the API running with that release's ServiceAccount
 * tokens and SHEPHERD_WATCH_NAMESPACES. A session in the listed namespace runs; one in another
 * namespace is never seen, so never started; the worker's account is refused pods outside its
 * namespace and any cluster-wide list; the API serves the listed namespace and offers only it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL, SESSION_LABEL, VERSION } from '../../src/resources/constants.js';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { CHART_DIR, helm, serviceAccountKubeconfig } from '../support/chart-release.js';
import { envVar, eventually, kubeConfig, randomSuffix, forbidden } from '../support/kube.js';
import { aliceHeaders, createApiNamespace, grantSessions, kubernetesApi } from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const kubeconfig = envVar('KUBECONFIG');
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const objects = shepherdObjects(kc);
const release = `wn-${randomSuffix()}`;
const releaseNamespace = `${release}-system`;
const dir = mkdtempSync(join(tmpdir(), 'shepherd-watch-namespaces-'));

let watched: string;
let other: string;
let worker: WorkerProcess;
let workerKc: k8s.KubeConfig;
let apiKc: k8s.KubeConfig;
let connection: Connection;
let client: Client;

/** A `command` session whose fake runner exits 0 after a second. */
const spec: AgentSessionSpec = {
  agent: 'command',
  command: ['sh', '-c', 'echo working'],
  image: 'shepherd/runner:test',
  podMetadata: {
    annotations: { [FAKE_POD_ANNOTATIONS.exitCode]: '0', [FAKE_POD_ANNOTATIONS.duration]: '1s' },
  },
};

/** A kubeconfig of one of the release's ServiceAccounts, loaded. */
async function accountKubeConfig(component: 'worker' | 'api'): Promise<k8s.KubeConfig> {
  const account = `${release}-shepherd-${component}`;
  const file = await serviceAccountKubeconfig(
    kc,
    releaseNamespace,
    account,
    join(dir, `${component}.kubeconfig`),
    1,
  );
  const config = new k8s.KubeConfig();
  config.loadFromFile(file);
  return config;
}

before(async () => {
  // The Roles are made in the listed namespace, so it exists before the install.
  watched = await createApiNamespace(kc, 'wn-in');
  other = await createApiNamespace(kc, 'wn-out');
  // The run's release owns the CRDs; this one's Deployments are not needed (the test runs the
  // worker and the API itself, as this release's accounts).
  await helm(kubeconfig, [
    'install', release, CHART_DIR,
    '--namespace', releaseNamespace, '--create-namespace',
    '--set', 'crds.enabled=false',
    '--set', `watchNamespaces[0]=${watched}`,
    '--set', 'worker.replicas=0',
    '--set', 'api.replicas=0',
  ]); // prettier-ignore
  workerKc = await accountKubeConfig('worker');
  apiKc = await accountKubeConfig('api');
  worker = await startWorkerProcess({
    KUBECONFIG: join(dir, 'worker.kubeconfig'),
    SHEPHERD_WATCH_NAMESPACES: watched,
  });
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
});

after(async () => {
  await worker?.stop();
  await connection?.close();
  await helm(kubeconfig, ['uninstall', release, '--namespace', releaseNamespace, '--wait']).catch(
    () => undefined,
  );
  for (const name of [watched, other, releaseNamespace])
    if (name) await core.deleteNamespace({ name }).catch(() => undefined);
});

test('a session in the listed namespace runs to Succeeded; one in another namespace is never started', async () => {
  const outsideAt = Date.now();
  await objects.createSession(other, 'outside', spec, worker.labels);
  await objects.createSession(watched, 'inside', spec, worker.labels);

  const inside = await eventually(
    'session inside to succeed',
    () => objects.readSession(watched, 'inside'),
    (s) => s.status?.phase === 'Succeeded',
    90_000,
  );
  assert.equal(inside.status?.phase, 'Succeeded');

  // Long enough for the controller to have started it many times over, had it seen it.
  await sleep(Math.max(0, outsideAt + 10_000 - Date.now()));
  const outside = await objects.readSession(other, 'outside');
  assert.equal(outside.status, undefined, 'the session outside has no status');
  const jobs = await batch.listNamespacedJob({ namespace: other, labelSelector: `${SESSION_LABEL}=outside` });
  assert.equal(jobs.items.length, 0, 'and no Job');
  await assert.rejects(
    client.workflow.getHandle(sessionWorkflowId(other, 'outside')).describe(),
    WorkflowNotFoundError,
    'and no workflow',
  );

  // The worker made no call its Roles refuse: nothing cluster-wide but what its ClusterRole allows.
  const log = readFileSync(worker.logFile, 'utf8');
  assert.doesNotMatch(
    log,
    /forbidden|informer stopped on an error|resync failed/i,
    `the worker was refused a call; see ${worker.logFile}`,
  );
});

test("the worker's ServiceAccount is refused pods in another namespace and every cluster-wide list", async () => {
  const w = {
    core: workerKc.makeApiClient(k8s.CoreV1Api),
    batch: workerKc.makeApiClient(k8s.BatchV1Api),
    custom: workerKc.makeApiClient(k8s.CustomObjectsApi),
  };
  const sessions = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };
  // What it may do, so the refusals below are of the namespace and not of everything.
  await w.core.listNamespacedPod({ namespace: watched });
  await w.custom.listNamespacedCustomObject({ ...sessions, namespace: watched });

  assert.ok(
    await forbidden(() => w.core.listNamespacedPod({ namespace: other })),
    'pods in another namespace',
  );
  assert.ok(
    await forbidden(() => w.custom.listNamespacedCustomObject({ ...sessions, namespace: other })),
    'sessions in another namespace',
  );
  assert.ok(await forbidden(() => w.core.listPodForAllNamespaces()), 'pods cluster-wide');
  assert.ok(await forbidden(() => w.batch.listJobForAllNamespaces()), 'Jobs cluster-wide');
  assert.ok(await forbidden(() => w.custom.listClusterCustomObject(sessions)), 'sessions cluster-wide');
});

test("the API as the release's account serves the listed namespace, offers only it and refuses another", async () => {
  // Alice may use sessions in both namespaces; the API is limited to one.
  await grantSessions(kc, watched, 'alice');
  await grantSessions(kc, other, 'alice');
  const app: FastifyInstance = await kubernetesApi(client, worker.taskQueue, {
    kubeConfig: apiKc,
    namespaces: [watched],
  });
  try {
    const session = await app.inject({
      url: `/api/v1/namespaces/${watched}/sessions/inside`,
      headers: aliceHeaders(),
    });
    assert.equal(session.statusCode, 200, session.body);
    assert.equal(session.json<{ status?: { phase?: string } }>().status?.phase, 'Succeeded');

    const namespaces = await app.inject({ url: '/api/v1/user/namespaces', headers: aliceHeaders() });
    assert.equal(namespaces.statusCode, 200, namespaces.body);
    assert.deepEqual(namespaces.json(), { namespaces: [watched] });

    // A session elsewhere is refused by the API itself, saying why, rather than by its Roles.
    const refused = await app.inject({
      method: 'POST',
      url: `/api/v1/namespaces/${other}/sessions`,
      headers: aliceHeaders(),
      payload: { metadata: { name: 'elsewhere', labels: worker.labels }, spec },
    });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.json<{ message: string }>().message, /SHEPHERD_WATCH_NAMESPACES/);
  } finally {
    await app.close();
  }
});
