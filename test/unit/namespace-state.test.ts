/**
 * The namespace workflow's rules without Temporal: slots granted first come first served up to the
 * limit, places told only to the sessions whose place changed, a session that leaves the queue
 * moves those behind it up, a charge counted once per key, a new month starting from nothing, and
 * the monthly cap reported once the month's spending reaches it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acquire,
  charge,
  emptyNamespace,
  monthOf,
  release,
  usageStatus,
} from '../../src/workflows/namespace-state.js';

const now = new Date('2026-12-03T10:00:00Z');

function fill(limit: number, ids: string[]) {
  let state = emptyNamespace(now);
  const notices: Map<string, number>[] = [];
  for (const id of ids) {
    const step = acquire(state, { sessionId: id, limit }, now);
    state = step.state;
    notices.push(new Map([...step.notices].map(([k, v]) => [k, v.position])));
  }
  return { state, notices };
}

test('five sessions with a limit of two: two hold a slot, three wait in the order they asked', () => {
  const { state, notices } = fill(2, ['s1', 's2', 's3', 's4', 's5']);
  assert.deepEqual(
    state.holders.map((h) => h.sessionId),
    ['s1', 's2'],
  );
  assert.deepEqual(
    state.queue.map((q) => q.sessionId),
    ['s3', 's4', 's5'],
  );
  // Each asker hears its own place, and nobody else is told anything.
  assert.deepEqual(
    notices.map((n) => [...n]),
    [[['s1', 0]], [['s2', 0]], [['s3', 1]], [['s4', 2]], [['s5', 3]]],
  );
});

test('a slot given back goes to the head of the queue, and those behind it move up', () => {
  const { state } = fill(2, ['s1', 's2', 's3', 's4', 's5']);
  const step = release(state, ['s1'], now);
  assert.deepEqual(
    step.state.holders.map((h) => h.sessionId),
    ['s2', 's3'],
  );
  assert.deepEqual(
    [...step.notices].map(([id, n]) => [id, n.position, n.running]),
    [
      ['s3', 0, 2],
      ['s4', 1, 2],
      ['s5', 2, 2],
    ],
  );
});

test('a queued session that leaves (stopped, deleted) frees no slot but moves those behind it up', () => {
  const { state } = fill(2, ['s1', 's2', 's3', 's4', 's5']);
  const step = release(state, ['s3'], now);
  assert.deepEqual(
    step.state.holders.map((h) => h.sessionId),
    ['s1', 's2'],
  );
  assert.deepEqual(
    [...step.notices].map(([id, n]) => [id, n.position]),
    [
      ['s4', 1],
      ['s5', 2],
    ],
  );
});

test('asking again repeats the place and changes nothing; releasing an unknown session is harmless', () => {
  const { state } = fill(2, ['s1', 's2', 's3']);
  const again = acquire(state, { sessionId: 's3', limit: 2 }, now);
  assert.deepEqual(again.state.queue, state.queue);
  assert.equal(again.notices.get('s3')?.position, 1);
  assert.deepEqual(release(state, ['nobody'], now).state, state);
});

test('a raised limit lets the queue in at once; a lowered one takes no slot away', () => {
  const { state } = fill(1, ['s1', 's2', 's3']);
  const raised = acquire(state, { sessionId: 's4', limit: 3 }, now);
  assert.deepEqual(
    raised.state.holders.map((h) => h.sessionId),
    ['s1', 's2', 's3'],
  );
  const lowered = acquire(raised.state, { sessionId: 's5', limit: 1 }, now);
  assert.equal(lowered.state.holders.length, 3);
  assert.equal(lowered.notices.get('s5')?.position, 2);
  // No limit at all (only a monthly budget): everyone holds a slot.
  const unlimited = acquire(lowered.state, { sessionId: 's6' }, now);
  assert.equal(unlimited.state.queue.length, 0);
});

test('a charge counts once per key, sums USD and tokens, and reports the monthly cap once reached', () => {
  let state = emptyNamespace(now);
  const first = charge(
    state,
    { key: 'u/1', sessionId: 's1', costUsd: 0.4, tokens: 100, monthlyCapUsd: 1 },
    now,
  );
  assert.equal(first.capReached, undefined);
  state = first.state;
  assert.equal(
    charge(state, { key: 'u/1', sessionId: 's1', costUsd: 0.4, tokens: 100 }, now).state.spentUsd,
    0.4,
  );
  const second = charge(
    state,
    { key: 'u/2', sessionId: 's1', costUsd: 0.6, tokens: 50, monthlyCapUsd: 1 },
    now,
  );
  assert.deepEqual(second.capReached, { month: '2026-12', spentUsd: 1, capUsd: 1 });
  assert.deepEqual(usageStatus(second.state), {
    month: '2026-12',
    spentUsd: 1,
    tokens: 150,
    runningSessions: 0,
    queuedSessions: 0,
  });
  // An unpriced attempt adds tokens only.
  assert.equal(charge(second.state, { key: 'u/3', sessionId: 's1', tokens: 10 }, now).state.spentUsd, 1);
});

test('a new month starts the ledger from nothing and keeps the slots', () => {
  const { state } = fill(1, ['s1', 's2']);
  const spent = charge(state, { key: 'u/1', sessionId: 's1', costUsd: 5, tokens: 1 }, now).state;
  const january = new Date('2027-01-01T00:00:01Z');
  const next = charge(spent, { key: 'u/2', sessionId: 's1', costUsd: 1, tokens: 1 }, january).state;
  assert.equal(monthOf(january), '2027-01');
  assert.equal(next.month, '2027-01');
  assert.equal(next.spentUsd, 1);
  assert.deepEqual(next.holders, state.holders);
  assert.deepEqual(next.queue, state.queue);
});
