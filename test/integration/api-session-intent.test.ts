/**
 * What the user asks through the API in kubernetes mode is what the session does, with the real
 * worker (workflow, controller, runner watcher) running sessions on KWOK: a session created with
 * desiredState Stopped is held with nothing started until restarted; a stopped session restarts as
 * exactly one new run; and deleting a session and creating it again at once gives a new session
 * that runs, while the old run is cancelled and never touches it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ApiSession } from '../../src/api/session-backend.js';
import { Reason } from '../../src/resources/conditions.js';
import { STOP_REQUESTED_ANNOTATION } from '../../src/resources/constants.js';
import { SESSION_UID_MEMO } from '../../src/session-client/session-commands.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig, randomSuffix } from '../support/kube.js';
import {
  aliceHeaders,
  createApiNamespace,
  fakeRunSession,
  grantSessions,
  kubernetesApi,
} from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const alice = aliceHeaders();

let worker: WorkerProcess;
let connection: Connection;
let client: Client;
let app: FastifyInstance;
let ns: string;

before(async () => {
  await installCrds(kc);
  worker = await startWorkerProcess();
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
  app = await kubernetesApi(client, worker.taskQueue);
  ns = await createApiNamespace(kc, 'intent');
  await grantSessions(kc, ns, 'alice');
});

after(async () => {
  await app?.close();
  await worker?.stop();
  await connection?.close();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

/** A session whose fake runner works for an hour, unless told otherwise. */
function longRun(name: string, spec: Record<string, unknown> = {}) {
  return fakeRunSession(name, worker.labels, { exitCode: 0, duration: '1h' }, spec);
}

async function call(method: 'POST' | 'DELETE', url: string, payload?: object) {
  const response = await app.inject({
    method,
    url: `/api/v1/namespaces/${ns}/sessions${url}`,
    headers: alice,
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: response.json<ApiSession>() };
}

async function get(name: string): Promise<ApiSession> {
  const response = await app.inject({ url: `/api/v1/namespaces/${ns}/sessions/${name}`, headers: alice });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<ApiSession>();
}

function describe(name: string): Promise<WorkflowExecutionDescription> {
  return client.workflow.getHandle(sessionWorkflowId(ns, name)).describe();
}

const untilRunning = (name: string, attempt: number) =>
  eventually(
    `${name} to be Running attempt ${attempt}`,
    () => get(name),
    (s) => s.status.phase === 'Running' && s.status.attempt === attempt && Boolean(s.status.runnerPodName),
    90_000,
  );

test('a session created with desiredState Stopped is held with nothing started, and runs once restarted', async () => {
  const name = `held-${randomSuffix()}`;
  const created = await call('POST', '', longRun(name, { desiredState: 'Stopped' }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.status.phase, 'Stopped', 'the create answer already says Stopped');
  const ready = created.body.status.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.reason, Reason.Held);
  assert.match(ready?.message ?? '', /desiredState to Running/);
  await assert.rejects(describe(name), /not found/i, 'no workflow for a held session');
  const cr = await shepherdObjects(kc).readSession(ns, name);
  assert.equal(cr.metadata.annotations?.[STOP_REQUESTED_ANNOTATION], '1');

  const restarted = await call('POST', `/${name}/restart`);
  assert.equal(restarted.status, 202, JSON.stringify(restarted.body));
  assert.equal(restarted.body.spec.desiredState, 'Running');
  const running = await untilRunning(name, 1);
  assert.equal(running.metadata.uid, created.body.metadata.uid);
  const run = await describe(name);
  assert.equal(run.memo?.[SESSION_UID_MEMO], created.body.metadata.uid);
  await eventually(
    'the stop record to be removed',
    () => shepherdObjects(kc).readSession(ns, name),
    (s) => s.metadata.annotations?.[STOP_REQUESTED_ANNOTATION] === undefined,
  );
  await call('DELETE', `/${name}`);
});

test('a session stopped through the API restarts once as a new run on the next attempt', async () => {
  const name = `restart-${randomSuffix()}`;
  assert.equal((await call('POST', '', longRun(name))).status, 201);
  await untilRunning(name, 1);
  const first = await describe(name);
  assert.equal((await call('POST', `/${name}/stop`)).status, 202);
  await eventually(
    'the session to be Stopped',
    () => get(name),
    (s) => s.status.phase === 'Stopped',
    90_000,
  );

  assert.equal((await call('POST', `/${name}/restart`)).status, 202);
  const running = await untilRunning(name, 2);
  const second = await describe(name);
  assert.notEqual(second.runId, first.runId, 'a new run');
  assert.equal(running.status.runId, second.runId, "the status is the new run's");
  // Exactly one restart: the attempt stays 2 while the runner works.
  await eventually(
    'the stop record to be removed',
    () => shepherdObjects(kc).readSession(ns, name),
    (s) => s.metadata.annotations?.[STOP_REQUESTED_ANNOTATION] === undefined,
  );
  assert.equal((await get(name)).status.attempt, 2);
  assert.equal((await describe(name)).runId, second.runId);
  await call('DELETE', `/${name}`);
});

test('deleting a session and creating it again at once gives a new session that runs, on its own run', async () => {
  const name = `again-${randomSuffix()}`;
  const old = await call('POST', '', longRun(name));
  assert.equal(old.status, 201);
  await untilRunning(name, 1);
  const oldRun = await describe(name);

  assert.equal((await call('DELETE', `/${name}`)).status, 200);
  const created = await eventually(
    'the name to be free again',
    () => call('POST', '', longRun(name)),
    (r) => r.status === 201,
    60_000,
  );
  assert.notEqual(created.body.metadata.uid, old.body.metadata.uid);

  const running = await untilRunning(name, 1);
  assert.equal(running.metadata.uid, created.body.metadata.uid);
  const newRun = await describe(name);
  assert.notEqual(newRun.runId, oldRun.runId);
  assert.equal(newRun.memo?.[SESSION_UID_MEMO], created.body.metadata.uid);
  assert.equal(running.status.runId, newRun.runId, "the new CR's status comes from its own run");
  const closed = await client.workflow.getHandle(sessionWorkflowId(ns, name), oldRun.runId).describe();
  assert.notEqual(closed.status.name, 'RUNNING', 'the old run was ended');
  await call('DELETE', `/${name}`);
});
