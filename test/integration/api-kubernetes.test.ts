/**
 * The API in kubernetes mode against the real environment: real TokenReview and
 * SubjectAccessReview on the test API server, AgentSession CRs, a real worker running the
 * sessions on KWOK, and the `shepherd` CLI as a child process against the API on a real port.
 * Alice has a RoleBinding in one namespace only; she works there and is refused everywhere else.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { benchApi } from '../../bench/api.js';
import type { ApiSession } from '../../src/api/session-backend.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { repoRoot } from '../../src/processes/tools.js';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { envVar, eventually, kubeConfig } from '../support/kube.js';
import {
  aliceHeaders,
  aliceToken,
  createApiNamespace,
  fakeRunSession,
  grantSessions,
  kubernetesApi,
} from '../support/kubernetes-api.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const alice = aliceHeaders();

let worker: WorkerProcess;
let connection: Connection;
let app: FastifyInstance;
let server: RunningServer;
let nsA: string;
let nsB: string;

/** A `command` session whose fake runner exits `exitCode` after `duration`. */
function fakeRun(name: string, exitCode: number, duration: string) {
  return fakeRunSession(name, worker.labels, { exitCode, duration });
}

async function getAs(headers: Record<string, string>, namespace: string, name: string): Promise<ApiSession> {
  const response = await app.inject({ url: `/api/v1/namespaces/${namespace}/sessions/${name}`, headers });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<ApiSession>();
}

before(async () => {
  await installCrds(kc);
  worker = await startWorkerProcess();
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  app = await kubernetesApi(new Client({ connection }), worker.taskQueue);
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
  nsA = await createApiNamespace(kc, 'api-a');
  nsB = await createApiNamespace(kc, 'api-b');
  await grantSessions(kc, nsA, 'alice', { watch: true, logs: true });
});

after(async () => {
  await server?.close();
  await worker?.stop();
  await connection?.close();
  for (const name of [nsA, nsB]) if (name) await core.deleteNamespace({ name }).catch(() => undefined);
});

test('alice creates, lists, reads the logs of and stops a session in her namespace', async () => {
  const created = await app.inject({
    method: 'POST',
    url: `/api/v1/namespaces/${nsA}/sessions`,
    headers: alice,
    payload: fakeRun('long-task', 0, '1h'),
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.headers.location, `/api/v1/namespaces/${nsA}/sessions/long-task`);
  const session = created.json<ApiSession>();
  assert.ok(session.metadata.uid);
  // The CR is what kubectl sees.
  const cr = await shepherdObjects(kc).readSession(nsA, 'long-task');
  assert.equal(cr.metadata.uid, session.metadata.uid);

  const list = await app.inject({ url: `/api/v1/namespaces/${nsA}/sessions?limit=10`, headers: alice });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(
    list.json<{ items: ApiSession[] }>().items.map((s) => s.metadata.name),
    ['long-task'],
  );

  const running = await eventually(
    'the session to be Running',
    () => getAs(alice, nsA, 'long-task'),
    (s) => s.status.phase === 'Running' && Boolean(s.status.runnerPodName),
    60_000,
  );
  const byPhase = await app.inject({
    url: `/api/v1/namespaces/${nsA}/sessions?phase=Running`,
    headers: alice,
  });
  assert.equal(byPhase.json<{ items: ApiSession[] }>().items.length, 1);
  const none = await app.inject({ url: `/api/v1/namespaces/${nsA}/sessions?phase=Failed`, headers: alice });
  assert.equal(none.json<{ items: ApiSession[] }>().items.length, 0);

  // KWOK's fake node has no kubelet to serve container logs: the API must say so clearly rather
  // than hang or fail with an internal error. With a real node this streams the runner's output.
  const logs = await fetch(`${server.url}/api/v1/namespaces/${nsA}/sessions/long-task/logs?follow=true`, {
    headers: alice,
    signal: AbortSignal.timeout(10_000),
  });
  if (logs.status === 200) {
    assert.match(String(logs.headers.get('content-type')), /^text\/plain/);
    await logs.body?.cancel();
  } else {
    const error = (await logs.json()) as { code: string; message: string };
    console.log(`# logs endpoint on KWOK answered ${logs.status} ${error.code}: ${error.message}`);
    assert.ok([404, 502].includes(logs.status), `${logs.status} ${JSON.stringify(error)}`);
    assert.ok(['NotFound', 'LogsUnavailable'].includes(error.code));
    assert.match(error.message, new RegExp(running.status.runnerPodName ?? 'runner'));
  }

  const stopped = await app.inject({
    method: 'POST',
    url: `/api/v1/namespaces/${nsA}/sessions/long-task/stop`,
    headers: alice,
  });
  assert.equal(stopped.statusCode, 202, stopped.body);
  assert.equal(stopped.json<ApiSession>().spec.desiredState, 'Stopped');
  const final = await eventually(
    'the session to be Stopped',
    () => getAs(alice, nsA, 'long-task'),
    (s) => s.status.phase === 'Stopped',
    60_000,
  );
  assert.equal(
    final.status.conditions?.find((c) => c.type === 'Failed')?.reason ?? 'UserStopped',
    'UserStopped',
  );
});

test('alice gets 403 in a namespace where she has no RoleBinding, and nothing is created there', async () => {
  for (const [method, url] of [
    ['POST', `/api/v1/namespaces/${nsB}/sessions`],
    ['GET', `/api/v1/namespaces/${nsB}/sessions`],
    ['GET', `/api/v1/namespaces/${nsB}/sessions/x`],
    ['GET', `/api/v1/namespaces/${nsB}/sessions/x/logs`],
    ['DELETE', `/api/v1/namespaces/${nsB}/sessions/x`],
    ['POST', `/api/v1/namespaces/${nsB}/sessions/x/stop`],
  ] as const) {
    const response = await app.inject({
      method,
      url,
      headers: alice,
      ...(method === 'POST' && url.endsWith('sessions') ? { payload: fakeRun('sneaky', 0, '1s') } : {}),
    });
    assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
    const error = response.json<{ code: string; message: string }>();
    assert.equal(error.code, 'Forbidden');
    assert.match(error.message, /alice/);
  }
  const inB = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL.agentSession,
    namespace: nsB,
  })) as { items: unknown[] };
  assert.equal(inB.items.length, 0);
});

test('/user/namespaces lists the namespace alice may use and not the other', async () => {
  const response = await app.inject({ url: '/api/v1/user/namespaces', headers: alice });
  assert.equal(response.statusCode, 200, response.body);
  const { namespaces } = response.json<{ namespaces: string[] }>();
  assert.ok(namespaces.includes(nsA), `${nsA} missing from ${namespaces.join(', ')}`);
  assert.ok(!namespaces.includes(nsB));
  assert.ok(!namespaces.includes('kube-system'));
});

test('a call without a token, or with a token the API server rejects, gets 401', async () => {
  for (const headers of [{}, { authorization: 'Bearer not-a-real-token' }]) {
    for (const url of [`/api/v1/namespaces/${nsA}/sessions`, '/api/v1/user/namespaces']) {
      const response = await app.inject({ url, headers });
      assert.equal(response.statusCode, 401, response.body);
      assert.equal(response.json<{ code: string }>().code, 'Unauthenticated');
    }
  }
});

test('/readyz sees Temporal and the API server', async () => {
  const response = await app.inject({ url: '/readyz' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: 'ok', checks: { temporal: true, kubernetes: true } });
});

/** Runs the installed CLI entry point against the API on its port, as alice in namespace A. */
function shepherd(args: string[]) {
  return execa(process.execPath, [join(repoRoot, 'bin', 'shepherd.js'), ...args], {
    cwd: repoRoot,
    reject: false,
    timeout: 120_000,
    env: {
      SHEPHERD_API_URL: server.url,
      SHEPHERD_TOKEN: aliceToken(),
      SHEPHERD_NAMESPACE: nsA,
      XDG_CONFIG_HOME: '/nonexistent',
    },
  });
}

function cliRun(name: string, exitCode: number): string[] {
  const [key, value] = Object.entries(worker.labels)[0] ?? ['', ''];
  return [
    'run',
    '--wait',
    '--name',
    name,
    '--image',
    'shepherd/runner:test',
    '--label',
    `${key}=${value}`,
    '--annotation',
    `${FAKE_POD_ANNOTATIONS.exitCode}=${exitCode}`,
    '--annotation',
    `${FAKE_POD_ANNOTATIONS.duration}=1s`,
    '--',
    'sh',
    '-c',
    'echo working',
  ];
}

test('shepherd run --wait exits 0 when the session succeeds and non-zero when it fails', async () => {
  const [ok, failing] = await Promise.all([shepherd(cliRun('cli-ok', 0)), shepherd(cliRun('cli-fails', 1))]);
  assert.equal(ok.exitCode, 0, `${ok.stdout}\n${ok.stderr}`);
  // The watch shows the runner's start; a 1-second runner on a busy machine may end before its
  // Running phase is ever written, so the phase itself is not required.
  assert.match(ok.stderr, /RunnerStarted=True Started/);
  assert.match(ok.stdout, /Phase:\s+Succeeded/);
  assert.notEqual(failing.exitCode, 0, `${failing.stdout}\n${failing.stderr}`);
  assert.match(failing.stdout, /Phase:\s+Failed/);
  assert.match(failing.stderr, /Failed=True RunnerExit/);

  const list = await shepherd(['list', '-o', 'json']);
  assert.equal(list.exitCode, 0, list.stderr);
  const names = (JSON.parse(list.stdout) as { items: ApiSession[] }).items.map((s) => s.metadata.name);
  assert.ok(names.includes('cli-ok') && names.includes('cli-fails'));
  const forbidden = await shepherd(['-n', nsB, 'get', 'cli-ok']);
  assert.equal(forbidden.exitCode, 1);
  assert.match(forbidden.stderr, /Forbidden/);
  const deleted = await shepherd(['delete', 'cli-ok']);
  assert.equal(deleted.exitCode, 0, deleted.stderr);
});

test('create and list latency on the warm stack (p50/p99, printed)', async () => {
  const result = await benchApi({
    baseUrl: server.url,
    token: aliceToken(),
    namespace: nsA,
    count: 40,
    labels: worker.labels,
    spec: {
      image: 'shepherd/runner:test',
      podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.duration]: '1s' } },
    },
  });
  console.log(`# API latency (ms) over HTTP, kubernetes mode: ${JSON.stringify(result)}`);
  assert.equal(result.create.count, 40);
});
