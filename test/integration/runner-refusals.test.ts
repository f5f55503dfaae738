/**
 * Runners the cluster refuses, and runners being stopped, on the real API server with the Job
 * controller and a KWOK node: a pod refused by Pod Security, a ResourceQuota or a LimitRange ends
 * its attempt within seconds with reason FailedCreate and the API server's own message (through
 * the shared watcher, and through observeRunner when that signal was missed); a stop returns only
 * once the runner's pod is gone, heartbeats meanwhile and ends on cancellation; a status the CRD
 * schema refuses fails with StatusRejectedError naming the field.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { StatusRejectedError } from '../../src/runtime/errors.js';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { createRunnerWatcher } from '../../src/runtime/kubernetes/runner-watcher.js';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import type { RunnerStopped } from '../../src/runtime/runner-stopped.js';
import type { RunnerEvent } from '../../src/workflows/session-contract.js';
import { installCrds } from '../support/crds.js';
import { eventually, kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';
import { TEST_SHARD_LABEL, runnerJob } from '../support/runner-job.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { watchRunners } from '../support/watched-runners.js';
import { type Recording, recordingQuery } from './fixtures/recording-workflow.js';

const kc = kubeConfig();
const batch = kc.makeApiClient(k8s.BatchV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const acts = createKubernetesActivities({ kubeConfig: kc });
const shard = `refusals-${randomSuffix()}`;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const a = FAKE_POD_ANNOTATIONS;

before(() => installCrds(kc));
const runners = watchRunners({ kubeConfig: kc, shard, logger });
const { startSession } = runners;

type Handle = Awaited<ReturnType<typeof startSession>>;

async function endedTermination(handle: Handle) {
  const recording: Recording = await eventually(
    'the workflow to receive an ended event',
    () => handle.query(recordingQuery),
    (r) => r.runnerEvents.some((e) => e.event.kind === 'ended'),
  );
  const ended = recording.runnerEvents.map((r) => r.event).find((e) => e.kind === 'ended');
  assert.ok(ended?.kind === 'ended');
  return { ended, recording };
}

/** A namespace where Pod Security admission enforces the restricted profile. */
async function restrictedNamespace(t: Parameters<typeof testNamespace>[0]): Promise<string> {
  const namespace = await testNamespace(t, kc);
  await core.patchNamespace(
    {
      name: namespace,
      body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  return namespace;
}

/** A namespace whose ResourceQuota `hard` refuses any runner pod. */
async function quotaNamespace(t: Parameters<typeof testNamespace>[0], hard: Record<string, string>) {
  const namespace = await testNamespace(t, kc);
  await core.createNamespacedResourceQuota({
    namespace,
    body: { metadata: { name: 'runner-budget' }, spec: { hard } },
  });
  // Admission refuses every pod with "status unknown for quota" until the quota controller has
  // computed the usage; wait for it so the refusal under test is the real one.
  await eventually(
    'the quota controller to compute the usage',
    () => core.readNamespacedResourceQuota({ name: 'runner-budget', namespace }),
    (quota) => quota.status?.hard !== undefined,
  );
  return namespace;
}

/** The pods of a Job, by the label the Job controller gives them (which outlives an orphaning delete). */
async function podsOf(namespace: string, job: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job}` }))
    .items;
}

test('a pod refused by Pod Security (restricted) ends the attempt FailedCreate with the violated rule', async (t) => {
  const namespace = await restrictedNamespace(t);
  const session = `psa-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({ namespace, body: runnerJob({ session, attempt: 1, shard }) });
  const { ended, recording } = await endedTermination(handle);
  assert.equal(ended.termination.reason, 'FailedCreate');
  assert.match(ended.termination.message ?? '', /violates PodSecurity "restricted/);
  assert.match(ended.termination.message ?? '', /allowPrivilegeEscalation|runAsNonRoot|seccompProfile/);
  assert.doesNotMatch(ended.termination.message ?? '', /^Error creating/);
  assert.equal(ended.attempt, 1);
  assert.ok(!recording.runnerEvents.some((e) => e.event.kind === 'started'), 'no runner ever started');
  assert.deepEqual(await podsOf(namespace, `${session}-a1`), []);
});

test('a pod over a ResourceQuota of 0 pods ends FailedCreate naming the quota', async (t) => {
  const namespace = await quotaNamespace(t, { pods: '0' });
  const session = `quota-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({ namespace, body: runnerJob({ session, attempt: 1, shard }) });
  const { ended } = await endedTermination(handle);
  assert.equal(ended.termination.reason, 'FailedCreate');
  assert.match(ended.termination.message ?? '', /exceeded quota: runner-budget/);
  assert.match(ended.termination.message ?? '', /pods=0/);
});

test('a pod without the limits a limits.cpu quota demands ends FailedCreate naming the missing limit', async (t) => {
  const namespace = await quotaNamespace(t, { 'limits.cpu': '1' });
  const session = `quota-cpu-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({ namespace, body: runnerJob({ session, attempt: 1, shard }) });
  const { ended } = await endedTermination(handle);
  assert.equal(ended.termination.reason, 'FailedCreate');
  assert.match(ended.termination.message ?? '', /runner-budget/);
  assert.match(ended.termination.message ?? '', /limits\.cpu/);
});

test('a runner over a LimitRange maximum ends FailedCreate naming the maximum', async (t) => {
  const namespace = await testNamespace(t, kc);
  await core.createNamespacedLimitRange({
    namespace,
    body: {
      metadata: { name: 'container-max' },
      spec: { limits: [{ type: 'Container', max: { cpu: '500m' } }] },
    },
  });
  const session = `limits-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  const body = runnerJob({ session, attempt: 1, shard });
  body.spec!.template.spec!.containers[0]!.resources = { limits: { cpu: '2' }, requests: { cpu: '2' } };
  await batch.createNamespacedJob({ namespace, body });
  const { ended } = await endedTermination(handle);
  assert.equal(ended.termination.reason, 'FailedCreate');
  assert.match(ended.termination.message ?? '', /maximum cpu usage per Container is 500m/);
});

test('a pod the cluster admits is not ended by the refusal check (the runner starts and exits)', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `admitted-${randomSuffix()}`;
  const handle = await startSession(namespace, session);
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 1, shard, fakeRun: { [a.exitCode]: '0', [a.duration]: '200ms' } }),
  });
  const { ended, recording } = await endedTermination(handle);
  assert.deepEqual(ended.termination, { exitCode: 0, reason: 'Completed' });
  assert.ok(recording.runnerEvents.some((e) => e.event.kind === 'started'));
});

test('observeRunner reports the refusal by itself when the watcher signal was missed', async (t) => {
  const namespace = await restrictedNamespace(t);
  // A session no watcher sees: another shard.
  const session = `missed-${randomSuffix()}`;
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({ session, attempt: 1, shard: `${shard}-unwatched` }),
  });
  const events: RunnerEvent[] = await eventually(
    'observeRunner to report the refusal',
    () => acts.observeRunner({ session: { namespace, name: session }, attempt: 1 }),
    (found) => found.some((e) => e.kind === 'ended'),
  );
  assert.equal(events.length, 1);
  const [ended] = events;
  assert.ok(ended?.kind === 'ended');
  assert.equal(ended.termination.reason, 'FailedCreate');
  assert.match(ended.termination.message ?? '', /violates PodSecurity "restricted/);
  // The resync, which lists the refusals itself, sends the same to a workflow that missed it.
  const handle = await startSession(namespace, session);
  const other = createRunnerWatcher({
    kubeConfig: kc,
    client: runners.temporal.client,
    logger,
    labelSelector: `${TEST_SHARD_LABEL}=${shard}-unwatched`,
    resyncIntervalMs: 0,
  });
  await other.resyncNow();
  await other.stop();
  const { ended: signalled } = await endedTermination(handle);
  assert.deepEqual(signalled.termination, ended.termination);
});

/** Runs `stopRunner` as an activity, recording its heartbeats. */
function stopInActivity(namespace: string, session: string) {
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const done = env.run(() => acts.stopRunner({ session: { namespace, name: session }, attempt: 1 }));
  return { env, heartbeats, done: done as Promise<RunnerStopped | void> };
}

/** Starts a runner that runs for an hour and takes `terminationDelay` to go once deleted. */
async function runningRunner(namespace: string, session: string, terminationDelay: string) {
  await batch.createNamespacedJob({
    namespace,
    body: runnerJob({
      session,
      attempt: 1,
      shard: `${shard}-stops`,
      fakeRun: { [a.duration]: '1h', [a.terminationDelay]: terminationDelay },
    }),
  });
  await eventually(
    'the runner pod to run',
    () => podsOf(namespace, `${session}-a1`),
    (pods) => pods.some((p) => p.status?.phase === 'Running'),
  );
}

test('stopRunner returns only once the pod that takes a while to exit is gone, heartbeating meanwhile', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `slow-stop-${randomSuffix()}`;
  await runningRunner(namespace, session, '3s');
  const { heartbeats, done } = stopInActivity(namespace, session);
  const stopped = await done;
  assert.deepEqual(await podsOf(namespace, `${session}-a1`), [], 'no pod of the attempt remains');
  assert.equal(stopped?.podsGone, true);
  assert.ok(heartbeats.length > 0, 'it heartbeat while the pod was terminating');
  await eventually(
    'the Job to be gone',
    () => batch.listNamespacedJob({ namespace }),
    (jobs) => jobs.items.length === 0,
  );
  // Stopping what is already gone returns at once, and still says so.
  assert.deepEqual(await acts.stopRunner({ session: { namespace, name: session }, attempt: 1 }), {
    podsGone: true,
  });
});

test('a stop waiting for a pod ends when its activity is cancelled', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `cancel-stop-${randomSuffix()}`;
  await runningRunner(namespace, session, '1h');
  const { env, heartbeats, done } = stopInActivity(namespace, session);
  await eventually(
    'the stop to wait',
    async () => heartbeats.length,
    (n) => n > 0,
  );
  env.cancel();
  await assert.rejects(done, CancelledFailure);
  // The garbage collector deletes the pod of a Job deleted in the foreground a moment later.
  const pods = await eventually(
    'the pod to be asked to go',
    () => podsOf(namespace, `${session}-a1`),
    (found) => found.some((p) => p.metadata?.deletionTimestamp),
  );
  assert.equal(pods.length, 1, 'the pod is still terminating: the cancelled stop did not wait for it');
});

test('a stop never deletes a Job under the name that another object controls', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = `foreign-${randomSuffix()}`;
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  const body = runnerJob({ session, attempt: 1, shard: `${shard}-stops`, fakeRun: { [a.duration]: '1h' } });
  body.metadata!.ownerReferences = [
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!, controller: true },
  ];
  const job = await batch.createNamespacedJob({ namespace, body });
  const stopped = await acts.stopRunner({
    session: { namespace, name: session, uid: '00000000-0000-0000-0000-000000000001' },
    attempt: 1,
  });
  assert.deepEqual(stopped, { podsGone: false });
  const still = await batch.readNamespacedJob({ name: `${session}-a1`, namespace });
  assert.equal(still.metadata?.uid, job.metadata?.uid);
  assert.equal(still.metadata?.deletionTimestamp, undefined);
});

test('a status the CRD schema refuses fails with StatusRejectedError naming the field, once', async (t) => {
  const namespace = await testNamespace(t, kc);
  const objects = shepherdObjects(kc);
  const cr = await objects.createSession(namespace, 'refused', {
    agent: 'command',
    command: ['true'],
    desiredState: 'Stopped',
  });
  const session = { namespace, name: 'refused', uid: cr.metadata.uid! };
  const variants: Array<[string, AgentSessionStatus, RegExp]> = [
    ['an unknown phase', { phase: 'Exploded' as AgentSessionStatus['phase'] }, /status\.phase/],
    ['a result over 16384 characters', { result: 'x'.repeat(16_385) }, /status\.result/],
    [
      '17 reconciled repositories',
      { reconciledRepos: Array.from({ length: 17 }, (_, i) => ({ url: `u${i}` })) },
      /status\.reconciledRepos/,
    ],
    ['a fractional token count', { usage: { inputTokens: 1.5 } }, /status\.usage\.inputTokens/],
  ];
  for (const [what, status, field] of variants) {
    await assert.rejects(acts.mirrorStatus({ session, status }), (error: unknown) => {
      assert.ok(error instanceof StatusRejectedError, `${what}: ${String(error)}`);
      assert.match(error.message, field, what);
      assert.match(error.message, new RegExp(`AgentSession ${namespace}/refused`));
      assert.doesNotMatch(error.message, /HTTP-Code|Headers:/, `${what}: the client's wrapper is not quoted`);
      return true;
    });
  }
  assert.equal((await objects.readSession(namespace, 'refused')).status, undefined, 'nothing was written');
});
