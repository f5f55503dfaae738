/**
 * Which sessions the controller's periodic resync asks Temporal about: each once an interval, the
 * sessions a new leader sees at once spread over its first interval, and a deleted one forgotten.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCheckSchedule } from '../../src/runtime/kubernetes/run-check-schedule.js';

test('a session is asked about once an interval, not at every resync', () => {
  const schedule = runCheckSchedule(600, () => 0);
  assert.equal(schedule.due('a', 0), false, 'first seen: counts as asked about just now');
  const asked = [30, 300, 599, 600, 630, 1199, 1200].filter((now) => schedule.due('a', now));
  assert.deepEqual(asked, [600, 1200]);
});

test('10,000 sessions seen at once are asked about spread over the interval, each once', () => {
  let seed = 1;
  // A fixed sequence in [0, 1), so the spread is the same every run.
  const random = () => ((seed = (seed * 48_271) % 2_147_483_647) - 1) / 2_147_483_646;
  const schedule = runCheckSchedule(600_000, random);
  const keys = Array.from({ length: 10_000 }, (_, i) => `ns/s-${i}`);
  for (const key of keys) schedule.due(key, 0);
  const perResync: number[] = [];
  for (let now = 30_000; now <= 600_000; now += 30_000) {
    perResync.push(keys.filter((key) => schedule.due(key, now)).length);
  }
  assert.equal(
    perResync.reduce((a, b) => a + b, 0),
    10_000,
    'each once in the first interval',
  );
  assert.ok(
    Math.max(...perResync) < 1_000,
    `at most about a twentieth per 30 s resync: ${perResync.join(' ')}`,
  );
});

test('a session asked about by a requested resync waits a whole interval; a deleted one starts afresh', () => {
  const schedule = runCheckSchedule(600, () => 0.5);
  schedule.due('a', 0);
  schedule.checked('a', 200);
  assert.equal(schedule.due('a', 700), false);
  assert.equal(schedule.due('a', 800), true);
  schedule.keepOnly(new Set());
  assert.equal(schedule.due('a', 5_000), false, 'forgotten: first seen again');
  schedule.forget('a');
  assert.equal(schedule.due('a', 5_000), false);
});
