/**
 * The local runtime's stopRunner returns only once the runner process has exited: a runner that
 * takes a while to push its work on SIGTERM is waited for, one that ignores SIGTERM is killed
 * after the grace period and still waited for, and the wait heartbeats inside an activity. The
 * runner here is a real detached process group, recorded in the attempt's pid file exactly as
 * launchRunner records it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLocalActivities } from '../../src/runtime/local/local-activities.js';
import { attemptFiles, processAlive } from '../../src/runtime/local/local-sessions.js';
import type { RunnerStopped } from '../../src/runtime/runner-stopped.js';
import { eventually, randomSuffix } from '../support/kube.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-local-stop-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Starts `script` as the runner of attempt 1 of a new session; returns the session and its pid. */
async function runner(script: string) {
  const name = `stop-${randomSuffix()}`;
  const files = attemptFiles(root, 'default', name, 1);
  mkdirSync(files.dir, { recursive: true });
  const marker = join(files.dir, 'ready');
  const child = spawn('sh', ['-c', `${script}`], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, READY: marker, PUSHED: join(files.dir, 'pushed') },
  });
  child.unref();
  writeFileSync(files.pid, String(child.pid));
  // The traps are set before the marker is written, so a stop never races them.
  await eventually('the runner to set its traps', async () => existsSync(marker), Boolean);
  return { name, pid: child.pid!, pushed: join(files.dir, 'pushed') };
}

test('stopRunner waits for a runner that takes a while to push its work on SIGTERM', async () => {
  const acts = createLocalActivities({ dataDir: root, runnerCommand: ['true'], stopGraceMs: 20_000 });
  const { name, pid, pushed } = await runner(
    'trap \'sleep 2; echo pushed > "$PUSHED"; exit 0\' TERM; touch "$READY"; while :; do sleep 0.1; done',
  );
  const env = new MockActivityEnvironment();
  let heartbeats = 0;
  env.on('heartbeat', () => (heartbeats += 1));
  const stopped = await env.run(() =>
    acts.stopRunner({ session: { namespace: 'default', name }, attempt: 1 }),
  );
  assert.equal(processAlive(pid), false, 'the runner has exited when the stop returns');
  assert.equal(existsSync(pushed), true, 'it had the time to push');
  assert.equal((stopped as RunnerStopped | undefined)?.podsGone, true);
  assert.ok(heartbeats > 0, 'the wait heartbeats');
});

test('a runner that ignores SIGTERM is killed after the grace period, and the stop still waits for it', async () => {
  const acts = createLocalActivities({ dataDir: root, runnerCommand: ['true'], stopGraceMs: 1000 });
  const { name, pid, pushed } = await runner(
    'trap "" TERM; touch "$READY"; while :; do sleep 0.1; done; echo pushed > "$PUSHED"',
  );
  const stopped = await acts.stopRunner({ session: { namespace: 'default', name }, attempt: 1 });
  assert.equal(processAlive(pid), false, 'killed and gone');
  assert.equal(existsSync(pushed), false);
  assert.equal((stopped as RunnerStopped | undefined)?.podsGone, true);
  // Stopping again, with the runner gone, returns at once.
  const again = (await acts.stopRunner({
    session: { namespace: 'default', name },
    attempt: 1,
  })) as RunnerStopped;
  assert.equal(again.podsGone, true);
});
