/**
 * The whole loop on real components, in local mode: an issue labelled in a real Gitea → Gitea's
 * own webhook, signed with the trigger's secret → the API's webhook route → a session whose
 * `command` agent edits the clone → the output branch pushed to Gitea over HTTP with the bot's
 * token → a pull request open on Gitea → comments on the issue with its link. A second delivery
 * for the same label (Gitea sends one for every label change) starts nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { localBackend } from '../../src/runtime/local/local-backend.js';
import { startLocalTriggerCatalog } from '../../src/triggers/local-trigger-catalog.js';
import type { TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import { type Gitea, startGitea } from '../support/gitea.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { localRuntimeEnv, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-gitea-e2e-'));
const namespace = `forge-${randomSuffix()}`;
const WEBHOOK_SECRET = `hook-${randomSuffix()}-${randomSuffix()}`;
let gitea: Gitea;
let worker: WorkerProcess;
let connection: Connection;
let catalog: TriggerCatalog;
let app: FastifyInstance;
let server: RunningServer;
/** What the API answered each Gitea delivery. */
const answers: Array<{ status?: string; sessions?: Array<{ name: string }> }> = [];

before(async () => {
  gitea = await startGitea();
  const triggersFile = join(root, 'triggers.yaml');
  writeFileSync(
    triggersFile,
    `apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: shop-issues, namespace: ${namespace}}
spec:
  source: gitea
  match: {label: shepherd}
  forge: {url: "${gitea.url}", credentialsSecretRef: {name: gitea-bot}}
  webhookSecretRef: {name: gitea-webhook}
  sessionTemplate:
    agent: command
    command: [sh, -c, 'printf "fixed\\n" > FIXED.md']
    timeout: 5m
    # One turn: this test follows the session to its end (a triggered session would stay open).
    conversation: {stopOnTurnFinished: true}
---
apiVersion: v1
kind: Secret
metadata: {name: gitea-bot, namespace: ${namespace}}
stringData: {token: ${gitea.bot.token}}
---
apiVersion: v1
kind: Secret
metadata: {name: gitea-webhook, namespace: ${namespace}}
stringData: {secret: ${WEBHOOK_SECRET}}
`,
  );
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  const client = new Client({ connection });
  catalog = startLocalTriggerCatalog({
    file: triggersFile,
    logger: (await import('pino')).pino({ level: 'silent' }),
  });
  await catalog.ready();
  const dataDir = join(root, 'data');
  worker = await startWorkerProcess({
    ...localRuntimeEnv(dataDir),
    SHEPHERD_TRIGGERS_FILE: triggersFile,
    SHEPHERD_FORGES: JSON.stringify([{ type: 'gitea', url: gitea.url }]),
  });
  app = await buildApp({
    backend: localBackend({ client, taskQueue: worker.taskQueue, dataDir }),
    auth: localAuthenticator(undefined),
    metrics: createApiMetrics(false),
    webhooks: { catalog },
  });
  // The answers as Gitea received them, read off the HTTP server (the app is sealed once built).
  app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url !== '/api/v1/webhooks/gitea') return;
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      const [chunk] = args;
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk))
        answers.push(JSON.parse(chunk.toString()) as (typeof answers)[number]);
      return end(...args);
    }) as ServerResponse['end'];
  });
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await server?.close();
  await catalog?.stop();
  await worker?.stop();
  await connection?.close();
  await gitea?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('a Gitea issue labelled shepherd becomes a pull request on Gitea, with comments on the issue', async () => {
  const owner = gitea.admin.username;
  await gitea.createRepo(owner, 'shop');
  const shepherdLabel = await gitea.createLabel(owner, 'shop', { name: 'shepherd' });
  const bugLabel = await gitea.createLabel(owner, 'shop', { name: 'bug' });
  await gitea.createWebhook(owner, 'shop', {
    url: `${server.url}/api/v1/webhooks/gitea`,
    secret: WEBHOOK_SECRET,
    events: ['issues', 'issue_label', 'issue_assign', 'issue_comment'],
  });
  const issue = await gitea.createIssue(owner, 'shop', {
    title: 'The checkout page has no FIXED.md',
    body: 'Add a FIXED.md that says fixed.',
  });
  await gitea.addLabels(owner, 'shop', issue.number, [shepherdLabel.id]);

  // Gitea's real delivery reached the API and was answered with the session it starts.
  const accepted = await eventually(
    'the labelled issue to be accepted by the webhook route',
    () => Promise.resolve(answers.find((a) => a.status === 'accepted')),
    (a) => a !== undefined,
    60_000,
  );
  const sessionName = accepted?.sessions?.[0]?.name;
  assert.ok(sessionName, 'the answer names the session');

  const pulls = await eventually(
    'a pull request from the session on Gitea',
    () => gitea.listPulls(owner, 'shop'),
    (list) => list.length > 0,
    240_000,
  );
  assert.equal(pulls.length, 1);
  const [pull] = pulls;
  assert.equal(pull?.head.ref, `shepherd/${sessionName}`);
  assert.equal(pull?.base.ref, 'main');
  assert.equal(pull?.state, 'open');
  assert.equal(pull?.user.login, gitea.bot.username, 'opened with the bot token');
  const files = await gitea.api<Array<{ filename: string }>>(
    `/repos/${owner}/shop/pulls/${pull?.number}/files`,
  );
  assert.deepEqual(
    files.map((f) => f.filename),
    ['FIXED.md'],
    'the agent edited the clone and the runner pushed it',
  );

  const comments = await eventually(
    'the end comment on the issue, with the pull request link',
    () => gitea.listComments(owner, 'shop', issue.number),
    (list) => list.some((c) => c.body.includes(pull?.html_url ?? '<none>')),
    120_000,
  );
  const byBot = comments.filter((c) => c.user.login === gitea.bot.username);
  assert.ok(
    byBot.some((c) => /started session/.test(c.body)),
    'a comment when the session started',
  );
  assert.ok(byBot.some((c) => /succeeded/.test(c.body) && c.body.includes(pull?.html_url ?? '')));

  // Another label change makes Gitea deliver the issue again, still labelled shepherd: nothing new.
  const before = answers.length;
  await gitea.addLabels(owner, 'shop', issue.number, [bugLabel.id]);
  await eventually(
    'the second delivery to be answered',
    () => Promise.resolve(answers.length),
    (n) => n > before,
    60_000,
  );
  assert.notEqual(
    answers.at(-1)?.status,
    'accepted',
    `the second delivery started nothing: ${JSON.stringify(answers.at(-1))}`,
  );
  const sessions = await app.inject({ method: 'GET', url: `/api/v1/namespaces/${namespace}/sessions` });
  assert.equal(sessions.json<{ items: unknown[] }>().items.length, 1, 'one session for the issue');
  assert.equal((await gitea.listPulls(owner, 'shop')).length, 1, 'one pull request');
});
