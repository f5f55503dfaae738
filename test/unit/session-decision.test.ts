/**
 * The AgentSession controller's decision, case by case: which run of a session's workflow id
 * belongs to the CR, when a session is started, held, stopped, restarted or cancelled, that only
 * desiredState Stopped followed by Running restarts (never a signal stop or an edit), that a
 * restart happens once, and that a run closed without a final status is noticed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { STOP_REQUESTED_ANNOTATION } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionStatus, ObjectMeta } from '../../src/resources/types.js';
import {
  type Handled,
  type LatestRun,
  NOT_LOOKED_UP,
  RESTART_STOP_REASON,
  STOP_REASON,
  decide,
  latestRunOf,
} from '../../src/runtime/kubernetes/session-decision.js';
import { stopRequestedGeneration } from '../../src/runtime/kubernetes/stop-record.js';
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

/** Desired state Stopped was recorded at `generation` (the CR's generation is 3). */
const stopRecordedAt = (generation: number | string) => ({
  annotations: { [STOP_REQUESTED_ANNOTATION]: String(generation) },
});

const live = (session: AgentSession) => ({ session, deleted: false });
const resynced = (session: AgentSession) => ({ session, deleted: false, resync: true });
const deleted = (session: AgentSession) => ({ session, deleted: true });

test('a new session is started at once, as the first run of its id, without a lookup first', () => {
  // The start cannot follow a run of the id; when it is refused, the lookup comes after it.
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, undefined), {
    kind: 'start',
    record: { started: true },
    firstRun: true,
    beforeLookUp: true,
  });
  // A CR that has a status, or is seen by a resync, may have had a run: it is looked up first.
  const written = cr({ status: { phase: 'Pending' } });
  assert.deepEqual(decide(live(written), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(resynced(cr()), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(live(cr()), undefined, undefined), {
    kind: 'start',
    record: { started: true },
    firstRun: true,
  });
});

test('a session whose status names its workflow, or that this controller started, needs no lookup on an event', () => {
  const named = cr({ status: { phase: 'Running', workflowId: 'agent-session/team-a/fix-flaky-test' } });
  assert.deepEqual(decide(live(named), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, { uid: UID, started: true }), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
  // A finished one needs none on a resync either.
  const done = cr({ status: { phase: 'Succeeded', workflowId: 'wf' } });
  assert.deepEqual(decide(resynced(done), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
});

test('bookkeeping for an earlier CR of the same name does not apply', () => {
  const stale: Handled = { uid: OTHER_UID, started: true, stopGeneration: 3 };
  assert.deepEqual(decide(live(cr()), NOT_LOOKED_UP, stale), {
    kind: 'start',
    record: { started: true },
    firstRun: true,
    beforeLookUp: true,
  });
  const held = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3) });
  assert.deepEqual(decide(live(held), undefined, stale), {
    kind: 'hold',
    generation: 3,
    record: { stopGeneration: 3 },
  });
});

test("a running run of another uid is cancelled; a closed one is followed by this CR's own run", () => {
  const cancel = { kind: 'cancel-other-run', runId: 'run-1', previousUid: OTHER_UID };
  assert.deepEqual(decide(live(cr()), run({ memoUid: OTHER_UID }), undefined), cancel);
  for (const status of ['CANCELLED', 'COMPLETED', 'TERMINATED'] as const) {
    assert.deepEqual(decide(live(cr()), run({ memoUid: OTHER_UID, status }), undefined), {
      kind: 'start',
      record: { started: true },
    });
  }
  // Whatever this CR wants, an earlier CR's run is cancelled, never stopped or adopted.
  const held = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3) });
  assert.deepEqual(decide(live(held), run({ memoUid: OTHER_UID }), undefined), cancel);
  const restarting = cr({ metadata: stopRecordedAt(2), status: { phase: 'Stopped', workflowId: 'wf' } });
  assert.deepEqual(decide(live(restarting), run({ memoUid: OTHER_UID }), undefined), cancel);
});

test('a finished run of this uid is never started again', () => {
  assert.deepEqual(decide(live(cr()), run({ status: 'COMPLETED' }), undefined), {
    kind: 'nothing',
    reason: 'owns-latest-run',
    record: { started: true },
  });
  for (const phase of ['Succeeded', 'Failed', 'TimedOut', 'Stopped'] as const) {
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED'] as const) {
      assert.deepEqual(decide(live(cr({ status: { phase } })), run({ status }), undefined), {
        kind: 'nothing',
        reason: 'owns-latest-run',
        record: { started: true },
      });
    }
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

test('desiredState Stopped is recorded on the CR before anything else, whatever the session is doing', () => {
  for (const status of [
    undefined,
    { phase: 'Running' as const, workflowId: 'wf' },
    { phase: 'Succeeded' as const },
  ]) {
    const session = cr({ desiredState: 'Stopped', ...(status ? { status } : {}) });
    assert.deepEqual(decide(live(session), NOT_LOOKED_UP, undefined), {
      kind: 'record-stop-request',
      generation: 3,
    });
  }
  // A value that is not a generation counts as no record.
  const garbled = cr({ desiredState: 'Stopped', metadata: stopRecordedAt('three') });
  assert.equal(stopRequestedGeneration(garbled), undefined);
  assert.deepEqual(decide(live(garbled), NOT_LOOKED_UP, undefined), {
    kind: 'record-stop-request',
    generation: 3,
  });
});

test('a session created with desiredState Stopped is held: its status says so once, nothing starts', () => {
  const held = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3) });
  assert.deepEqual(decide(live(held), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  const hold = { kind: 'hold', generation: 3, record: { stopGeneration: 3 } };
  assert.deepEqual(decide(live(held), undefined, undefined), hold);
  assert.deepEqual(decide(live(held), run({ memoUid: OTHER_UID, status: 'COMPLETED' }), undefined), hold);
  // Once the held status is written, it is Stopped: nothing more to do.
  const written = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3), status: { phase: 'Stopped' } });
  assert.deepEqual(decide(live(written), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'stopped-or-finished',
  });
  assert.deepEqual(decide(live(held), NOT_LOOKED_UP, { uid: UID, stopGeneration: 3 }), {
    kind: 'nothing',
    reason: 'stop-already-handled',
  });
});

test("desiredState Stopped on a running session signals stop to this CR's run, by its run id", () => {
  const stop = {
    kind: 'signal-stop',
    runId: 'run-1',
    reason: STOP_REASON,
    generation: 3,
    record: { stopGeneration: 3 },
  };
  const named = cr({
    desiredState: 'Stopped',
    metadata: stopRecordedAt(3),
    status: { phase: 'Running', workflowId: 'agent-session/team-a/fix-flaky-test' },
  });
  assert.deepEqual(decide(live(named), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
  assert.deepEqual(decide(live(named), run(), undefined), stop);
  // The status does not name the workflow yet, but its run is running.
  const fresh = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3) });
  assert.deepEqual(decide(live(fresh), run(), undefined), stop);
  assert.deepEqual(decide(live(fresh), runWithoutMemo(), undefined), stop);
  // Recorded at an earlier generation (edited again while stopping): the stop is sent again.
  assert.deepEqual(
    decide(live(cr({ desiredState: 'Stopped', metadata: stopRecordedAt(2) })), run(), undefined),
    stop,
  );
});

test('desiredState Stopped on a stopped or finished session, or a stop already sent, does nothing', () => {
  for (const phase of ['Stopped', 'Succeeded', 'Failed', 'TimedOut'] as const) {
    const session = cr({ desiredState: 'Stopped', metadata: stopRecordedAt(3), status: { phase } });
    assert.deepEqual(decide(live(session), NOT_LOOKED_UP, undefined), {
      kind: 'nothing',
      reason: 'stopped-or-finished',
    });
  }
  const running = cr({
    desiredState: 'Stopped',
    metadata: stopRecordedAt(3),
    status: { phase: 'Running', workflowId: 'wf' },
  });
  assert.deepEqual(decide(live(running), NOT_LOOKED_UP, { uid: UID, started: true, stopGeneration: 3 }), {
    kind: 'nothing',
    reason: 'stop-already-handled',
  });
  assert.equal(decide(live(running), run(), { uid: UID, stopGeneration: 2 }).kind, 'signal-stop');
});

test('Stopped then Running restarts a stopped or finished session as a new run', () => {
  for (const phase of ['Stopped', 'Succeeded', 'Failed', 'TimedOut'] as const) {
    // Stopped was recorded at generation 2; the user set Running, which made generation 3.
    const restarting = cr({
      metadata: stopRecordedAt(2),
      status: { phase, observedGeneration: 1, workflowId: 'wf' },
    });
    const restart = { kind: 'restart-as-new-run', generation: 3, record: { started: true } };
    assert.deepEqual(decide(live(restarting), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
    assert.deepEqual(decide(live(restarting), run({ status: 'COMPLETED' }), undefined), restart);
    // A restart an earlier Stopped/Running asked for is not this one.
    assert.deepEqual(
      decide(live(restarting), run({ status: 'COMPLETED', restartGeneration: 2 }), undefined),
      restart,
    );
    // Temporal no longer has the run (retention): a new run all the same.
    assert.deepEqual(decide(live(restarting), undefined, undefined), restart);
  }
});

test('a held session set to Running gets its first run, which consumes the stop record', () => {
  const held = cr({ metadata: stopRecordedAt(2), status: { phase: 'Stopped', observedGeneration: 2 } });
  assert.deepEqual(decide(live(held), undefined, undefined), {
    kind: 'start',
    restartGeneration: 3,
    record: { started: true },
    firstRun: true,
  });
  assert.deepEqual(decide(live(held), run({ restartGeneration: 3 }), undefined), {
    kind: 'clear-stop-request',
    stopGeneration: 2,
  });
});

test('a restart happens once: a run whose memo names a later generation consumed the record, which is removed', () => {
  const restarting = cr({ metadata: stopRecordedAt(2), status: { phase: 'Stopped', workflowId: 'wf' } });
  for (const restartGeneration of [3, 4]) {
    for (const status of ['RUNNING', 'COMPLETED'] as const) {
      assert.deepEqual(decide(live(restarting), run({ restartGeneration, status }), undefined), {
        kind: 'clear-stop-request',
        stopGeneration: 2,
      });
    }
  }
  // Another CR's memo naming the generation is not this restart.
  assert.deepEqual(decide(live(restarting), run({ memoUid: OTHER_UID, restartGeneration: 3 }), undefined), {
    kind: 'cancel-other-run',
    runId: 'run-1',
    previousUid: OTHER_UID,
  });
  // Once removed, nothing is left to restart.
  const done = cr({ status: { phase: 'Running', workflowId: 'wf' } });
  assert.deepEqual(decide(live(done), NOT_LOOKED_UP, undefined), { kind: 'nothing', reason: 'has-workflow' });
});

test('a restart racing the run still closing waits for it to close, and stops it if the stop may be lost', () => {
  // Stopping or cleaning up after its final status: the run closes by itself.
  for (const phase of ['Stopping', 'Stopped', 'Succeeded', 'Failed', 'TimedOut'] as const) {
    const closing = cr({ metadata: stopRecordedAt(2), status: { phase, workflowId: 'wf' } });
    assert.deepEqual(decide(live(closing), run(), undefined), { kind: 'wait-for-close', runId: 'run-1' });
  }
  // Still working: the stop may never have reached it (a crash after the record); send it, once.
  for (const phase of ['Pending', 'Provisioning', 'Running'] as const) {
    const working = cr({ metadata: stopRecordedAt(2), status: { phase, workflowId: 'wf' } });
    assert.deepEqual(decide(live(working), run(), undefined), {
      kind: 'signal-stop',
      runId: 'run-1',
      reason: RESTART_STOP_REASON,
      generation: 3,
      record: { stopGeneration: 3 },
    });
    assert.deepEqual(decide(live(working), run(), { uid: UID, stopGeneration: 3 }), {
      kind: 'wait-for-close',
      runId: 'run-1',
    });
  }
});

test('a session stopped by a signal, or edited while stopped, is never restarted', () => {
  // No record of desiredState Stopped: the stop came by signal (API, CLI, temporal).
  for (const observedGeneration of [1, 2, 3]) {
    const stopped = cr({ status: { phase: 'Stopped', observedGeneration, workflowId: 'wf' } });
    assert.deepEqual(decide(live(stopped), NOT_LOOKED_UP, undefined), {
      kind: 'nothing',
      reason: 'has-workflow',
    });
    assert.deepEqual(decide(resynced(stopped), NOT_LOOKED_UP, undefined), {
      kind: 'nothing',
      reason: 'has-workflow',
    });
  }
  // A record at the current generation is a Stopped that Running has not followed yet.
  const stillStopped = cr({ metadata: stopRecordedAt(3), status: { phase: 'Stopped', workflowId: 'wf' } });
  assert.deepEqual(decide(live(stillStopped), NOT_LOOKED_UP, undefined), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
});

test('a run of this CR that closed without a final status is noticed at a resync and marked', () => {
  for (const status of ['TERMINATED', 'TIMED_OUT', 'CANCELLED', 'FAILED'] as const) {
    for (const phase of ['Pending', 'Provisioning', 'Running', 'Stopping'] as const) {
      const active = cr({ status: { phase, workflowId: 'wf' } });
      assert.deepEqual(decide(resynced(active), NOT_LOOKED_UP, undefined), { kind: 'look-up-latest-run' });
      assert.deepEqual(decide(resynced(active), run({ status }), undefined), {
        kind: 'mark-closed',
        runId: 'run-1',
        close: status,
      });
      // An event alone does not ask Temporal.
      assert.deepEqual(decide(live(active), NOT_LOOKED_UP, undefined), {
        kind: 'nothing',
        reason: 'has-workflow',
      });
    }
    // Closed before it wrote any status at all.
    assert.deepEqual(decide(live(cr()), run({ status }), undefined), {
      kind: 'mark-closed',
      runId: 'run-1',
      close: status,
    });
    // Another CR's run, or one of a stale memo-less past, is not this session's.
    assert.deepEqual(decide(live(cr()), run({ status, memoUid: OTHER_UID }), undefined), {
      kind: 'start',
      record: { started: true },
    });
  }
  const active = cr({ status: { phase: 'Running', workflowId: 'wf' } });
  for (const status of ['RUNNING', 'COMPLETED'] as const) {
    assert.deepEqual(decide(resynced(active), run({ status }), undefined), {
      kind: 'nothing',
      reason: 'has-workflow',
    });
  }
  // A workflow id with no run at all (a wrong Temporal namespace?) never fails a session.
  assert.deepEqual(decide(resynced(active), undefined, undefined), {
    kind: 'nothing',
    reason: 'has-workflow',
  });
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

test('a deleted CR leaves alone a memo-less run that started after a newer CR of the same name', () => {
  const newer = cr({ metadata: { uid: OTHER_UID, creationTimestamp: '2030-01-01T10:00:03Z' } });
  const withSuccessor = { session: cr(), deleted: true, successor: newer };
  assert.deepEqual(decide(withSuccessor, runWithoutMemo(), undefined), {
    kind: 'nothing',
    reason: 'run-of-newer-session',
  });
  // Started before the newer CR existed: the deleted CR's own.
  assert.deepEqual(
    decide(withSuccessor, runWithoutMemo({ startTime: new Date('2030-01-01T10:00:01Z') }), undefined),
    {
      kind: 'cancel-deleted',
      runId: 'run-1',
    },
  );
});

test('a CR being deleted, or without a uid, is left alone, deleted or not', () => {
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
  // Without a uid, a deleted CR's run cannot be told from a newer CR's: never cancelled.
  assert.deepEqual(decide(deleted(noUid), runWithoutMemo(), undefined), {
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
