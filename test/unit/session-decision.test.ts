/**
 * The AgentSession controller's decision, case by case: which run of a session's workflow id
 * belongs to the CR, when a session is started, held, stopped, restarted or cancelled, and that
 * each stop and restart happens once per generation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { AgentSession, AgentSessionStatus, ObjectMeta } from '../../src/resources/types.js';
import {
  type Handled,
  type LatestRun,
  NOT_LOOKED_UP,
  decide,
  latestRunOf,
} from '../../src/runtime/kubernetes/session-decision.js';
import { RESTART_GENERATION_MEMO, SESSION_UID_MEMO } from '../../src/session-client/session-commands.js';
import { agentSession } from './support/session-fixtures.js';

const UID = 'uid-current';
const OTHER_UID = 'uid-other';
const CREATED = '2030-01-01T10:00:00Z';
const BEFORE_CREATED = new Date('2030-01-01T09:00:00Z');
const AFTER_CREATED = new Date('2030-01-01T10:00:05Z');

/** The CR as the controller sees it: generation 3, created at CREATED, desiredState Running. */
function cr(
  options: {
    desiredState?: 'Running' | 'Stopped';
    metadata?: Partial<ObjectMeta>;
    status?: AgentSessionStatus;
  } = {},
): AgentSession {
  const session = agentSession(options.desiredState ? { desiredState: options.desiredState } : {});
  return {
    ...session,
    metadata: {
      ...session.metadata,
      uid: UID,
      generation: 3,
      creationTimestamp: CREATED,
      ...options.metadata,
    },
    ...(options.status ? { status: options.status } : {}),
  };
}

function run(overrides: Partial<LatestRun> = {}): LatestRun {
  return { runId: 'run-1', status: 'RUNNING', memoUid: UID, startTime: AFTER_CREATED, ...overrides };
}

/** A run started without a memo, by an older controller or API. */
function runWithoutMemo(overrides: Partial<LatestRun> = {}): LatestRun {
  return { runId: 'run-1', status: 'RUNNING', startTime: AFTER_CREATED, ...overrides };
}

const live = (session: AgentSession) => ({ session, deleted: false });
const deleted = (session: AgentSession) => ({ session, deleted: true });

test('a new session with no run of its workflow id is started, after looking the run up', () => {
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(live(cr()), undefined, undefined), { kind: 'start', record: { started: true } });
});

test('a session whose status names its workflow, or that this controller started, needs no lookup', () => {
  const named = cr({ status: { phase: 'Running', workflowId: 'agent-session/team-a/fix-flaky-test' } });
  assert.deepEqual(decide(live(named), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, { uid: UID, started: true }), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
});

test('bookkeeping for an earlier CR of the same name does not apply', () => {
  const stale: Handled = { uid: OTHER_UID, started: true, stopGeneration: 3, restartGeneration: 3 };
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, stale), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(live(cr({ desiredState: 'Stopped' })), undefined, stale), {
    kind: 'nothing',
    reason: 'held',
    record: { stopGeneration: 3 },
  });
});

test("a running run of another uid is cancelled; a closed one is followed by this CR's own run", () => {
  assert.deepEqual(decide(live(cr()), run({ memoUid: OTHER_UID }), undefined), {
    kind: 'cancel-other-run',
    runId: 'run-1',
    previousUid: OTHER_UID,
  });
  assert.deepEqual(decide(live(cr()), run({ memoUid: OTHER_UID, status: 'CANCELLED' }), undefined), {
    kind: 'start',
    record: { started: true },
  });
});

test('a finished run of this uid is never started again', () => {
  for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED'] as const) {
    assert.deepEqual(decide(live(cr()), run({ status }), undefined), {
      kind: 'nothing',
      reason: 'owns-latest-run',
      record: { started: true },
    });
  }
});

test('a run started without a memo belongs to the CR when running, or when started after its creation', () => {
  const owned = { kind: 'nothing', reason: 'owns-latest-run', record: { started: true } };
  assert.deepEqual(decide(live(cr()), runWithoutMemo(), undefined), owned);
  assert.deepEqual(decide(live(cr()), runWithoutMemo({ status: 'COMPLETED' }), undefined), owned);
  assert.deepEqual(
    decide(live(cr()), runWithoutMemo({ status: 'COMPLETED', startTime: BEFORE_CREATED }), undefined),
    { kind: 'start', record: { started: true } },
  );
  const noCreationTime = cr({ metadata: { creationTimestamp: undefined } });
  assert.deepEqual(decide(live(noCreationTime), runWithoutMemo({ status: 'COMPLETED' }), undefined), {
    kind: 'start',
    record: { started: true },
  });
});

test('a session created with desiredState Stopped is held, once per generation', () => {
  const held = cr({ desiredState: 'Stopped' });
  assert.deepEqual(decide(live(held), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  const decision = { kind: 'nothing', reason: 'held', record: { stopGeneration: 3 } };
  assert.deepEqual(decide(live(held), undefined, undefined), decision);
  assert.deepEqual(decide(live(held), run({ status: 'COMPLETED' }), undefined), decision);
  assert.deepEqual(decide(live(held), run({ memoUid: OTHER_UID }), undefined), decision);
  assert.deepEqual(decide(live(held), NOT_LOOKED_UP, { uid: UID, stopGeneration: 3 }), {
    kind: 'nothing',
    reason: 'stop-already-handled',
  });
});

test('desiredState Stopped on a running session signals stop', () => {
  const stop = { kind: 'signal-stop', generation: 3, record: { stopGeneration: 3 } };
  const named = cr({
    desiredState: 'Stopped',
    status: { phase: 'Running', workflowId: 'agent-session/team-a/fix-flaky-test' },
  });
  assert.deepEqual(decide(live(named), NOT_LOOKED_UP, undefined), stop);
  assert.deepEqual(
    decide(live(cr({ desiredState: 'Stopped' })), NOT_LOOKED_UP, { uid: UID, started: true }),
    stop,
  );
  // The status does not name the workflow yet, but its run is running.
  assert.deepEqual(decide(live(cr({ desiredState: 'Stopped' })), run(), undefined), stop);
  assert.deepEqual(decide(live(cr({ desiredState: 'Stopped' })), runWithoutMemo(), undefined), stop);
});

test('desiredState Stopped on a stopped or finished session, or a stop already sent, does nothing', () => {
  for (const phase of ['Stopped', 'Succeeded', 'Failed', 'TimedOut'] as const) {
    assert.deepEqual(
      decide(live(cr({ desiredState: 'Stopped', status: { phase } })), NOT_LOOKED_UP, undefined),
      {
        kind: 'nothing',
        reason: 'stopped-or-finished',
      },
    );
  }
  const running = cr({ desiredState: 'Stopped', status: { phase: 'Running', workflowId: 'wf' } });
  assert.deepEqual(decide(live(running), NOT_LOOKED_UP, { uid: UID, started: true, stopGeneration: 3 }), {
    kind: 'nothing',
    reason: 'stop-already-handled',
  });
  // A newer generation (edited again while stopping) sends the stop again.
  assert.equal(decide(live(running), NOT_LOOKED_UP, { uid: UID, stopGeneration: 2 }).kind, 'signal-stop');
});

test('desiredState Running past a Stopped status restarts: a running run by signal-with-start, a closed one as a new run', () => {
  // The status says Stopped at generation 2; the user set Running, which made generation 3.
  const restarting = cr({ status: { phase: 'Stopped', observedGeneration: 2, workflowId: 'wf' } });
  const record = { started: true, restartGeneration: 3 };
  assert.deepEqual(decide(live(restarting), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(live(restarting), run(), undefined), { kind: 'restart', generation: 3, record });
  assert.deepEqual(decide(live(restarting), run({ restartGeneration: 2 }), undefined), {
    kind: 'restart',
    generation: 3,
    record,
  });
  // Another CR's memo naming the generation is not this restart.
  assert.deepEqual(decide(live(restarting), run({ memoUid: OTHER_UID, restartGeneration: 3 }), undefined), {
    kind: 'restart',
    generation: 3,
    record,
  });
  assert.deepEqual(decide(live(restarting), run({ status: 'COMPLETED' }), undefined), {
    kind: 'restart-as-new-run',
    generation: 3,
    record,
  });
  assert.deepEqual(decide(live(restarting), undefined, undefined), {
    kind: 'restart-as-new-run',
    generation: 3,
    record,
  });
});

test('a restart happens once per generation, across replicas', () => {
  const restarting = cr({ status: { phase: 'Stopped', observedGeneration: 2, workflowId: 'wf' } });
  // Another replica's run is already the restart for this generation (or a later one).
  for (const restartGeneration of [3, 4]) {
    assert.deepEqual(decide(live(restarting), run({ restartGeneration }), undefined), {
      kind: 'nothing',
      reason: 'already-restarted',
      record: { started: true, restartGeneration: 3 },
    });
  }
  // This controller sent it already.
  assert.deepEqual(decide(live(restarting), NOT_LOOKED_UP, { uid: UID, restartGeneration: 3 }), {
    kind: 'nothing',
    reason: 'restart-already-sent',
  });
  // The workflow has seen the generation: the stop is the current state, not a request to restart.
  const seen = cr({ status: { phase: 'Stopped', observedGeneration: 3, workflowId: 'wf' } });
  assert.deepEqual(decide(live(seen), NOT_LOOKED_UP, undefined), { kind: 'nothing', reason: 'has-workflow' });
});

test("a deleted CR cancels its running run, but not a newer CR's", () => {
  assert.deepEqual(decide(deleted(cr()), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(deleted(cr()), run(), undefined), { kind: 'cancel-deleted', runId: 'run-1' });
  assert.deepEqual(decide(deleted(cr()), runWithoutMemo(), undefined), {
    kind: 'cancel-deleted',
    runId: 'run-1',
  });
  assert.deepEqual(decide(deleted(cr()), run({ memoUid: OTHER_UID }), undefined), {
    kind: 'nothing',
    reason: 'run-of-newer-session',
  });
  assert.deepEqual(decide(deleted(cr()), run({ status: 'COMPLETED' }), undefined), {
    kind: 'nothing',
    reason: 'no-running-run',
  });
  assert.deepEqual(decide(deleted(cr()), undefined, undefined), {
    kind: 'nothing',
    reason: 'no-running-run',
  });
});

test('a CR being deleted, or without a uid yet, is left to the delete event', () => {
  const deleting = cr({ metadata: { deletionTimestamp: '2030-01-01T11:00:00Z' } });
  assert.deepEqual(decide(live(deleting), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'not-reconcilable',
  });
  const stopping = cr({ desiredState: 'Stopped', metadata: { deletionTimestamp: '2030-01-01T11:00:00Z' } });
  assert.deepEqual(decide(live(stopping), run(), undefined), { kind: 'nothing', reason: 'not-reconcilable' });
  const noUid = cr({ metadata: { uid: undefined } });
  assert.deepEqual(decide(live(noUid), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'not-reconcilable',
  });
});

test("a described run's memo gives its uid and restart generation; values of another type are ignored", () => {
  const description = (memo: Record<string, unknown> | undefined) =>
    ({
      runId: 'run-7',
      status: { name: 'RUNNING' },
      startTime: AFTER_CREATED,
      memo,
    }) as unknown as WorkflowExecutionDescription;
  assert.deepEqual(latestRunOf(description({ [SESSION_UID_MEMO]: UID, [RESTART_GENERATION_MEMO]: 4 })), {
    runId: 'run-7',
    status: 'RUNNING',
    memoUid: UID,
    restartGeneration: 4,
    startTime: AFTER_CREATED,
  });
  assert.deepEqual(latestRunOf(description({ [SESSION_UID_MEMO]: 7, [RESTART_GENERATION_MEMO]: '4' })), {
    runId: 'run-7',
    status: 'RUNNING',
    startTime: AFTER_CREATED,
  });
  assert.deepEqual(latestRunOf(description(undefined)), {
    runId: 'run-7',
    status: 'RUNNING',
    startTime: AFTER_CREATED,
  });
});
