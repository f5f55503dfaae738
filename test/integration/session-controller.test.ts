/**
 * `kubectl apply`, `edit` and `delete` on an AgentSession drive its workflow through the CR
 * controller: an applied session gets exactly one workflow even with two controller replicas,
 * `desiredState: Stopped` stops it, `Running` after it restarts a stopped or finished session as
 * exactly one new run, a stop by signal or an edit never restarts it, deleting the CR cancels it
 * and a CR created again under the name runs at once, and a run closed in Temporal without a
 * final status is marked Failed. The workflow is a recording fixture under the session workflow's
 * name; it never writes the CR's status (tests write what the real workflow would), the worst case
 * for a controller deciding whether to start one.
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
import { RESTART_STOP_REASON } from '../../src/runtime/kubernetes/session-decision.js';
import {
  RESTART_GENERATION_MEMO,
  SESSION_UID_MEMO,
  startSessionWorkflow,
  stopSession,
} from '../../src/session-client/session-commands.js';
import { Reason } from '../../src/resources/conditions.js';
import { GROUP, PLURAL, STOP_REQUESTED_ANNOTATION, VERSION } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionSpec, Phase } from '../../src/resources/types.js';
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

function readSession(namespace: string, name: string): Promise<AgentSession> {
  return customObjects.getNamespacedCustomObject({ ...crApi, namespace, name }) as Promise<AgentSession>;
}

/** Waits until the controller removed its record of desiredState Stopped (the restart is done). */
function untilNoStopRecord(namespace: string, name: string): Promise<AgentSession> {
  return eventually(
    'the stop record to be removed after the restart',
    () => readSession(namespace, name),
    (cr) => cr.metadata.annotations?.[STOP_REQUESTED_ANNOTATION] === undefined,
  );
}

/** Waits until the controller recorded desiredState Stopped on the CR. */
function untilStopRecord(namespace: string, name: string): Promise<AgentSession> {
  return eventually(
    'the controller to record desiredState Stopped',
    () => readSession(namespace, name),
    (cr) => cr.metadata.annotations?.[STOP_REQUESTED_ANNOTATION] !== undefined,
  );
}

/** Writes what the real workflow writes when it ended in `phase`. */
function writeFinalStatus(namespace: string, name: string, phase: Phase, generation: number | undefined) {
  return patchSession(
    namespace,
    name,
    [
      {
        op: 'add',
        path: '/status',
        value: { phase, observedGeneration: generation, workflowId: sessionWorkflowId(namespace, name) },
      },
    ],
    true,
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
  await untilNoStopRecord(namespace, name);
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

test('desiredState Stopped then Running restarts a Succeeded, Failed or TimedOut session as one new run', async (t) => {
  const namespace = await testNamespace(t, kc);
  await Promise.all(
    (['Succeeded', 'Failed', 'TimedOut'] as const).map(async (phase) => {
      const name = `finished-${phase.toLowerCase()}-${randomSuffix()}`;
      const created = await applySession(namespace, name);
      const first = await untilStatus(namespace, name, 'RUNNING');
      // The run ends by itself (the fixture ends on a stop signal) and writes its final status.
      await stopSession(temporal.client, namespace, name, 'the runner finished');
      await untilStatus(namespace, name, 'COMPLETED');
      await writeFinalStatus(namespace, name, phase, created.metadata.generation);
      // A finished session with desiredState Running is left alone, at an event or a resync.
      await Promise.all(replicas.map((c) => c.resyncNow()));
      assert.equal(
        (await describe(namespace, name)).runId,
        first.runId,
        `${phase}: no run before the toggle`,
      );

      await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Stopped' }]);
      await untilStopRecord(namespace, name);
      const running = await patchSession(namespace, name, [
        { op: 'replace', path: '/spec/desiredState', value: 'Running' },
      ]);
      const restarted = await eventually(
        `${phase}: a new run`,
        () => describe(namespace, name),
        (d) => d.runId !== first.runId && d.status.name === 'RUNNING',
      );
      assert.equal(restarted.memo?.[SESSION_UID_MEMO], created.metadata.uid);
      assert.equal(restarted.memo?.[RESTART_GENERATION_MEMO], running.metadata.generation);
      const recording = await temporal.client.workflow
        .getHandle(sessionWorkflowId(namespace, name))
        .query(recordingQuery);
      assert.equal(recording.input.restart, true, `${phase}: the new run continues the session`);
      await untilNoStopRecord(namespace, name);
      await Promise.all(replicas.map((c) => c.resyncNow()));
      assert.equal((await describe(namespace, name)).runId, restarted.runId, `${phase}: exactly one restart`);
      const again = await temporal.client.workflow
        .getHandle(sessionWorkflowId(namespace, name))
        .query(recordingQuery);
      assert.equal(again.restarts, 0, `${phase}: the new run is not signalled to restart once more`);
    }),
  );
});

test('a session stopped by a signal is not restarted by a spec edit, a label edit or a resync', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `signal-stop-${randomSuffix()}`;
  const created = await applySession(namespace, name);
  const first = await untilStatus(namespace, name, 'RUNNING');
  await stopSession(temporal.client, namespace, name, 'stopped through the API');
  await untilStatus(namespace, name, 'COMPLETED');
  await writeFinalStatus(namespace, name, 'Stopped', created.metadata.generation);

  const edited = await patchSession(namespace, name, [{ op: 'add', path: '/spec/timeout', value: '2h' }]);
  assert.ok(
    (edited.metadata.generation ?? 0) > (created.metadata.generation ?? 0),
    'the edit moved the generation',
  );
  await patchSession(namespace, name, [{ op: 'add', path: '/metadata/labels/team', value: 'b' }]);
  // desiredState Running written again (as a re-apply of the manifest would): no change of intent.
  await patchSession(namespace, name, [{ op: 'add', path: '/spec/desiredState', value: 'Running' }]);
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await Promise.all(replicas.map((c) => c.resyncNow()));
  assert.equal((await describe(namespace, name)).runId, first.runId, 'still the one stopped run');
  assert.equal((await describe(namespace, name)).status.name, 'COMPLETED');
  const cr = await readSession(namespace, name);
  assert.equal(cr.status?.phase, 'Stopped');
  assert.equal(cr.metadata.annotations?.[STOP_REQUESTED_ANNOTATION], undefined);
});

test('a restart whose stop never reached the run stops it, waits for it to close and starts one new run', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `race-${randomSuffix()}`;
  const created = await applySession(namespace, name);
  const first = await untilStatus(namespace, name, 'RUNNING');
  // What a controller that crashed between recording Stopped and signalling the stop leaves: the
  // record at an earlier generation, desiredState Running, the run still running.
  await patchSession(namespace, name, [
    {
      op: 'add',
      path: '/metadata/annotations',
      value: { [STOP_REQUESTED_ANNOTATION]: String(created.metadata.generation) },
    },
  ]);
  await patchSession(namespace, name, [{ op: 'add', path: '/spec/timeout', value: '2h' }]);

  const restarted = await eventually(
    'a new run after the old one closed',
    () => describe(namespace, name),
    (d) => d.runId !== first.runId && d.status.name === 'RUNNING',
  );
  const old = (await temporal.client.workflow
    .getHandle(sessionWorkflowId(namespace, name), first.runId)
    .result()) as { stops: { reason: string }[] };
  assert.ok(old.stops.length >= 1, 'the old run was stopped');
  for (const stop of old.stops) assert.deepEqual(stop, { reason: RESTART_STOP_REASON });
  assert.equal(restarted.memo?.[SESSION_UID_MEMO], created.metadata.uid);
  await untilNoStopRecord(namespace, name);
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await eventually(
    'visibility to list both runs',
    () => runsOf(namespace, name),
    (runs) => runs.length >= 2,
  );
  assert.equal((await runsOf(namespace, name)).length, 2, 'one stopped run and one new run');
});

test('a session applied with desiredState Stopped says Stopped (Held) and starts only once set to Running', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = `held-status-${randomSuffix()}`;
  await applySession(namespace, name, { desiredState: 'Stopped' });
  const held = await eventually(
    'the held status',
    () => readSession(namespace, name),
    (cr) => cr.status?.phase === 'Stopped',
  );
  const ready = held.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.reason, Reason.Held);
  assert.match(ready?.message ?? '', /desiredState to Running/);
  assert.equal(held.status?.observedGeneration, held.metadata.generation);
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await assert.rejects(describe(namespace, name), /not found/i, 'no workflow while held');

  await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Running' }]);
  await untilStatus(namespace, name, 'RUNNING');
  const recording = await temporal.client.workflow
    .getHandle(sessionWorkflowId(namespace, name))
    .query(recordingQuery);
  assert.equal(recording.input.restart, undefined, 'the first run of a session that never ran');
  await untilNoStopRecord(namespace, name);
  await Promise.all(replicas.map((c) => c.resyncNow()));
  await eventually(
    'visibility to list the run',
    () => runsOf(namespace, name),
    (runs) => runs.length > 0,
  );
  assert.equal((await runsOf(namespace, name)).length, 1, 'exactly one run');
});

test('deleting a session and creating it again at once cancels the old run and starts the new one without waiting for a resync', async (t) => {
  const namespace = await testNamespace(t, kc);
  await Promise.all(
    (['Running', 'Stopped'] as const).map(async (desiredState) => {
      const name = `recreate-${desiredState.toLowerCase()}-${randomSuffix()}`;
      const old = await applySession(namespace, name);
      const first = await untilStatus(namespace, name, 'RUNNING');
      await customObjects.deleteNamespacedCustomObject({ ...crApi, namespace, name });
      const created = await applySession(namespace, name, { desiredState });
      assert.notEqual(created.metadata.uid, old.metadata.uid);

      const oldRun = temporal.client.workflow.getHandle(sessionWorkflowId(namespace, name), first.runId);
      await eventually(
        'the old run to be cancelled',
        () => oldRun.describe(),
        (d) => d.status.name === 'CANCELLED',
      );
      if (desiredState === 'Running') {
        // No periodic resync in these tests: only the controller's own look again starts it.
        const next = await untilStatus(namespace, name, 'RUNNING');
        assert.notEqual(next.runId, first.runId);
        assert.equal(next.memo?.[SESSION_UID_MEMO], created.metadata.uid, "the run is the new CR's");
      } else {
        const held = await eventually(
          'the new CR held',
          () => readSession(namespace, name),
          (cr) => cr.status?.phase === 'Stopped',
        );
        assert.equal(held.metadata.uid, created.metadata.uid);
        assert.equal((await describe(namespace, name)).runId, first.runId, 'no run for the held CR');
      }
    }),
  );
});

test('a run closed in Temporal without a final status is marked Failed at the next resync, and can be restarted', async (t) => {
  const namespace = await testNamespace(t, kc);
  const cases = [
    { how: 'terminated', reason: Reason.WorkflowTerminated, status: true },
    { how: 'terminated-before-any-status', reason: Reason.WorkflowTerminated, status: false },
    { how: 'cancelled', reason: Reason.WorkflowClosed, status: true },
  ] as const;
  await Promise.all(
    cases.map(async ({ how, reason, status }) => {
      const name = `closed-${how}-${randomSuffix()}`;
      const created = await applySession(namespace, name);
      const first = await untilStatus(namespace, name, 'RUNNING');
      if (status) {
        await patchSession(
          namespace,
          name,
          [
            {
              op: 'add',
              path: '/status',
              value: {
                phase: 'Running',
                attempt: 1,
                observedGeneration: created.metadata.generation,
                workflowId: sessionWorkflowId(namespace, name),
                runId: first.runId,
              },
            },
          ],
          true,
        );
      }
      const handle = temporal.client.workflow.getHandle(sessionWorkflowId(namespace, name), first.runId);
      if (how === 'cancelled') await handle.cancel();
      else await handle.terminate('operator');
      await untilStatus(namespace, name, how === 'cancelled' ? 'CANCELLED' : 'TERMINATED');

      const failed = await eventually(
        `${how}: the Failed status`,
        async () => {
          await Promise.all(replicas.map((c) => c.resyncNow()));
          return readSession(namespace, name);
        },
        (cr) => cr.status?.phase === 'Failed',
      );
      const condition = failed.status?.conditions?.find((c) => c.type === 'Failed');
      assert.equal(condition?.status, 'True');
      assert.equal(condition?.reason, reason, how);
      assert.match(condition?.message ?? '', new RegExp(first.runId));
      assert.match(condition?.message ?? '', /shepherd restart/);
      if (status) assert.equal(failed.status?.attempt, 1, `${how}: what the workflow wrote is kept`);
      // Not marked again, nor started again, by more resyncs.
      await Promise.all(replicas.map((c) => c.resyncNow()));
      assert.equal((await describe(namespace, name)).runId, first.runId);

      await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Stopped' }]);
      await untilStopRecord(namespace, name);
      await patchSession(namespace, name, [{ op: 'replace', path: '/spec/desiredState', value: 'Running' }]);
      await eventually(
        `${how}: restarted as a new run`,
        () => describe(namespace, name),
        (d) => d.runId !== first.runId && d.status.name === 'RUNNING',
      );
    }),
  );
});

test('the periodic resync, reading its cache, still finds a run closed without a final status within its check interval', async (t) => {
  const namespace = await testNamespace(t, kc);
  // A replica whose periodic resync checks each run every 2 s and never lists the API again.
  const periodic = createSessionController({
    kubeConfig: kc,
    client: temporal.client,
    logger,
    taskQueue: temporal.taskQueue,
    labelSelector: `${TEST_SHARD_LABEL}=${shard}`,
    resyncIntervalMs: 200,
    relistIntervalMs: 3_600_000,
    runCheckIntervalMs: 2_000,
  });
  await periodic.start();
  t.after(() => periodic.stop());
  const name = `closed-periodic-${randomSuffix()}`;
  const created = await applySession(namespace, name);
  const first = await untilStatus(namespace, name, 'RUNNING');
  const running = {
    phase: 'Running',
    attempt: 1,
    observedGeneration: created.metadata.generation,
    workflowId: sessionWorkflowId(namespace, name),
    runId: first.runId,
  };
  await patchSession(namespace, name, [{ op: 'add', path: '/status', value: running }], true);
  await temporal.client.workflow
    .getHandle(sessionWorkflowId(namespace, name), first.runId)
    .terminate('operator');

  // The replica's counters say, on a failure, whether its resyncs ran and what they did.
  const failed = await eventually(
    'the Failed status, from the periodic resync alone',
    () => readSession(namespace, name),
    (cr) => cr.status?.phase === 'Failed',
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the periodic replica: ${JSON.stringify(periodic.stats())}`);
  });
  assert.equal(
    failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason,
    Reason.WorkflowTerminated,
  );
  assert.ok(
    periodic.stats().closedRunsMarked >= 1,
    `marked by the periodic replica: ${JSON.stringify(periodic.stats())}`,
  );
  assert.ok(periodic.stats().resyncs >= 2);
});

test("a session's first run is never started behind a run that appeared and closed since the lookup", async () => {
  // What a second replica does when it decided to start before another started the run and an
  // operator terminated it: the start is refused, so the terminated run is marked, not replaced.
  const input = { namespace: `first-${randomSuffix()}`, name: 'once', uid: 'uid-1' };
  const handle = temporal.client.workflow.getHandle(sessionWorkflowId(input.namespace, input.name));
  const first = await startSessionWorkflow(temporal.client, {
    taskQueue: temporal.taskQueue,
    input,
    firstRun: true,
  });
  assert.equal(first.outcome, 'started');
  await handle.terminate('operator');
  const late = await startSessionWorkflow(temporal.client, {
    taskQueue: temporal.taskQueue,
    input,
    firstRun: true,
  });
  assert.deepEqual(late, { outcome: 'already-running' });
  assert.equal((await handle.describe()).status.name, 'TERMINATED');
  // A start that knows of the closed run (a deleted CR's, say) may follow it.
  const next = await startSessionWorkflow(temporal.client, { taskQueue: temporal.taskQueue, input });
  assert.equal(next.outcome, 'started');
  await handle.terminate('done');
});
