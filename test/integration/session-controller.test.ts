/**
 * `kubectl apply`, `edit` and `delete` on an AgentSession drive its workflow through the CR
 * controller: an applied session gets exactly one workflow even with two controller replicas,
 * `desiredState: Stopped` stops it, `Running` after a stop restarts it as a new run, and deleting
 * the CR cancels it. The workflow is a recording fixture under the session workflow's name; it
 * never writes the CR's status, the worst case for a controller deciding whether to start one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { pino } from 'pino';
import {
  type SessionController,
  createSessionController,
} from '../../src/runtime/kubernetes/session-controller.js';
import { SESSION_UID_MEMO } from '../../src/session-client/session-commands.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionSpec } from '../../src/resources/types.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { eventually, kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';
import { TEST_SHARD_LABEL } from '../support/runner-job.js';
import { type FixtureWorker, startFixtureWorker } from '../support/temporal.js';
import { recordingQuery } from './fixtures/recording-workflow.js';

const kc = kubeConfig();
const customObjects = kc.makeApiClient(k8s.CustomObjectsApi);
const shard = `controller-${randomSuffix()}`;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

let temporal: FixtureWorker;
let replicas: SessionController[] = [];

before(async () => {
  await installCrds(kc);
  temporal = await startFixtureWorker(
    fileURLToPath(new URL('./fixtures/recording-workflow.ts', import.meta.url)),
  );
  // Two replicas of the controller, as two workers would run it: no leader election.
  replicas = [1, 2].map(() =>
    createSessionController({
      kubeConfig: kc,
      client: temporal.client,
      logger,
      taskQueue: temporal.taskQueue,
      labelSelector: `${TEST_SHARD_LABEL}=${shard}`,
      resyncIntervalMs: 0,
    }),
  );
  await Promise.all(replicas.map((c) => c.start()));
});

after(async () => {
  await Promise.all(replicas.map((c) => c.stop()));
  await temporal.close();
});

const crApi = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };

function applySession(namespace: string, name: string, spec: AgentSessionSpec = {}): Promise<AgentSession> {
  return shepherdObjects(kc).createSession(
    namespace,
    name,
    { agent: 'command', command: ['true'], ...spec },
    { [TEST_SHARD_LABEL]: shard },
  );
}

async function patchSession(
  namespace: string,
  name: string,
  patch: object[],
  status = false,
): Promise<AgentSession> {
  const call = status
    ? customObjects.patchNamespacedCustomObjectStatus.bind(customObjects)
    : customObjects.patchNamespacedCustomObject.bind(customObjects);
  return (await call({ ...crApi, namespace, name, body: patch })) as AgentSession;
}

/** Every run of the session's workflow id, as Temporal's visibility lists them. */
async function runsOf(namespace: string, name: string): Promise<string[]> {
  const runs: string[] = [];
  const query = `WorkflowId = '${sessionWorkflowId(namespace, name)}'`;
  for await (const execution of temporal.client.workflow.list({ query })) runs.push(execution.runId);
  return runs;
}

function describe(namespace: string, name: string): Promise<WorkflowExecutionDescription> {
  return temporal.client.workflow.getHandle(sessionWorkflowId(namespace, name)).describe();
}

async function untilStatus(
  namespace: string,
  name: string,
  status: string,
): Promise<WorkflowExecutionDescription> {
  return eventually(
    `the session workflow to be ${status}`,
    () => describe(namespace, name),
    (d) => d.status.name === status,
  );
}

test('an applied AgentSession gets exactly one workflow, even with two controllers and a resync', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `apply-${randomSuffix()}`;
  const session = await applySession(namespace, name);

  const running = await untilStatus(namespace, name, 'RUNNING');
  assert.equal(running.memo?.[SESSION_UID_MEMO], session.metadata.uid);
  const handle = temporal.client.workflow.getHandle(sessionWorkflowId(namespace, name));
  const recording = await handle.query(recordingQuery);
  assert.deepEqual(recording.input, { namespace, name, uid: session.metadata.uid });

  await Promise.all(replicas.map((c) => c.resyncNow()));
  await eventually(
    'visibility to list the run',
    () => runsOf(namespace, name),
    (runs) => runs.length > 0,
  );
  assert.deepEqual(await runsOf(namespace, name), [running.runId], 'one run, never a second');
  const started = replicas.reduce((sum, c) => sum + c.stats().started, 0);
  assert.equal(started, 1, 'one replica started it; the other found it started');
});

test('desiredState Stopped stops the workflow, and Running afterwards restarts it as exactly one new run', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `stop-${randomSuffix()}`;
  await applySession(namespace, name);
  const first = await untilStatus(namespace, name, 'RUNNING');

  const stopped = await patchSession(namespace, name, [
    { op: 'replace', path: '/spec/desiredState', value: 'Stopped' },
  ]);
  await untilStatus(namespace, name, 'COMPLETED');
  const handle = temporal.client.workflow.getHandle(sessionWorkflowId(namespace, name), first.runId);
  const result = (await handle.result()) as { stops: unknown[] };
  // Each replica acts on the edit, with no leader election; a repeated stop is harmless.
  assert.ok(
    result.stops.length >= 1 && result.stops.length <= replicas.length,
    `${result.stops.length} stops`,
  );
  for (const stop of result.stops) assert.deepEqual(stop, { reason: 'desiredState set to Stopped' });

  // A finished session whose status never named its workflow is not started again by a resync.
  await Promise.all(replicas.map((c) => c.resyncNow()));
  assert.equal((await describe(namespace, name)).runId, first.runId, 'no new run after the stop');

  // What the real workflow writes when it has stopped; then the user asks for Running again.
  await patchSession(
    namespace,
    name,
    [
      {
        op: 'add',
        path: '/status',
        value: { phase: 'Stopped', observedGeneration: stopped.metadata.generation },
      },
    ],
    true,
  );
  await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Running' }]);
  const restarted = await eventually(
    'a new run of the session workflow',
    () => describe(namespace, name),
    (d) => d.runId !== first.runId && d.status.name === 'RUNNING',
  );
  const recording = await temporal.client.workflow
    .getHandle(sessionWorkflowId(namespace, name))
    .query(recordingQuery);
  assert.equal(recording.input.restart, true, 'the new run knows it continues a finished session');
  assert.equal(recording.restarts, 0, 'no replica restarts the new run once more');
  assert.equal(restarted.memo?.[SESSION_UID_MEMO], stopped.metadata.uid);
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await eventually(
    'visibility to list both runs',
    () => runsOf(namespace, name),
    (runs) => runs.length >= 2,
  );
  assert.equal((await runsOf(namespace, name)).length, 2, 'one stopped run and one restarted run');
});

test('deleting an AgentSession cancels its workflow', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `delete-${randomSuffix()}`;
  await applySession(namespace, name);
  await untilStatus(namespace, name, 'RUNNING');

  await customObjects.deleteNamespacedCustomObject({ ...crApi, namespace, name });
  await untilStatus(namespace, name, 'CANCELLED');
});

test('a session applied with desiredState Stopped is held until set to Running', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `held-${randomSuffix()}`;
  await applySession(namespace, name, { desiredState: 'Stopped' });
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await assert.rejects(describe(namespace, name), /not found/i, 'no workflow while held');

  await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Running' }]);
  await untilStatus(namespace, name, 'RUNNING');
});
