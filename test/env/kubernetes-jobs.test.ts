/**
 * The environment is real: the real Job controller sees the exit code a pod on the KWOK node ends
 * with, and reports it exactly as a cluster would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { eventually, kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const batch = kc.makeApiClient(k8s.BatchV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);

function job(name: string, annotations: Record<string, string>): k8s.V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'runner', image: 'shepherd/runner:test', command: ['runner'] }],
        },
      },
    },
  };
}

function jobCondition(j: k8s.V1Job, type: string): boolean {
  return j.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

async function podOf(namespace: string, jobName: string): Promise<k8s.V1Pod> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` });
  assert.equal(pods.items.length, 1, 'exactly one pod for a Job with backoffLimit 0');
  return pods.items[0]!;
}

test('a Job whose pod exits 2 ends Failed, and its pod shows terminated.exitCode 2', async (t) => {
  const namespace = await testNamespace(t, kc);
  await batch.createNamespacedJob({
    namespace,
    body: job('exit-two', { [FAKE_POD_ANNOTATIONS.exitCode]: '2', [FAKE_POD_ANNOTATIONS.duration]: '500ms' }),
  });
  const done = await eventually(
    'the Job to end',
    () => batch.readNamespacedJob({ name: 'exit-two', namespace }),
    (j) => jobCondition(j, 'Failed') || jobCondition(j, 'Complete'),
  );
  assert.ok(jobCondition(done, 'Failed'), 'the Job is Failed');
  assert.equal(done.status?.failed, 1);
  const pod = await podOf(namespace, 'exit-two');
  assert.equal(pod.status?.phase, 'Failed');
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(terminated?.exitCode, 2);
  assert.equal(terminated?.reason, 'Error');
});

test('a Job whose pod exits 0 ends Complete, with the termination message the pod wrote', async (t) => {
  const namespace = await testNamespace(t, kc);
  const result = JSON.stringify({ summary: 'done', commit: 'abc123' });
  await batch.createNamespacedJob({
    namespace,
    body: job('exit-zero', {
      [FAKE_POD_ANNOTATIONS.duration]: '200ms',
      [FAKE_POD_ANNOTATIONS.message]: result,
    }),
  });
  const done = await eventually(
    'the Job to end',
    () => batch.readNamespacedJob({ name: 'exit-zero', namespace }),
    (j) => jobCondition(j, 'Failed') || jobCondition(j, 'Complete'),
  );
  assert.ok(jobCondition(done, 'Complete'), 'the Job is Complete');
  assert.equal(done.status?.succeeded, 1);
  const terminated = (await podOf(namespace, 'exit-zero')).status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(terminated?.exitCode, 0);
  assert.equal(terminated?.message, result);
});

test('a pod killed for memory shows OOMKilled with exit code 137', async (t) => {
  const namespace = await testNamespace(t, kc);
  await batch.createNamespacedJob({
    namespace,
    body: job('oom', {
      [FAKE_POD_ANNOTATIONS.exitCode]: '137',
      [FAKE_POD_ANNOTATIONS.reason]: 'OOMKilled',
      [FAKE_POD_ANNOTATIONS.duration]: '200ms',
    }),
  });
  await eventually(
    'the Job to fail',
    () => batch.readNamespacedJob({ name: 'oom', namespace }),
    (j) => jobCondition(j, 'Failed'),
  );
  const terminated = (await podOf(namespace, 'oom')).status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(terminated?.exitCode, 137);
  assert.equal(terminated?.reason, 'OOMKilled');
});

test('a pod whose image cannot be pulled waits with ImagePullBackOff and never runs', async (t) => {
  const namespace = await testNamespace(t, kc);
  await batch.createNamespacedJob({
    namespace,
    body: job('no-image', { [FAKE_POD_ANNOTATIONS.waitingReason]: 'ImagePullBackOff' }),
  });
  const pod = await eventually(
    'the pod to report a waiting container',
    async () => (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=no-image' })).items[0],
    (p) => p?.status?.containerStatuses?.[0]?.state?.waiting !== undefined,
  );
  assert.equal(pod?.status?.phase, 'Pending');
  assert.equal(pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
});

test('a running Job past its activeDeadlineSeconds is failed with DeadlineExceeded and its pod removed', async (t) => {
  const namespace = await testNamespace(t, kc);
  const body = job('too-slow', { [FAKE_POD_ANNOTATIONS.duration]: '1h' });
  body.spec!.activeDeadlineSeconds = 2;
  await batch.createNamespacedJob({ namespace, body });
  await eventually(
    'the pod to run',
    async () => (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=too-slow' })).items[0],
    (p) => p?.status?.phase === 'Running',
  );
  const failed = await eventually(
    'the Job to fail',
    () => batch.readNamespacedJob({ name: 'too-slow', namespace }),
    (j) => jobCondition(j, 'Failed'),
  );
  assert.equal(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'DeadlineExceeded');
  await eventually(
    'the pod to be deleted',
    () => core.listNamespacedPod({ namespace, labelSelector: 'job-name=too-slow' }),
    (pods) => pods.items.length === 0,
  );
});
