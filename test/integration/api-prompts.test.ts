/**
 * Prompts into a session from every way in, on the real environment: the kubernetes-mode API as
 * alice (real TokenReview and SubjectAccessReview), the `shepherd` CLI as a child process against
 * it, and `kubectl annotate` read by two replicas of the AgentSession controller (the worker's and
 * one in this process); the sessions run through the real worker, their runners on KWOK. One
 * conversation takes a turn from each, recorded with its source and author; a prompt to a busy,
 * finished or unknown session is refused with the reason (409, a `shepherd.dev/prompt-refused`
 * annotation, the CLI's error), as is an approval of a session not waiting at a budget cap; a
 * session whose workflow is from before conversations, or whose worker does not answer, says so.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import type { PromptResult } from '../../src/api/session-backend.js';
import { repoRoot } from '../../src/processes/tools.js';
import {
  GROUP,
  PLURAL,
  PROMPT_ANNOTATION,
  PROMPT_CLAIM_ANNOTATION,
  PROMPT_REFUSED_ANNOTATION,
  VERSION,
} from '../../src/resources/constants.js';
import type { AgentSession } from '../../src/resources/types.js';
import { kubernetesAuthenticator } from '../../src/runtime/kubernetes/kubernetes-auth.js';
import { kubernetesBackend } from '../../src/runtime/kubernetes/kubernetes-backend.js';
import {
  type SessionController,
  createSessionController,
} from '../../src/runtime/kubernetes/session-controller.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { envVar, eventually, kubeConfig, randomSuffix, processKubeConfig } from '../support/kube.js';
import {
  aliceHeaders,
  aliceToken,
  createApiNamespace,
  fakeRunSession,
  grantSessions,
  kubernetesApi,
} from '../support/kubernetes-api.js';
import { type FixtureWorker, startFixtureWorker } from '../support/temporal.js';
import { startWorkerProcess, TEST_RUN_LABEL, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
// The API runs as the chart's ServiceAccount; the tests' own calls are admin's.
const apiKc = processKubeConfig('api');
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const objects = shepherdObjects(kc);
const alice = aliceHeaders();
const crApi = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };

let worker: WorkerProcess;
let connection: Connection;
let client: Client;
let secondReplica: SessionController;
let app: FastifyInstance;
let server: RunningServer;
let namespace: string;

before(async () => {
  await installCrds(kc);
  worker = await startWorkerProcess();
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
  // The worker runs one controller replica; this is the second, as a second worker would run it.
  secondReplica = createSessionController({
    kubeConfig: processKubeConfig('worker'),
    client,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    taskQueue: worker.taskQueue,
    labelSelector: `${TEST_RUN_LABEL}=${worker.labels[TEST_RUN_LABEL] ?? ''}`,
    resyncIntervalMs: 0,
  });
  await secondReplica.start();
  app = await kubernetesApi(client, worker.taskQueue);
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
  namespace = await createApiNamespace(kc, 'prompts');
  await grantSessions(kc, namespace, 'alice');
});

after(async () => {
  await server?.close();
  await secondReplica?.stop();
  await worker?.stop();
  await connection?.close();
  if (namespace) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const sessions = () => `/api/v1/namespaces/${namespace}/sessions`;

/** A `command` session whose fake runners exit 0 after a second; `open` keeps it open after a turn. */
function quickSession(name: string, open: boolean) {
  return fakeRunSession(
    name,
    worker.labels,
    { exitCode: 0, duration: '1s' },
    open ? { conversation: { stopOnTurnFinished: false, inactivityTimeout: '10m' } } : {},
  );
}

async function create(body: unknown): Promise<void> {
  const created = await app.inject({
    method: 'POST',
    url: sessions(),
    headers: alice,
    payload: body as object,
  });
  assert.equal(created.statusCode, 201, created.body);
}

function send(name: string, prompt: string, route = 'prompts') {
  return app.inject({
    method: 'POST',
    url: `${sessions()}/${name}/${route}`,
    headers: alice,
    payload: { prompt },
  });
}

function untilSettled(name: string, phase: string, turn?: number): Promise<AgentSession> {
  return eventually(
    `session ${name} to be ${phase}${turn ? ` after turn ${turn}` : ''}`,
    () => objects.readSession(namespace, name),
    (s) =>
      s.status?.phase === phase &&
      (turn === undefined ||
        (s.status.turns?.at(-1)?.number === turn && Boolean(s.status.turns.at(-1)?.result))),
    90_000,
  );
}

function cli(args: string[]) {
  return execa(process.execPath, [join(repoRoot, 'bin', 'shepherd.js'), ...args], {
    reject: false,
    env: { SHEPHERD_API_URL: server.url, SHEPHERD_TOKEN: aliceToken(), SHEPHERD_NAMESPACE: namespace },
  });
}

function kubectl(args: string[]) {
  return execa(envVar('SHEPHERD_KUBECTL'), ['-n', namespace, ...args], { reject: false });
}

test('a conversation takes a turn from the API, the CLI and kubectl, each with its source and author', async () => {
  const name = `talk-${randomSuffix()}`;
  await create(quickSession(name, true));
  await untilSettled(name, 'Idle', 1);

  const taken = await send(name, 'also fix the other test');
  assert.equal(taken.statusCode, 202, taken.body);
  const result = taken.json<PromptResult>();
  assert.equal(result.turn, 2);
  assert.equal(result.session.metadata.name, name);
  // The session took turn 2's prompt: another one now is refused, not queued.
  const again = await send(name, 'and one more');
  assert.equal(again.statusCode, 409, again.body);
  assert.equal(again.json<{ code: string }>().code, 'PromptRefused');
  await untilSettled(name, 'Idle', 2);

  const sent = await cli(['send', name, 'now the docs']);
  assert.equal(sent.exitCode, 0, sent.stderr);
  assert.equal(sent.stdout.trim(), 'turn 3');
  await untilSettled(name, 'Idle', 3);

  const noQuestion = await send(name, 'yes', 'answer');
  assert.equal(noQuestion.statusCode, 409);
  assert.match(noQuestion.json<{ message: string }>().message, /no question waiting/);

  const annotated = await kubectl(['annotate', 'ags', name, `${PROMPT_ANNOTATION}=and the changelog`]);
  assert.equal(annotated.exitCode, 0, annotated.stderr);
  const fourth = await untilSettled(name, 'Idle', 4);
  assert.deepEqual(
    fourth.status?.turns?.map((turn) => [turn.number, turn.source, turn.author, turn.result]),
    [
      [1, 'spec', undefined, 'Succeeded'],
      [2, 'api', 'alice', 'Succeeded'],
      [3, 'cli', 'alice', 'Succeeded'],
      [4, 'kubectl', undefined, 'Succeeded'],
    ],
    'two controller replicas sent the annotation once',
  );
  const annotations = fourth.metadata.annotations ?? {};
  for (const key of [PROMPT_ANNOTATION, PROMPT_CLAIM_ANNOTATION, PROMPT_REFUSED_ANNOTATION]) {
    assert.equal(annotations[key], undefined, `${key} is gone once the prompt was taken`);
  }

  const shown = await cli(['get', name]);
  assert.equal(shown.exitCode, 0, shown.stderr);
  assert.match(shown.stdout, /Phase: +Idle/);
  assert.match(shown.stdout, /3 +cli +alice +Succeeded/);
  assert.match(shown.stdout, /4 +kubectl +- +Succeeded/);
  const idle = await cli(['list', '--phase', 'Idle']);
  assert.match(idle.stdout, new RegExp(name));

  const stopped = await app.inject({ method: 'POST', url: `${sessions()}/${name}/stop`, headers: alice });
  assert.equal(stopped.statusCode, 202);
  const final = await untilSettled(name, 'Stopped');
  assert.equal(final.status?.turns?.length, 4, 'no prompt was taken twice');
  const refused = await cli(['send', name, 'too late']);
  assert.equal(refused.exitCode, 1);
  assert.match(refused.stderr, /has finished \(Stopped\).*\(PromptRefused\)/);
});

test('a finished session refuses a prompt from the API and from kubectl, saying why; an unknown one is 404', async () => {
  const name = `once-${randomSuffix()}`;
  await create(quickSession(name, false));
  await untilSettled(name, 'Succeeded');

  const refused = await send(name, 'one more thing');
  assert.equal(refused.statusCode, 409, refused.body);
  assert.match(
    refused.json<{ message: string }>().message,
    /has finished \(Succeeded\).*start a new session/,
  );

  // A CR that still says Idle (its status not mirrored yet) sends the prompt on: the ended
  // workflow refuses it all the same.
  await custom.patchNamespacedCustomObjectStatus({
    ...crApi,
    namespace,
    name,
    body: [{ op: 'replace', path: '/status/phase', value: 'Idle' }],
  });
  const late = await send(name, 'one more thing');
  assert.equal(late.statusCode, 409, late.body);
  assert.match(late.json<{ message: string }>().message, /has finished \(Succeeded\)/);

  const annotated = await kubectl(['annotate', 'ags', name, `${PROMPT_ANNOTATION}=and another`]);
  assert.equal(annotated.exitCode, 0, annotated.stderr);
  const marked = await eventually(
    'the refusal on the AgentSession',
    () => objects.readSession(namespace, name),
    (s) => s.metadata.annotations?.[PROMPT_REFUSED_ANNOTATION] !== undefined,
  );
  assert.match(marked.metadata.annotations?.[PROMPT_REFUSED_ANNOTATION] ?? '', /has finished \(Succeeded\)/);
  assert.equal(marked.metadata.annotations?.[PROMPT_ANNOTATION], undefined, 'the refused prompt is removed');
  assert.equal(marked.status?.turns?.length, 1, 'no turn was started');

  // An approval is refused at once from the recorded phase (still Idle), and by the ended
  // workflow, in the validator's words, when the CR says the session waits at a cap.
  const approve = (capUsd: unknown) =>
    app.inject({ method: 'POST', url: `${sessions()}/${name}/approve`, headers: alice, payload: { capUsd } });
  const notWaiting = await approve(5);
  assert.equal(notWaiting.statusCode, 409, notWaiting.body);
  assert.deepEqual(notWaiting.json<{ code: string; message: string }>(), {
    code: 'ApprovalRefused',
    message: `session ${name} is Idle, not WaitingForApproval: only a session stopped at a budget cap takes an approval`,
    details: {},
  });
  await custom.patchNamespacedCustomObjectStatus({
    ...crApi,
    namespace,
    name,
    body: [{ op: 'replace', path: '/status/phase', value: 'WaitingForApproval' }],
  });
  const ended = await approve(5);
  assert.equal(ended.statusCode, 409, ended.body);
  assert.match(ended.json<{ message: string }>().message, /is Succeeded, not WaitingForApproval/);
  const negative = await approve(-1);
  assert.equal(negative.statusCode, 400, negative.body);
  assert.equal(negative.json<{ details: { field: string } }>().details.field, 'capUsd');

  const unknown = await send('nobody-here', 'hello');
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json<{ code: string }>().code, 'NotFound');
  const empty = await send(name, '   ');
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json<{ details: { field: string } }>().details.field, 'prompt');
});

test('a workflow from before conversations refuses a prompt as such; one nobody runs is 503 SessionUnresponsive', async () => {
  // The recording fixture registers no Update handler, as a session workflow before conversations.
  const older: FixtureWorker = await startFixtureWorker(
    fileURLToPath(new URL('./fixtures/recording-workflow.ts', import.meta.url)),
  );
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const apiOn = (temporal: Client, taskQueue: string) =>
    buildApp({
      backend: kubernetesBackend({
        kubeConfig: apiKc,
        client: temporal,
        taskQueue,
        logger: silent,
        promptTimeoutMs: 2000,
      }),
      auth: kubernetesAuthenticator({ kubeConfig: apiKc }),
      metrics: createApiMetrics(false),
    });
  const olderApi = await apiOn(older.client, older.taskQueue);
  const unpolledApi = await apiOn(client, `nobody-polls-${randomSuffix()}`);
  try {
    for (const [api, name, status, code, message] of [
      [
        olderApi,
        `older-${randomSuffix()}`,
        409,
        'PromptRefused',
        /earlier version of Shepherd and takes no prompts/,
      ],
      [
        unpolledApi,
        `unpolled-${randomSuffix()}`,
        503,
        'SessionUnresponsive',
        /did not take or refuse the prompt within 2 s/,
      ],
    ] as const) {
      // No worker label: the test's workers leave these sessions alone.
      const created = await api.inject({
        method: 'POST',
        url: sessions(),
        headers: alice,
        payload: { metadata: { name }, spec: { agent: 'command', command: ['true'] } },
      });
      assert.equal(created.statusCode, 201, created.body);
      // What the CR would say of a session waiting for its next prompt.
      await custom.patchNamespacedCustomObjectStatus({
        ...crApi,
        namespace,
        name,
        body: [{ op: 'add', path: '/status', value: { phase: 'Idle' } }],
      });
      const response = await api.inject({
        method: 'POST',
        url: `${sessions()}/${name}/prompts`,
        headers: alice,
        payload: { prompt: 'hello' },
      });
      assert.equal(response.statusCode, status, response.body);
      const error = response.json<{ code: string; message: string }>();
      assert.equal(error.code, code);
      assert.match(error.message, message);
    }
  } finally {
    await olderApi.close();
    await unpolledApi.close();
    await older.close();
  }
});
