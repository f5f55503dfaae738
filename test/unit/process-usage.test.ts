/** The benchmark's reading of process memory and CPU from /proc: per process tree, and what is available. */
import assert from 'node:assert/strict';
import { execSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import {
  availableGiB,
  coresBetween,
  cpuMs,
  parseProcStat,
  rssMiB,
  treeUsage,
  usageByName,
} from '../../bench/process-usage.js';

test('a command name with spaces and parentheses does not shift the fields', () => {
  const stat =
    '4242 (tsx (worker) 1) S 4200 4201 4201 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 11 0 100 1000000 2560 18446744073709551615';
  assert.deepEqual(parseProcStat(stat), { ppid: 4200, rssPages: 2560, cpuTicks: 4 });
  assert.equal(parseProcStat('garbage'), undefined);
});

/** A live process's resident MiB, one process alone. */
function rssOf(pid: number): number {
  const mib = rssMiB(pid);
  assert.ok(mib !== undefined, `process ${pid} is alive`);
  return mib;
}

test("a process's memory includes its children's, even one in a session of its own", async () => {
  // Two children, one in a session of its own, as PostgreSQL's backends are.
  const shell = spawn('sh', ['-c', 'setsid sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
  let children: number[] = [];
  try {
    for (let i = 0; i < 100 && children.length < 2; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      children = execSync(`ps -o pid= --ppid ${shell.pid} || true`)
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    }
    assert.equal(children.length, 2, 'both children started');
    const expected = rssOf(shell.pid!) + children.reduce((sum, pid) => sum + rssOf(pid), 0);
    const measured = treeUsage([shell.pid!]).get(shell.pid!)?.rssMiB ?? 0;
    assert.ok(Math.abs(measured - expected) < 0.5, `measured ${measured} MiB, expected ${expected} MiB`);
    assert.ok(measured > rssOf(shell.pid!) + 0.1, 'the children count');
    assert.equal(treeUsage([2 ** 22 + 1]).size, 0, 'no such process: no entry');
  } finally {
    for (const pid of [...children, shell.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

test("a busy child's CPU time counts toward its root's, and the cores it used come out per process", async () => {
  // A child that spins, under a shell that only waits; detached, so the group can be killed.
  const shell = spawn('sh', ['-c', 'sh -c "while :; do :; done" & wait'], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    const treeMs = () => treeUsage([shell.pid!]).get(shell.pid!)?.cpuMs ?? 0;
    const before = new Map([['shell', treeMs()]]);
    const started = Date.now();
    // Until the child has used 300 ms (a loaded machine may take a while to give it that).
    while (treeMs() - before.get('shell')! < 300 && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const after = new Map([['shell', treeMs()]]);
    const used = after.get('shell')! - before.get('shell')!;
    assert.ok(used >= 300, `the spinning child used CPU (${used} ms)`);
    assert.ok((cpuMs(shell.pid!) ?? Infinity) < used, "the waiting shell's own time is less");
    const [[name, cores]] = coresBetween(before, after, (Date.now() - started) / 1000) as [[string, number]];
    assert.equal(name, 'shell');
    assert.ok(cores > 0 && cores <= 1.05, `one spinning process uses at most a core, got ${cores}`);
  } finally {
    process.kill(-shell.pid!, 'SIGKILL');
  }
});

test('usage by name sums the roots that share a name and leaves out exited ones', async () => {
  const sleepers = [0, 1].map(() => spawn('sleep', ['30'], { stdio: 'ignore' }));
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [a, b] = sleepers.map((c) => c.pid!) as [number, number];
    const byName = usageByName([
      { name: 'pair', pid: a },
      { name: 'pair', pid: b },
      { name: 'gone', pid: 2 ** 22 + 1 },
    ]);
    assert.deepEqual([...byName.keys()], ['pair']);
    const expected = rssOf(a) + rssOf(b);
    assert.ok(
      Math.abs(byName.get('pair')!.rssMiB - expected) < 0.5,
      `${byName.get('pair')!.rssMiB} vs ${expected}`,
    );
  } finally {
    for (const c of sleepers) c.kill('SIGKILL');
  }
});

test('cores between readings: each process present in both, busiest first', () => {
  const before = new Map([
    ['etcd', 1_000],
    ['kwok', 500],
    ['gone', 10],
    ['postgres', 9_000],
  ]);
  const after = new Map([
    ['etcd', 31_000],
    ['kwok', 6_500],
    ['new', 99_000],
    // A backend that exited took its CPU time with it: the sum went down.
    ['postgres', 3_000],
  ]);
  assert.deepEqual(coresBetween(before, after, 60), [
    ['etcd', 0.5],
    ['kwok', 0.1],
    ['postgres', 0],
  ]);
  assert.deepEqual(coresBetween(before, after, 0), []);
});

test('the available memory comes from MemAvailable, in GiB', () => {
  assert.equal(availableGiB('MemTotal:       25165824 kB\nMemAvailable:    2097152 kB\n'), 2);
  assert.equal(availableGiB('MemTotal: 1 kB\n'), undefined);
  const live = availableGiB();
  assert.ok(live !== undefined && live > 0);
});
