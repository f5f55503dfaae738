/** What the watcher tells a session workflow, derived from its runner Job and pod alone. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoreV1Event, V1ContainerState, V1Job, V1Pod } from '@kubernetes/client-node';
import { buildSessionJob } from '../../src/runtime/kubernetes/builders/session-job.js';
import { RUNNER_SELECTOR } from '../../src/runtime/kubernetes/runner-watcher.js';
import {
  jobFinishedBefore,
  type RunnerRef,
  runnerEvents,
  runnerRefOfJob,
  runnerRefOfPod,
} from '../../src/runtime/kubernetes/runner-events.js';
import { isFinalRefusal, podRefusalOfEvent } from '../../src/runtime/kubernetes/pod-refusals.js';
import { resolvedSession } from './support/session-fixtures.js';

const ref: RunnerRef = { namespace: 'team-a', session: 'fix-flaky-test', attempt: 2 };
const podName = 'fix-flaky-test-a2-x7k2p';

function pod(
  phase: string,
  runner?: V1ContainerState,
  extra: Partial<NonNullable<V1Pod['status']>> = {},
): V1Pod {
  return {
    metadata: { name: podName, namespace: 'team-a', creationTimestamp: new Date('2026-01-01T00:00:00Z') },
    status: {
      phase,
      ...(runner
        ? {
            containerStatuses: [
              { name: 'runner', image: 'x', imageID: '', ready: false, restartCount: 0, state: runner },
            ],
          }
        : {}),
      ...extra,
    },
  };
}

function job(conditions: Array<{ type: string; reason?: string; message?: string }>): V1Job {
  return {
    metadata: { name: 'fix-flaky-test-a2', namespace: 'team-a' },
    status: { conditions: conditions.map((c) => ({ status: 'True', ...c })) },
  };
}

test("the session's Job and its pod template carry everything the watcher selects and identifies them by", () => {
  const built = buildSessionJob(resolvedSession(), 2);
  for (const requirement of RUNNER_SELECTOR.split(',')) {
    const [key, value] = requirement.split('=') as [string, string];
    assert.equal(built.metadata?.labels?.[key], value, `Job label ${key}`);
    assert.equal(built.spec?.template.metadata?.labels?.[key], value, `pod label ${key}`);
  }
  assert.deepEqual(runnerRefOfJob(built), ref);
  const podFromTemplate: V1Pod = {
    metadata: { ...built.spec?.template.metadata, namespace: 'team-a', name: podName },
  };
  assert.deepEqual(runnerRefOfPod(podFromTemplate), ref);
});

test('a Job without the annotation is identified by its name <session>-a<attempt>', () => {
  assert.deepEqual(runnerRefOfJob({ metadata: { name: 'my-session-a12', namespace: 'ns' } }), {
    namespace: 'ns',
    session: 'my-session',
    attempt: 12,
  });
  assert.equal(runnerRefOfJob({ metadata: { name: 'not-a-runner', namespace: 'ns' } }), undefined);
});

test('a pending pod says nothing; a running runner has started', () => {
  assert.deepEqual(runnerEvents(ref, undefined, [pod('Pending')]), []);
  assert.deepEqual(runnerEvents(ref, undefined, [pod('Running', { running: { startedAt: new Date() } })]), [
    { kind: 'started', attempt: 2, podName },
  ]);
});

test('a runner that exited reports started and ended with its exit code, reason and result', () => {
  const terminated = { exitCode: 1, reason: 'Error', message: '{"summary":"no"}', startedAt: new Date() };
  assert.deepEqual(runnerEvents(ref, undefined, [pod('Failed', { terminated })]), [
    { kind: 'started', attempt: 2, podName },
    {
      kind: 'ended',
      attempt: 2,
      podName,
      termination: { exitCode: 1, reason: 'Error', message: '{"summary":"no"}' },
    },
  ]);
});

test("an evicted pod reports the pod's reason and message over the container's", () => {
  const [, ended] = runnerEvents(ref, undefined, [
    pod(
      'Failed',
      { terminated: { exitCode: 137, reason: 'Error', startedAt: new Date() } },
      { reason: 'Evicted', message: 'The node was low on resource: memory.' },
    ),
  ]);
  assert.deepEqual(ended, {
    kind: 'ended',
    attempt: 2,
    podName,
    termination: { exitCode: 137, reason: 'Evicted', message: 'The node was low on resource: memory.' },
  });
});

test('a runner that can never start ends with its waiting reason; a slow pull does not', () => {
  const waiting = (reason: string) => pod('Pending', { waiting: { reason, message: `${reason} detail` } });
  assert.deepEqual(runnerEvents(ref, undefined, [waiting('CreateContainerConfigError')]), [
    {
      kind: 'ended',
      attempt: 2,
      podName,
      termination: {
        waitingReason: 'CreateContainerConfigError',
        message: 'CreateContainerConfigError detail',
      },
    },
  ]);
  assert.deepEqual(runnerEvents(ref, undefined, [waiting('ContainerCreating')]), []);
});

test('a failed clone step ends the attempt with its exit code', () => {
  const failed: V1Pod = pod(
    'Failed',
    { waiting: { reason: 'PodInitializing' } },
    {
      initContainerStatuses: [
        {
          name: 'clone',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 128, reason: 'Error', message: 'repository not found' } },
        },
      ],
    },
  );
  assert.deepEqual(runnerEvents(ref, undefined, [failed]), [
    {
      kind: 'ended',
      attempt: 2,
      podName,
      termination: {
        exitCode: 128,
        reason: 'Error',
        message: 'the clone step failed with exit code 128: repository not found',
      },
    },
  ]);
});

test("the Job's deadline wins over the exit code of the pod it killed", () => {
  const killed = pod('Failed', { terminated: { exitCode: 143, reason: 'Error', startedAt: new Date() } });
  const deadline = job([
    {
      type: 'FailureTarget',
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    },
  ]);
  assert.deepEqual(runnerEvents(ref, deadline, [killed]).at(-1), {
    kind: 'ended',
    attempt: 2,
    termination: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
  });
  // The final Failed condition, after the pod is gone, makes the identical event.
  const failed = job([
    { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
  ]);
  assert.deepEqual(runnerEvents(ref, failed, []), runnerEvents(ref, deadline, [killed]).slice(-1));
});

test('a finished Job whose pod is gone is reported only when the pod list is known complete', () => {
  const failed = job([
    {
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    },
  ]);
  assert.deepEqual(runnerEvents(ref, failed, []), []);
  assert.deepEqual(runnerEvents(ref, failed, [], { finishedJobWithoutPod: true }), [
    {
      kind: 'ended',
      attempt: 2,
      termination: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
    },
  ]);
});

/** A FailedCreate Event as the Job controller records it on Job `fix-flaky-test-a2`. */
function failedCreate(message: string, jobUid = 'job-uid-2'): CoreV1Event {
  return {
    metadata: { name: 'fix-flaky-test-a2.18a1', namespace: 'team-a' },
    involvedObject: { kind: 'Job', name: 'fix-flaky-test-a2', namespace: 'team-a', uid: jobUid },
    reason: 'FailedCreate',
    type: 'Warning',
    message: `Error creating: ${message}`,
  };
}

const psa =
  'pods "fix-flaky-test-a2-x7k2p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false';
const quota =
  'pods "fix-flaky-test-a2-x7k2p" is forbidden: exceeded quota: runner-budget, requested: pods=1, used: pods=0, limited: pods=0';

function refusalsOf(...events: CoreV1Event[]) {
  return events.flatMap((event) => podRefusalOfEvent(event)?.refusal ?? []);
}

const pendingJob = (): V1Job => ({ ...job([]), metadata: { ...job([]).metadata, uid: 'job-uid-2' } });

test('a final FailedCreate on a Job without a pod ends the attempt with the API server message', () => {
  for (const message of [
    psa,
    quota,
    'Pod "x" is invalid: spec.containers[0].resources.limits: Invalid value',
  ]) {
    assert.deepEqual(
      runnerEvents(ref, pendingJob(), [], { refusals: refusalsOf(failedCreate(message)) }),
      [{ kind: 'ended', attempt: 2, termination: { reason: 'FailedCreate', message } }],
      message,
    );
  }
});

test('transient refusals wait: a ServiceAccount the admission cache lacks, a quota not yet computed, a timeout', () => {
  for (const message of [
    'pods "x" is forbidden: error looking up service account team-a/fix-flaky-test-runner: serviceaccount "fix-flaky-test-runner" not found',
    'pods "x" is forbidden: status unknown for quota: runner-budget, resources: pods',
    'Timeout: request did not complete within requested timeout - context deadline exceeded',
    'Internal error occurred: failed calling webhook "policy.example.com": connection refused',
  ]) {
    assert.equal(isFinalRefusal({ message }), false, message);
    assert.deepEqual(
      runnerEvents(ref, pendingJob(), [], { refusals: refusalsOf(failedCreate(message)) }),
      [],
    );
  }
});

test('a refusal of an earlier Job of the same name, or of a Job that made its pod after all, ends nothing', () => {
  assert.deepEqual(
    runnerEvents(ref, pendingJob(), [], { refusals: refusalsOf(failedCreate(psa, 'an-older-job')) }),
    [],
    'another uid',
  );
  const running = pod('Running', { running: {} });
  assert.deepEqual(
    runnerEvents(ref, pendingJob(), [running], { refusals: refusalsOf(failedCreate(quota)) }),
    [{ kind: 'started', attempt: 2, podName }],
    'the quota freed up and the pod runs: its state decides',
  );
  assert.deepEqual(
    runnerEvents(ref, undefined, [], { refusals: refusalsOf(failedCreate(psa)) }),
    [],
    'no Job',
  );
});

test('only FailedCreate Events on Jobs are refusals', () => {
  assert.equal(podRefusalOfEvent({ ...failedCreate(psa), reason: 'SuccessfulCreate' }), undefined);
  assert.equal(
    podRefusalOfEvent({
      ...failedCreate(psa),
      involvedObject: { kind: 'ReplicaSet', name: 'x', namespace: 'team-a' },
    }),
    undefined,
  );
  assert.deepEqual(podRefusalOfEvent(failedCreate(psa)), {
    namespace: 'team-a',
    jobName: 'fix-flaky-test-a2',
    eventName: 'fix-flaky-test-a2.18a1',
    refusal: { jobUid: 'job-uid-2', message: psa },
  });
});

test('a Job counts as finished before a moment by its Complete or Failed condition, or its completion time', () => {
  const at = Date.parse('2026-12-04T10:00:00Z');
  const since = (type: string, time: string): V1Job => ({
    status: { conditions: [{ type, status: 'True', lastTransitionTime: new Date(time) }] },
  });
  assert.equal(jobFinishedBefore(since('Failed', '2026-12-04T09:58:00Z'), at), true);
  assert.equal(jobFinishedBefore(since('Complete', '2026-12-04T10:00:30Z'), at), false, 'just now');
  assert.equal(jobFinishedBefore(since('Suspended', '2026-12-04T09:00:00Z'), at), false, 'not finished');
  const completed: V1Job = {
    status: {
      conditions: [{ type: 'Complete', status: 'True' }],
      completionTime: new Date('2026-12-04T09:00:00Z'),
    },
  };
  assert.equal(jobFinishedBefore(completed, at), true, 'by its completion time');
  assert.equal(jobFinishedBefore(undefined, at), false);
});
