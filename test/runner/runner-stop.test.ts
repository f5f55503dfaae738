/**
 * Stopping a session (the user's stop, or its timeout) sends the runner SIGTERM. The agent is
 * ended with everything it started, its work in progress is committed as "wip" and pushed, the
 * result is written, and the runner exits 1, all within the grace period.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { GitSandbox, repo } from './support/git-sandbox.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const GRACE_MS = 5000;

/** Whether a process runs; a zombie waiting for its reaper has ended. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('a stopped runner loses nothing', () => {
  it('SIGTERM during a long command pushes a wip commit and exits 1 within the grace period', async () => {
    const url = sandbox.bareRepo('stopped');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const pidFile = join(sandbox.root, 'sleep.pid');
    // The agent writes, then works on in a child of its own, as real agents do.
    const script = `echo draft > DRAFT.md; sleep 120 & echo $! > ${pidFile}; echo working; wait`;
    const { child, finish } = sandbox.startRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', script]),
        SHEPHERD_GRACE_MS: String(GRACE_MS),
      }),
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let waited = 0; !output.includes('working'); waited += 50) {
      assert.ok(waited < 20_000, `the agent never started: ${output}`);
      await sleep(50);
    }

    const signalled = Date.now();
    child.kill('SIGTERM');
    const run = await finish();
    const stopMs = Date.now() - signalled;

    assert.equal(run.exitCode, 1, run.stderr);
    assert.ok(stopMs < GRACE_MS, `exited ${stopMs} ms after SIGTERM; the grace period is ${GRACE_MS} ms`);
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'DRAFT.md'), 'draft');
    assert.deepEqual(sandbox.remoteLog(url, 'shepherd/fix-readme'), [
      'wip: work in progress of session fix-readme (attempt 1), stopped by SIGTERM',
      'first',
    ]);
    const repos = run.result?.repos as { status: string; commit: string }[];
    assert.equal(repos[0]?.status, 'Pushed');
    assert.equal(repos[0]?.commit, sandbox.remoteHead(url, 'shepherd/fix-readme'));
    assert.match(String(run.result?.summary), /^stopped by SIGTERM; work in progress committed/);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(!running(sleeper), 'the agent’s own child was ended too');
  });

  it('an agent that ignores SIGTERM is killed, and its work is still pushed within the grace period', async () => {
    const url = sandbox.bareRepo('stubborn');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const script = `trap '' TERM; echo draft > DRAFT.md; echo working; while :; do sleep 1; done`;
    const { child, finish } = sandbox.startRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', script]),
        SHEPHERD_GRACE_MS: String(GRACE_MS),
      }),
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('working')) await sleep(50);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const run = await finish();

    assert.equal(run.exitCode, 1, run.stderr);
    assert.ok(Date.now() - signalled < GRACE_MS);
    assert.match(run.stdout, /command was killed by SIGKILL/);
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'DRAFT.md'), 'draft');
  });

  it('a runner killed before it could commit leaves the work for the next attempt, which commits and pushes it', async () => {
    const url = sandbox.bareRepo('recovered');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const env = (script: string, attempt: string) =>
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', script]),
        SHEPHERD_ATTEMPT: attempt,
      });
    const groupFile = join(sandbox.root, 'killed-agent.pid');
    const { child, finish } = sandbox.startRunner(
      env(`echo $$ > ${groupFile}; echo unsaved > UNSAVED.md; echo working; sleep 120`, '1'),
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('working')) await sleep(50);
    // SIGKILL: no chance to commit (an OOM kill, a node lost). Its agent is orphaned; end it too.
    child.kill('SIGKILL');
    await finish();
    process.kill(-Number(readFileSync(groupFile, 'utf8')), 'SIGKILL');
    const leftover = sandbox.git(join(workspace, 'repo'), 'status', '--porcelain');
    assert.match(leftover, /UNSAVED.md/);

    const run = await sandbox.runRunner(env('echo more > MORE.md', '2'));
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(sandbox.remoteLog(url, 'shepherd/fix-readme'), [
      'session fix-readme (attempt 2): changes the agent left uncommitted',
      'wip: work in progress recovered from an earlier attempt',
      'first',
    ]);
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'UNSAVED.md'), 'unsaved');
  });
});
