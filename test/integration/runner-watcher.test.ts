/**
 * The shared runner watcher tells each session workflow how its runner started and ended, as the
 * real Job controller and the KWOK node report it: exit codes, OOM kills, the runner's result, the
 * Job's deadline, an image that cannot be pulled — and a runner that ended while nobody watched.
 * The workflow is a recording fixture under the session workflow's name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { eventually, kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';
import { runnerJob } from '../support/runner-job.js';
import { watchRunners } from '../support/watched-runners.js';
import { type Recording, recordingQuery } from './fixtures/recording-workflow.js';

const kc = kubeConfig();
const batch = kc.makeApiClient(k8s.BatchV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const shard = `watcher-${randomSuffix()}`;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const a = FAKE_POD_ANNOTATIONS;

const runners = watchRunners({ kubeConfig: kc, shard, logger });
const { startSession } = runners;

type Handle = Awaited<ReturnType<typeof startSession>>;

function endedEvents(recording: Recording) {
  return recording.runnerEvents.map((r) => r.event).filter((e) => e.kind === 'ended');
}

/** Waits until the workflow has received an `ended` for `attempt`; returns its recording. */
async function untilEnded(handle: Handle, attempt = 1, timeoutMs = 30_000): Promise<Recording> {
  return eventually(
    `the workflow to receive ended for attempt ${attempt}`,
    () => handle.query(recordingQuery),
    (r) => endedEvents(r).some((e) => e.attempt === attempt),
    timeoutMs,
  );
}

test('each attempt of a session reports its own runner start and exit code (1, then 2)', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `exits-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 1, shard, fakeRun: { [a.exitCode]: '1', [a.duration]: '500ms' } }),
  });
  await untilEnded(handle, 1);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 2, shard, fakeRun: { [a.exitCode]: '2', [a.duration]: '500ms' } }),
  });
  await untilEnded(handle, 2);
  await sleep(1000); // later pod and Job updates must not repeat what was already said

  const events = (await handle.query(recordingQuery)).runnerEvents.map((r) => r.event);
  assert.deepEqual(
    events.map((e) => [e.kind, e.attempt]),
    [
      ['started', 1],
      ['ended', 1],
      ['started', 2],
      ['ended', 2],
    ],
  );
  for (const attempt of [1, 2]) {
    const started = events.find((e) => e.kind === 'started' && e.attempt === attempt);
    assert.match(started?.podName ?? '', new RegExp(`^${session}-a${attempt}-`));
  }
  const [first, second] = events.filter((e) => e.kind === 'ended');
  assert.deepEqual(first?.kind === 'ended' && first.termination, { exitCode: 1, reason: 'Error' });
  assert.deepEqual(second?.kind === 'ended' && second.termination, { exitCode: 2, reason: 'Error' });
});

test('a runner killed for its memory limit reports OOMKilled with exit code 137', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `oom-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({
      session,
      attempt: 1,
      shard,
      fakeRun: { [a.exitCode]: '137', [a.reason]: 'OOMKilled', [a.duration]: '500ms' },
    }),
  });
  const [ended] = endedEvents(await untilEnded(handle));
  assert.deepEqual(ended?.termination, { exitCode: 137, reason: 'OOMKilled' });
});

test("the runner's JSON result reaches the workflow as the termination message", async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `result-${randomSuffix()}`;
  const result = JSON.stringify({ summary: 'fixed the flaky test', commit: '0a1b2c3' });
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 1, shard, fakeRun: { [a.message]: result, [a.duration]: '500ms' } }),
  });
  const recording = await untilEnded(handle);
  const [ended] = endedEvents(recording);
  assert.deepEqual(ended?.termination, { exitCode: 0, reason: 'Completed', message: result });
  assert.match(ended?.podName ?? '', new RegExp(`^${session}-a1-`));
});

test('a runner still running at the Job deadline reports DeadlineExceeded', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `deadline-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({
      session,
      attempt: 1,
      shard,
      activeDeadlineSeconds: 2,
      fakeRun: { [a.duration]: '1h' },
    }),
  });
  await untilEnded(handle);
  await sleep(1000); // the pod's deletion and the Job's final Failed condition say nothing new
  const events = (await handle.query(recordingQuery)).runnerEvents.map((r) => r.event);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['started', 'ended'],
  );
  const ended = events[1];
  assert.equal(ended?.kind === 'ended' && ended.termination.reason, 'DeadlineExceeded');
  assert.equal(ended?.kind === 'ended' && ended.termination.exitCode, undefined);
});

test('a runner whose image cannot be pulled ends with waitingReason ImagePullBackOff, never started', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `pull-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 1, shard, fakeRun: { [a.waitingReason]: 'ImagePullBackOff' } }),
  });
  const recording = await untilEnded(handle);
  assert.deepEqual(
    recording.runnerEvents.map((r) => r.event.kind),
    ['ended'],
  );
  const [ended] = endedEvents(recording);
  assert.deepEqual(ended?.termination, {
    waitingReason: 'ImagePullBackOff',
    message: 'fake kubelet: ImagePullBackOff',
  });
});

test('a runner that ended while the watch was down is reported by the resync, exactly once', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `missed-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await runners.watcher.stop();
  try {
    await batch.createNamespacedJob({
      namespace,
      body: runnerJob({ session, attempt: 1, shard, fakeRun: { [a.exitCode]: '1', [a.duration]: '200ms' } }),
    });
    await eventually(
      'the runner pod to end while nothing watches',
      () => core.listNamespacedPod({ namespace, labelSelector: `job-name=${session}-a1` }),
      (pods) => pods.items[0]?.status?.phase === 'Failed',
    );
    assert.deepEqual((await handle.query(recordingQuery)).runnerEvents, [], 'nothing was sent while stopped');

    await runners.watcher.resyncNow();
    const recording = await untilEnded(handle, 1, 10_000);
    assert.deepEqual(endedEvents(recording)[0]?.termination, { exitCode: 1, reason: 'Error' });
  } finally {
    await runners.watcher.start();
  }
  // The informers now see the same ended runner again; it was already said.
  await sleep(1500);
  await runners.watcher.resyncNow();
  await sleep(500);
  const kinds = (await handle.query(recordingQuery)).runnerEvents.map((r) => r.event.kind);
  assert.deepEqual(kinds, ['started', 'ended']);
});
