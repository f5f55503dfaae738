/**
 * What the kubernetes-mode API answers where the API server alone would answer late or
 * misleadingly: a session being deleted (its finalizer still running) is already gone from GET and
 * list; a made-up or truncated continue token is a 400 naming the parameter at once; a create in a
 * namespace that does not exist says so; a spec Kubernetes would refuse only when creating the Job
 * is refused before any object exists. Real API server, real TokenReview/SubjectAccessReview.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import { kubernetesAuthenticator } from '../../src/runtime/kubernetes/kubernetes-auth.js';
import { kubernetesBackend } from '../../src/runtime/kubernetes/kubernetes-backend.js';
import { installCrds } from '../support/crds.js';
import { envVar, kubeConfig, randomSuffix, processKubeConfig } from '../support/kube.js';

const kc = kubeConfig();
// The API runs as the chart's ServiceAccount; the tests' own calls are admin's.
const apiKc = processKubeConfig('api');
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
/** The environment's admin (system:masters), whose token the kubeconfig holds. */
const admin = { authorization: `Bearer ${kc.getCurrentUser()?.token ?? ''}` };
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const crApi = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };
const FINALIZER = 'shepherd.dev/test-cleanup';

let connection: Connection;
let app: FastifyInstance;
let namespace: string;

before(async () => {
  await installCrds(kc);
  namespace = `refuse-${randomSuffix()}`;
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'shepherd.dev/test': 'true' } } },
  });
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  app = await buildApp({
    backend: kubernetesBackend({
      kubeConfig: apiKc,
      client: new Client({ connection }),
      taskQueue: `refuse-${randomSuffix()}`,
      logger: silent,
    }),
    auth: kubernetesAuthenticator({ kubeConfig: apiKc }),
    metrics: createApiMetrics(false),
  });
});
after(async () => {
  await app?.close();
  await connection?.close();
  if (namespace) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const sessions = () => `/api/v1/namespaces/${namespace}/sessions`;
const stopped = (name: string) => ({
  metadata: { name },
  spec: { agent: 'command', command: ['true'], desiredState: 'Stopped' },
});

test('a deleted session whose cleanup is still running is gone from GET, list, stop and a second DELETE', async () => {
  const created = await app.inject({
    method: 'POST',
    url: sessions(),
    headers: admin,
    payload: stopped('going'),
  });
  assert.equal(created.statusCode, 201, created.body);
  // A finalizer keeps the object while cleanup runs, as a controller's would.
  await custom.patchNamespacedCustomObject({
    ...crApi,
    namespace,
    name: 'going',
    body: [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }],
  });
  const deleted = await app.inject({ method: 'DELETE', url: `${sessions()}/going`, headers: admin });
  assert.equal(deleted.statusCode, 200, deleted.body);
  const still = (await custom.getNamespacedCustomObject({ ...crApi, namespace, name: 'going' })) as {
    metadata: { deletionTimestamp?: string };
  };
  assert.ok(still.metadata.deletionTimestamp, 'the object is still there, being deleted');

  const got = await app.inject({ url: `${sessions()}/going`, headers: admin });
  assert.equal(got.statusCode, 404, got.body);
  assert.equal(got.json<{ code: string }>().code, 'NotFound');
  const listed = await app.inject({ url: sessions(), headers: admin });
  assert.deepEqual(
    listed.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((s) => s.metadata.name),
    [],
  );
  for (const [method, url] of [
    ['POST', `${sessions()}/going/stop`],
    ['POST', `${sessions()}/going/restart`],
    ['DELETE', `${sessions()}/going`],
  ] as const) {
    const response = await app.inject({ method, url, headers: admin });
    assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`);
  }
  await custom.patchNamespacedCustomObject({
    ...crApi,
    namespace,
    name: 'going',
    body: [{ op: 'remove', path: '/metadata/finalizers' }],
  });
});

test('a malformed continue token is a 400 naming the parameter, without asking the API server', async () => {
  const valid = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: 'x' })).toString('base64url');
  for (const token of ['abc', 'AAAA', 'not-a-token', Buffer.from('{"v":"x"}').toString('base64url')]) {
    const response = await app.inject({ url: `${sessions()}?continue=${token}`, headers: admin });
    assert.equal(response.statusCode, 400, `${token}: ${response.body}`);
    const body = response.json<{ code: string; details: { field: string } }>();
    assert.equal(body.code, 'InvalidRequest');
    assert.equal(body.details.field, 'continue');
  }
  // A well-formed token the API server no longer knows (compacted) is its 410, as ContinueExpired,
  // or an empty page when the server still serves that resource version.
  const old = await app.inject({ url: `${sessions()}?continue=${valid}`, headers: admin });
  assert.ok([200, 400, 410].includes(old.statusCode), old.body);
  assert.notEqual(old.statusCode, 500, old.body);
});

test('a create in a namespace that does not exist is 404 naming the namespace, and nothing is created', async () => {
  const missing = `nowhere-${randomSuffix()}`;
  const response = await app.inject({
    method: 'POST',
    url: `/api/v1/namespaces/${missing}/sessions`,
    headers: admin,
    payload: stopped('lost'),
  });
  assert.equal(response.statusCode, 404, response.body);
  assert.match(
    response.json<{ message: string }>().message,
    new RegExp(`namespace ${missing} does not exist`),
  );
});

test('a spec the Job creation would refuse is a 400 naming the field, and no AgentSession is created', async () => {
  for (const [spec, field] of [
    [{ podMetadata: { labels: { team: 'a b' } } }, 'spec.podMetadata.labels.team'],
    [{ resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }, 'spec.resources.requests'],
    [{ nodeSelector: { 'bad key': 'a' } }, 'spec.nodeSelector'],
  ] as const) {
    const response = await app.inject({
      method: 'POST',
      url: sessions(),
      headers: admin,
      payload: { metadata: { name: 'bad' }, spec: { agent: 'command', command: ['true'], ...spec } },
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(response.json<{ details: { field: string } }>().details.field, field);
  }
  const listed = (await custom.listNamespacedCustomObject({ ...crApi, namespace })) as { items: unknown[] };
  assert.equal(
    listed.items.filter((s) => (s as { metadata: { name: string } }).metadata.name === 'bad').length,
    0,
  );
});
