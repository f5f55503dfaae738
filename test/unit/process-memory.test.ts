/** The benchmark's reading of process memory from /proc: per process group, and what is available. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { availableGiB, groupRssMiB, parseProcStat } from '../../bench/process-memory.js';

test('a command name with spaces and parentheses does not shift the fields', () => {
  const stat =
    '4242 (tsx (worker) 1) S 4200 4201 4201 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 11 0 100 1000000 2560 18446744073709551615';
  assert.deepEqual(parseProcStat(stat), { pgrp: 4201, rssPages: 2560 });
  assert.equal(parseProcStat('garbage'), undefined);
});

test("a group's resident memory sums its processes, and a group with none has no entry", async () => {
  // A shell leading its own group, with a child in it: the sum covers both.
  const leader = spawn('sh', ['-c', 'sleep 30 & sleep 30; wait'], { detached: true, stdio: 'ignore' });
  try {
    await once(leader, 'spawn');
    let sum: number | undefined;
    for (let i = 0; i < 50 && sum === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      sum = groupRssMiB([leader.pid!]).get(leader.pid!);
    }
    assert.ok(sum !== undefined && sum > 0, `the group's RSS: ${sum}`);
    assert.equal(groupRssMiB([2 ** 22 + 1]).size, 0);
  } finally {
    process.kill(-leader.pid!, 'SIGKILL');
  }
});

test('the available memory comes from MemAvailable, in GiB', () => {
  assert.equal(availableGiB('MemTotal:       25165824 kB\nMemAvailable:    2097152 kB\n'), 2);
  assert.equal(availableGiB('MemTotal: 1 kB\n'), undefined);
  const live = availableGiB();
  assert.ok(live !== undefined && live > 0);
});
