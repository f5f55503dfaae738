/**
 * A conversation over the local API, as `npm start` serves it (real worker process, real runner,
 * real git, no CR): a session kept open goes Idle after its turn, its followed log ends there, a
 * prompt over the API starts turn 2 on the same branch with that prompt, a second prompt while it
 * is taken is refused with the reason, and a stopped session refuses with its own (an approval
 * too).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import type { ApiSession, PromptResult } from '../../src/api/session-backend.js';
import { localBackend } from '../../src/runtime/local/local-backend.js';
import { bareRepo } from '../support/git.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { localRuntimeEnv, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-local-prompts-'));
const dataDir = join(root, 'data');
const namespace = `team-${randomSuffix()}`;
const base = `/api/v1/namespaces/${namespace}/sessions`;
let worker: WorkerProcess;
let connection: Connection;
let app: FastifyInstance;

before(async () => {
  worker = await startWorkerProcess(localRuntimeEnv(dataDir));
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  app = await buildApp({
    backend: localBackend({ client: new Client({ connection }), taskQueue: worker.taskQueue, dataDir }),
    auth: localAuthenticator(undefined),
    metrics: createApiMetrics(false),
  });
});
after(async () => {
  await app?.close();
  await worker?.stop();
  await connection?.close();
  rmSync(root, { recursive: true, force: true });
});

async function get(name: string): Promise<ApiSession> {
  const response = await app.inject({ url: `${base}/${name}` });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<ApiSession>();
}

function idleAfter(name: string, turn: number): Promise<ApiSession> {
  return eventually(
    `session ${name} to be Idle after turn ${turn}`,
    () => get(name),
    (s) => s.status.phase === 'Idle' && s.status.turns?.at(-1)?.number === turn,
    90_000,
  );
}

const prompt = (name: string, text: string) =>
  app.inject({ method: 'POST', url: `${base}/${name}/prompts`, payload: { prompt: text } });

test('a local conversation takes a prompt over the API as its next turn, on the same branch', async () => {
  const repo = bareRepo(root);
  const created = await app.inject({
    method: 'POST',
    url: base,
    payload: {
      metadata: { name: 'notes' },
      spec: {
        agent: 'command',
        command: ['sh', '-c', 'echo "$INITIAL_PROMPT" >> NOTES.md'],
        initialPrompt: 'first note',
        repos: [{ url: repo, branch: 'main' }],
        conversation: { stopOnTurnFinished: false, inactivityTimeout: '10m' },
      },
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  await idleAfter('notes', 1);
  // No runner runs while the session waits: a followed log has all there is and ends.
  const log = await app.inject({ url: `${base}/notes/logs?follow=true` });
  assert.equal(log.statusCode, 200, log.body);

  const taken = await prompt('notes', 'second note');
  assert.equal(taken.statusCode, 202, taken.body);
  assert.equal(taken.json<PromptResult>().turn, 2);
  const again = await prompt('notes', 'third note');
  assert.equal(again.statusCode, 409, again.body);
  assert.match(again.json<{ message: string }>().message, /took the prompt of turn 2|running turn 2/);

  const second = await idleAfter('notes', 2);
  assert.deepEqual(
    second.status.turns?.map((turn) => [turn.number, turn.source, turn.author, turn.result]),
    [
      [1, 'spec', undefined, 'Succeeded'],
      [2, 'api', undefined, 'Succeeded'],
    ],
  );
  const notes = execFileSync('git', ['--git-dir', repo, 'show', 'shepherd/notes:NOTES.md'], {
    encoding: 'utf8',
  });
  assert.equal(notes, 'first note\nsecond note\n');

  const stopped = await app.inject({ method: 'POST', url: `${base}/notes/stop` });
  assert.equal(stopped.statusCode, 202, stopped.body);
  await eventually(
    'the session to be Stopped',
    () => get('notes'),
    (s) => s.status.phase === 'Stopped',
  );
  const late = await prompt('notes', 'too late');
  assert.equal(late.statusCode, 409, late.body);
  assert.match(late.json<{ message: string }>().message, /has finished \(Stopped\)/);
  const approval = await app.inject({
    method: 'POST',
    url: `${base}/notes/approve`,
    payload: { capUsd: 5 },
  });
  assert.equal(approval.statusCode, 409, approval.body);
  assert.equal(approval.json<{ code: string }>().code, 'ApprovalRefused');
  assert.match(approval.json<{ message: string }>().message, /is Stopped, not WaitingForApproval/);
  const unknown = await prompt('nobody', 'hello');
  assert.equal(unknown.statusCode, 404, unknown.body);
});
