/**
 * The local runtime end to end: the real session workflow on the Temporal dev server, a real
 * worker process with SHEPHERD_RUNTIME=local, the real runner as a detached process, and real git
 * (bare repositories on disk) — the sessions a laptop user runs with `npm start`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { AgentSessionSpec, Phase } from '../../src/resources/types.js';
import {
  sessionState,
  startSessionWorkflow,
  stopSession,
} from '../../src/session-client/session-commands.js';
import type { SessionState } from '../../src/workflows/session-contract.js';
import { bareRepo as makeBareRepo, git } from '../support/git.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { localRuntimeEnv, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-local-'));
const dataDir = join(root, 'data');
let worker: WorkerProcess;
let connection: Connection;
let client: Client;

before(async () => {
  worker = await startWorkerProcess(localRuntimeEnv(dataDir));
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
});
after(async () => {
  await worker?.stop();
  await connection?.close();
  rmSync(root, { recursive: true, force: true });
});

const bareRepo = () => makeBareRepo(root);

/** The content of `file` on `branch` of a bare repository, or undefined. */
function fileOnBranch(repo: string, branch: string, file: string): string | undefined {
  try {
    return execFileSync('git', ['--git-dir', repo, 'show', `${branch}:${file}`], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch {
    return undefined;
  }
}

function remoteHead(repo: string, branch: string): string | undefined {
  return git(root, 'ls-remote', repo, `refs/heads/${branch}`).split(/\s+/)[0] || undefined;
}

async function run(name: string, spec: AgentSessionSpec): Promise<void> {
  await startSessionWorkflow(client, {
    taskQueue: worker.taskQueue,
    input: { namespace: 'default', name, spec },
  });
}

function waitFor(name: string, phases: Phase[], timeoutMs = 60_000): Promise<SessionState> {
  return eventually(
    `session ${name} to reach ${phases.join('/')}`,
    async () => (await sessionState(client, 'default', name))!,
    (state) => state !== undefined && phases.includes(state.phase),
    timeoutMs,
  );
}

const command = (script: string): Pick<AgentSessionSpec, 'agent' | 'command'> => ({
  agent: 'command',
  command: ['sh', '-c', script],
});

test('a successful session pushes its output branch with the agent change and records the commit', async () => {
  const repo = bareRepo();
  const name = `ok-${randomSuffix()}`;
  await run(name, {
    ...command('echo "hello from the agent" > NOTES.md'),
    initialPrompt: 'write notes',
    repos: [{ url: repo, branch: 'main' }],
  });
  const done = await waitFor(name, ['Succeeded', 'Failed', 'TimedOut']);
  assert.equal(done.phase, 'Succeeded', JSON.stringify(done.status.conditions));
  const branch = `shepherd/${name}`;
  assert.equal(fileOnBranch(repo, branch, 'NOTES.md'), 'hello from the agent\n');
  const recorded = done.status.reconciledRepos?.[0];
  assert.equal(recorded?.status, 'Pushed');
  assert.equal(recorded?.commit, remoteHead(repo, branch));
  assert.equal(done.status.exitCode, 0);
});

test('a repository that does not exist fails the session PrerequisiteFailed after one attempt', async () => {
  const name = `norepo-${randomSuffix()}`;
  await run(name, {
    ...command('true'),
    retries: 2,
    repos: [{ url: join(root, 'missing.git'), branch: 'main' }],
  });
  const done = await waitFor(name, ['Succeeded', 'Failed', 'TimedOut']);
  assert.equal(done.phase, 'Failed');
  assert.equal(done.status.conditions?.find((c) => c.type === 'Failed')?.reason, 'PrerequisiteFailed');
  assert.equal(done.status.attempt, 1);
  assert.equal(done.status.exitCode, 2);
});

test('a claude session without a prompt is refused before anything runs', async () => {
  const name = `noprompt-${randomSuffix()}`;
  await run(name, { agent: 'claude' });
  const done = await waitFor(name, ['Failed']);
  assert.match(done.status.conditions?.find((c) => c.type === 'Validated')?.message ?? '', /initialPrompt/);
  assert.equal(existsSync(join(dataDir, 'sessions', 'default', name)), false, 'nothing was created');
});

test('exit 1 with retries: 1 runs twice, and the second attempt starts from the first attempt pushed work', async () => {
  const repo = bareRepo();
  const name = `retry-${randomSuffix()}`;
  await run(name, {
    ...command('echo "attempt $SHEPHERD_ATTEMPT" >> LOG.md; exit 1'),
    retries: 1,
    repos: [{ url: repo, branch: 'main' }],
  });
  const done = await waitFor(name, ['Succeeded', 'Failed', 'TimedOut']);
  assert.equal(done.phase, 'Failed');
  assert.equal(done.status.conditions?.find((c) => c.type === 'Failed')?.reason, 'RunnerExit');
  assert.equal(done.status.attempt, 2);
  assert.equal(fileOnBranch(repo, `shepherd/${name}`, 'LOG.md'), 'attempt 1\nattempt 2\n');
});

test('a session past its timeout pushes its work in progress and ends TimedOut', async () => {
  const repo = bareRepo();
  const name = `slow-${randomSuffix()}`;
  await run(name, {
    ...command('echo "half done" > WIP.md; sleep 300'),
    timeout: '4s',
    repos: [{ url: repo, branch: 'main' }],
  });
  const done = await waitFor(name, ['Succeeded', 'Failed', 'TimedOut']);
  assert.equal(done.phase, 'TimedOut');
  assert.equal(fileOnBranch(repo, `shepherd/${name}`, 'WIP.md'), 'half done\n');
});

test('stopping a running session pushes its work in progress and ends Stopped', async () => {
  const repo = bareRepo();
  const name = `stop-${randomSuffix()}`;
  await run(name, {
    ...command('echo "started" > WIP.md; sleep 300'),
    repos: [{ url: repo, branch: 'main' }],
  });
  await waitFor(name, ['Running']);
  // The agent writes only once the runner is up, so the stop reaches a runner that can push.
  const workspace = join(dataDir, 'sessions', 'default', name, 'workspace');
  await eventually(
    'the agent to write',
    async () =>
      existsSync(workspace) &&
      readdirSync(workspace).some((dir) => existsSync(join(workspace, dir, 'WIP.md'))),
    Boolean,
  );
  await stopSession(client, 'default', name, 'test stop');
  const done = await waitFor(name, ['Stopped', 'Failed', 'Succeeded']);
  assert.equal(done.phase, 'Stopped');
  assert.equal(fileOnBranch(repo, `shepherd/${name}`, 'WIP.md'), 'started\n');
});

test('a worker killed mid-run re-attaches to the runner: one runner process in total, and the session finishes', async () => {
  const repo = bareRepo();
  const name = `survive-${randomSuffix()}`;
  await run(name, { ...command('sleep 4; echo done > DONE.md'), repos: [{ url: repo, branch: 'main' }] });
  await waitFor(name, ['Running']);
  await worker.kill();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await worker.restart();
  const done = await waitFor(name, ['Succeeded', 'Failed', 'TimedOut'], 90_000);
  assert.equal(done.phase, 'Succeeded');
  const attempts = readdirSync(join(dataDir, 'sessions', 'default', name)).filter((d) =>
    d.startsWith('attempt-'),
  );
  assert.deepEqual(attempts, ['attempt-1'], 'one runner was started');
  assert.equal(
    readFileSync(join(dataDir, 'sessions', 'default', name, 'attempt-1', 'exit'), 'utf8').trim(),
    '0',
  );
  assert.equal(fileOnBranch(repo, `shepherd/${name}`, 'DONE.md'), 'done\n');
});
