/**
 * The API in local mode, as `npm start` serves it: sessions created over HTTP run through the
 * real workflow on the local runtime (real worker process, real runner, real git), and the API
 * lists, reads, streams logs of, stops, restarts and deletes them — with no CR anywhere.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { localBackend } from '../../src/runtime/local/local-backend.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import type { ApiSession } from '../../src/api/session-backend.js';
import { bareRepo as makeBareRepo } from '../support/git.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { localRuntimeEnv, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-local-api-'));
const dataDir = join(root, 'data');
const TOKEN = 'local-api-test-token';
const headers = { authorization: `Bearer ${TOKEN}` };
const namespace = `team-${randomSuffix()}`;
const base = `/api/v1/namespaces/${namespace}/sessions`;
let worker: WorkerProcess;
let connection: Connection;
let app: FastifyInstance;

before(async () => {
  worker = await startWorkerProcess(localRuntimeEnv(dataDir));
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  const client = new Client({ connection });
  app = await buildApp({
    backend: localBackend({ client, taskQueue: worker.taskQueue, dataDir }),
    auth: localAuthenticator(TOKEN),
    metrics: createApiMetrics(false),
  });
});
after(async () => {
  await app?.close();
  await worker?.stop();
  await connection?.close();
  rmSync(root, { recursive: true, force: true });
});

const bareRepo = () => makeBareRepo(root);

async function get(name: string): Promise<ApiSession> {
  const response = await app.inject({ method: 'GET', url: `${base}/${name}`, headers });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<ApiSession>();
}

function waitForPhase(name: string, phases: string[]): Promise<ApiSession> {
  return eventually(
    `session ${name} to reach ${phases.join('/')}`,
    () => get(name),
    (s) => phases.includes(s.status?.phase ?? ''),
  );
}

test('a session created over the API runs locally, and is read, listed, logged and restarted through it', async () => {
  const repo = bareRepo();
  const created = await app.inject({
    method: 'POST',
    url: base,
    headers,
    payload: {
      metadata: { name: 'greet', labels: { team: 'a' } },
      spec: {
        agent: 'command',
        command: ['sh', '-c', 'echo "hi $SHEPHERD_ATTEMPT" >> HI.md'],
        repos: [{ url: repo, branch: 'main' }],
      },
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.headers.location, `${base}/greet`);

  const done = await waitForPhase('greet', ['Succeeded', 'Failed']);
  assert.equal(done.status?.phase, 'Succeeded');
  assert.deepEqual(done.metadata.labels, { team: 'a' });
  assert.equal(done.spec.agent, 'command');
  assert.equal(done.status?.reconciledRepos?.[0]?.status, 'Pushed');

  const listed = await app.inject({ method: 'GET', url: `${base}?phase=Succeeded`, headers });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(
    listed.json<{ items: ApiSession[] }>().items.map((s) => s.metadata.name),
    ['greet'],
  );
  const none = await app.inject({ method: 'GET', url: `${base}?phase=Failed`, headers });
  assert.deepEqual(none.json<{ items: ApiSession[] }>().items, []);

  const logs = await app.inject({ method: 'GET', url: `${base}/greet/logs`, headers });
  assert.equal(logs.statusCode, 200, logs.body);
  assert.match(logs.body, /pushed shepherd\/greet/);

  const restarted = await app.inject({ method: 'POST', url: `${base}/greet/restart`, headers });
  assert.equal(restarted.statusCode, 202, restarted.body);
  const again = await eventually(
    'the second run to succeed',
    () => get('greet'),
    (s) => s.status?.attempt === 2 && s.status.phase === 'Succeeded',
  );
  assert.equal(again.status?.reconciledRepos?.[0]?.status, 'Pushed');
  const content = execFileSync('git', ['--git-dir', repo, 'show', 'shepherd/greet:HI.md'], {
    encoding: 'utf8',
  });
  assert.equal(content, 'hi 1\nhi 2\n', 'the restart continued on the same branch');
});

test('stopping over the API ends the session Stopped; deleting it makes it 404', async () => {
  const created = await app.inject({
    method: 'POST',
    url: base,
    headers,
    payload: { metadata: { name: 'long' }, spec: { agent: 'command', command: ['sleep', '300'] } },
  });
  assert.equal(created.statusCode, 201, created.body);
  await waitForPhase('long', ['Running']);
  const stopped = await app.inject({ method: 'POST', url: `${base}/long/stop`, headers });
  assert.equal(stopped.statusCode, 202, stopped.body);
  const done = await waitForPhase('long', ['Stopped']);
  assert.equal(done.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'UserStopped');

  const deleted = await app.inject({ method: 'DELETE', url: `${base}/long`, headers });
  assert.ok([200, 202, 204].includes(deleted.statusCode), deleted.body);
  // Temporal deletes a workflow's runs in the background, which takes seconds on a busy machine.
  const gone = await eventually(
    'the session to be gone',
    async () => {
      const response = await app.inject({ method: 'GET', url: `${base}/long`, headers });
      return { statusCode: response.statusCode, body: response.json<{ code: string }>() };
    },
    (response) => response.statusCode === 404,
    90_000,
  );
  assert.equal(gone.body.code, 'NotFound');
  assert.equal(
    existsSync(join(dataDir, 'sessions', namespace, 'long')),
    false,
    'its workspace and logs are removed',
  );
});

test('a name that is taken gets 409, an unknown session 404, no token 401', async () => {
  const body = { metadata: { name: 'twice' }, spec: { agent: 'command', command: ['true'] } };
  assert.equal((await app.inject({ method: 'POST', url: base, headers, payload: body })).statusCode, 201);
  const again = await app.inject({ method: 'POST', url: base, headers, payload: body });
  assert.equal(again.statusCode, 409, again.body);
  assert.equal((await app.inject({ method: 'GET', url: `${base}/never-was`, headers })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: base })).statusCode, 401);
});

test('a session created with desiredState Stopped is refused locally with 400 naming the field, and nothing starts', async () => {
  const name = `held-${randomSuffix()}`;
  const response = await app.inject({
    method: 'POST',
    url: base,
    headers,
    payload: { metadata: { name }, spec: { agent: 'command', command: ['true'], desiredState: 'Stopped' } },
  });
  assert.equal(response.statusCode, 400, response.body);
  const error = response.json<{ code: string; message: string; details?: { field?: string } }>();
  assert.equal(error.code, 'InvalidSession');
  assert.equal(error.details?.field, 'spec.desiredState');
  assert.match(error.message, /leave desiredState out/);
  const read = await app.inject({ method: 'GET', url: `${base}/${name}`, headers });
  assert.equal(read.statusCode, 404, 'no session was started');
});
