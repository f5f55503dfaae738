/** The queue behind the watcher's and the controller's Temporal calls: bounded, and in order per session. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedTaskQueue } from '../../src/reconcile/keyed-task-queue.js';

test('a burst of 1,000 tasks runs at most `concurrency` at a time, and push never waits', async () => {
  const queue = new KeyedTaskQueue(50);
  let running = 0;
  let peak = 0;
  let done = 0;
  const pushedAt = Date.now();
  for (let i = 0; i < 1000; i++) {
    queue.push(`session-${i}`, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(2);
      running -= 1;
      done += 1;
    });
  }
  assert.ok(Date.now() - pushedAt < 100, 'pushing returns at once');
  await queue.onIdle();
  assert.equal(done, 1000);
  assert.equal(peak, 50);
});

test("one session's tasks run one at a time, in order, while other sessions' run alongside", async () => {
  const queue = new KeyedTaskQueue(4);
  const log: string[] = [];
  const task = (name: string, ms: number) => async () => {
    log.push(`start ${name}`);
    await sleep(ms);
    log.push(`end ${name}`);
  };
  queue.push('a', task('a1', 30));
  queue.push('a', task('a2', 1));
  queue.push('b', task('b1', 1));
  await queue.onIdle();
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'), 'a2 waits for a1');
  assert.ok(log.indexOf('end b1') < log.indexOf('end a1'), 'b1 does not wait for a1');
});

test('a task that throws is counted and does not block the tasks behind it', async () => {
  const queue = new KeyedTaskQueue(1);
  let ran = false;
  queue.push('a', () => Promise.reject(new Error('bug')));
  queue.push('a', async () => {
    ran = true;
    await Promise.resolve();
  });
  await queue.onIdle();
  assert.ok(ran);
  assert.deepEqual(queue.stats(), { active: 0, queued: 0, rejected: 1 });
});
