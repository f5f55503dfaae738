/**
 * What the Shepherd image runs, started as its entrypoint starts it, short of Docker: dist/ as
 * `npm run build:dist` builds it, beside the production node_modules its Dockerfile installs, in
 * a directory outside the repository (so no package resolves from the repository's
 * node_modules, and none of the dev dependencies are there), and `node dist/shepherd.mjs worker`
 * and `node dist/shepherd.mjs api` run from it with the environment alone. A session created
 * over HTTP then runs on the local runtime against the test environment's Temporal and pushes
 * its commit, and SIGTERM stops both processes cleanly.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiSession } from '../../src/api/session-backend.js';
import { buildDist, type Dist } from '../../src/image/build-dist.js';
import { freePorts } from '../../src/processes/ports.js';
import { bareRepo } from '../support/git.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { productionModules } from '../support/production-modules.js';
import { localRuntimeEnv } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-image-dist-'));
/** The image's /app: dist/ and node_modules. */
const app = join(root, 'app');
const dataDir = join(root, 'data');
const TOKEN = 'image-dist-test-token';
const namespace = `team-${randomSuffix()}`;
/** How long a process may take to start on a loaded two-core machine; starting is not what is tested. */
const START_TIMEOUT_MS = 180_000;
/** How long a process may take to exit after SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * The environment of both processes, and nothing else of this one's: no NODE_OPTIONS (the test
 * runner's tsx), no SHEPHERD_WORKFLOW_BUNDLE (npm test's), as in a container.
 */
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TEMPORAL_ADDRESS: envVar('TEMPORAL_ADDRESS'),
  ...localRuntimeEnv(dataDir),
  SHEPHERD_TASK_QUEUE: `test-image-dist-${randomSuffix()}`,
  SHEPHERD_API_PORT: '0',
  SHEPHERD_API_TOKEN: TOKEN,
  LOG_LEVEL: 'info',
};

interface Started {
  child: ChildProcess;
  logFile: string;
  /** The JSON log line that said the process was ready. */
  ready: Record<string, unknown>;
}

let dist: Dist;
const timings: string[] = [];
const processes: Started[] = [];

/** Starts `node dist/shepherd.mjs <command>` from the app directory; resolves at the log line `readyMessage`. */
function start(command: 'worker' | 'api', readyMessage: string): Promise<Started> {
  const logFile = join(root, `${command}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [dist.entry, command], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start within ${START_TIMEOUT_MS / 1000} s; see ${logFile}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      for (const line of seen.split('\n')) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (entry.msg !== readyMessage) continue;
        clearTimeout(timer);
        const started = { child, logFile, ready: entry };
        processes.push(started);
        resolve(started);
        return;
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready; see ${logFile}`));
    });
  });
}

/** SIGTERMs a process; resolves to its exit code and how long it took to exit. */
async function stop(started: Started): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const { child } = started;
  const at = Date.now();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const result = await exited;
  clearTimeout(timer);
  return { ...result, ms: Date.now() - at };
}

before(async () => {
  mkdirSync(app);
  // The worker's probe port; only the worker reads it (the API's probes are on its own port).
  const [healthPort] = await freePorts(1);
  env.SHEPHERD_HEALTH_PORT = String(healthPort);
  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await work();
    timings.push(`${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };
  const [modules] = await Promise.all([
    productionModules(),
    timed('dist built', async () => (dist = await buildDist(join(app, 'dist')))),
  ]);
  timings.push(
    modules.installMs === undefined
      ? 'production node_modules from the cache'
      : `production node_modules installed in ${(modules.installMs / 1000).toFixed(1)} s`,
  );
  symlinkSync(modules.dir, join(app, 'node_modules'), 'dir');
});
after(async () => {
  for (const started of processes) {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
  }
  rmSync(root, { recursive: true, force: true });
});

test('the app directory resolves no package from the repository, and no dev dependency', () => {
  const resolved = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('tsx')"], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  assert.notEqual(resolved.status, 0, 'tsx, a dev dependency, must not resolve from the app directory');
  assert.match(resolved.stderr, /Cannot find package 'tsx'/);
});

test('the entry point refuses a missing or unknown command with its usage', () => {
  for (const args of [[], ['controller']]) {
    const run = spawnSync(process.execPath, [dist.entry, ...args], { cwd: app, env, encoding: 'utf8' });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /usage: shepherd\.mjs worker\|api/);
  }
});

test('the worker and the API from dist/ run a session to its pushed commit, and stop on SIGTERM', async (t) => {
  const startedAt = Date.now();
  const [worker, api] = await Promise.all([start('worker', 'worker running'), start('api', 'api listening')]);
  timings.push(`worker and API ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  const url = String(api.ready.url);
  assert.equal(
    existsSync(join(dataDir, 'runner')),
    false,
    'the worker runs the bundled runner, not one it bundles itself',
  );

  const workerProbes = `http://127.0.0.1:${env.SHEPHERD_HEALTH_PORT}`;
  for (const base of [url, workerProbes]) {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200, `${base}/healthz`);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, `${base}/readyz: ${await ready.text()}`);
  }

  const repo = bareRepo(root);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const sessions = `${url}/api/v1/namespaces/${namespace}/sessions`;
  const created = await fetch(sessions, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      metadata: { name: 'from-dist' },
      spec: {
        agent: 'command',
        command: ['sh', '-c', 'echo "built from dist" > DIST.md'],
        repos: [{ url: repo, branch: 'main' }],
      },
    }),
  });
  assert.equal(created.status, 201, await created.text());

  const done = await eventually(
    'the session to finish',
    async () => (await (await fetch(`${sessions}/from-dist`, { headers })).json()) as ApiSession,
    (s) => ['Succeeded', 'Failed'].includes(s.status?.phase ?? ''),
    120_000,
  );
  assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  const pushed = done.status?.reconciledRepos?.[0];
  assert.equal(pushed?.status, 'Pushed', JSON.stringify(pushed));
  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', repo, ...args], { encoding: 'utf8' }).trim();
  assert.equal(git('rev-parse', 'refs/heads/shepherd/from-dist'), pushed?.commit);
  assert.equal(git('show', 'shepherd/from-dist:DIST.md'), 'built from dist');

  for (const [name, running] of [
    ['API', api],
    ['worker', worker],
  ] as const) {
    const exit = await stop(running);
    timings.push(`${name} stopped in ${(exit.ms / 1000).toFixed(1)} s`);
    assert.deepEqual(
      { code: exit.code, signal: exit.signal },
      { code: 0, signal: null },
      `the ${name} exits 0 on SIGTERM; see ${running.logFile}`,
    );
    assert.ok(exit.ms < STOP_TIMEOUT_MS, `the ${name} took ${exit.ms} ms to stop`);
  }
  t.diagnostic(timings.join('; '));
});
