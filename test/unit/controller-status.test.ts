/**
 * The two statuses the AgentSession controller writes: a held session says Stopped/Held and how
 * to start it; a session whose run closed in Temporal without a final status ends Failed with a
 * reason per kind of close, a message naming the run and how to run it again, and keeps what the
 * workflow wrote before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findStatusCondition, Reason } from '../../src/resources/conditions.js';
import { closedRunStatus, heldStatus } from '../../src/runtime/kubernetes/controller-status.js';

const NOW = new Date('2030-01-01T10:00:00.123Z');

test('a held session is Stopped, Ready=False reason Held, at the generation it was created with', () => {
  const status = heldStatus(4, NOW);
  assert.equal(status.phase, 'Stopped');
  assert.equal(status.observedGeneration, 4);
  const ready = findStatusCondition(status.conditions, 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, Reason.Held);
  assert.equal(ready?.observedGeneration, 4);
  assert.equal(ready?.lastTransitionTime, '2030-01-01T10:00:00Z');
  assert.match(ready?.message ?? '', /spec\.desiredState to Running/);
  assert.equal(status.workflowId, undefined, 'no workflow was started');
});

test('a run closed without a final status ends Failed with the reason of its close', () => {
  const cases = [
    ['TERMINATED', Reason.WorkflowTerminated, /terminated in Temporal/],
    ['TIMED_OUT', Reason.WorkflowTimedOut, /Temporal workflow timeout/],
    ['CANCELLED', Reason.WorkflowClosed, /cancelled in Temporal/],
    ['FAILED', Reason.WorkflowClosed, /failed in Temporal/],
  ] as const;
  for (const [close, reason, what] of cases) {
    const before = {
      phase: 'Running' as const,
      attempt: 2,
      runnerPodName: 'fix-a2-xyz',
      observedGeneration: 3,
      conditions: [],
    };
    const status = closedRunStatus(before, { workflowId: 'agent-session/a/fix', runId: 'run-9', close }, NOW);
    assert.equal(status.phase, 'Failed', close);
    assert.equal(status.attempt, 2, 'what the workflow wrote is kept');
    assert.equal(status.runnerPodName, 'fix-a2-xyz');
    assert.equal(status.runId, 'run-9');
    assert.equal(status.workflowId, 'agent-session/a/fix');
    assert.ok(status.completionTime);
    for (const type of ['Failed', 'Ready', 'Completed']) {
      const condition = findStatusCondition(status.conditions, type);
      assert.equal(condition?.reason, reason, `${close} ${type}`);
      assert.equal(condition?.status, type === 'Failed' ? 'True' : 'False');
      assert.equal(condition?.observedGeneration, 3);
      assert.match(condition?.message ?? '', what);
      assert.match(condition?.message ?? '', /run-9/);
      assert.match(condition?.message ?? '', /shepherd restart/);
    }
  }
  // Closed before it wrote anything at all.
  const bare = closedRunStatus(undefined, { workflowId: 'wf', runId: 'r', close: 'TERMINATED' }, NOW);
  assert.equal(bare.phase, 'Failed');
  assert.equal(findStatusCondition(bare.conditions, 'Failed')?.reason, Reason.WorkflowTerminated);
});
