/**
 * Runs the real worker (`src/worker/main.ts`) as a child process for a test, on its own task queue
 * and with its controller limited to the test's sessions by a label, so test files running side
 * by side never take each other's sessions. The process can be SIGKILLed and started again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../../src/processes/tools.js';
import { processKubeconfigPath, randomSuffix } from './kube.js';

/** Label that routes a test's AgentSessions to its own worker. */
export const TEST_RUN_LABEL = 'shepherd.dev-test/run';

/** A worker child process and what it serves. */
export interface WorkerProcess {
  taskQueue: string;
  /** Labels to put on the test's AgentSessions. */
  labels: Record<string, string>;
  logFile: string;
  child: ChildProcess;
  /** SIGKILL the worker: no cleanup of any kind. */
  kill(): Promise<void>;
  /** Start the worker again (after `kill`), same task queue and selector. */
  restart(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** How long a worker may take to report `worker running`. */
const START_TIMEOUT_MS = 180_000;

function spawnWorker(
  taskQueue: string,
  run: string,
  logFile: string,
  extraEnv: NodeJS.ProcessEnv,
): Promise<ChildProcess> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'worker', 'main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: processKubeconfigPath('worker'),
      SHEPHERD_TASK_QUEUE: taskQueue,
      SHEPHERD_SESSION_SELECTOR: `${TEST_RUN_LABEL}=${run}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return new Promise((resolve, reject) => {
    let seen = '';
    // Generous: on a loaded two-core machine a worker's start is slow, and a slow start is not
    // what any test here is about. A worker that never gets ready is killed, not left behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start within ${START_TIMEOUT_MS / 1000} s; see ${logFile}`));
    }, START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('worker running')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it was ready; see ${logFile}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Environment of a worker on the local runtime with its data under `dataDir`. */
export function localRuntimeEnv(dataDir: string): NodeJS.ProcessEnv {
  return { SHEPHERD_RUNTIME: 'local', SHEPHERD_DATA_DIR: dataDir, SHEPHERD_GRACE_MS: '5000' };
}

/**
 * Starts a worker for one test file.
 * @param extraEnv More environment, e.g. `SHEPHERD_RUNTIME=local` and `SHEPHERD_DATA_DIR`.
 * @param peer Another worker whose task queue and sessions this one shares, as the replicas of
 *   one installation do.
 */
export async function startWorkerProcess(
  extraEnv: NodeJS.ProcessEnv = {},
  peer?: WorkerProcess,
): Promise<WorkerProcess> {
  const run = peer?.labels[TEST_RUN_LABEL] ?? randomSuffix();
  const taskQueue = peer?.taskQueue ?? `test-sessions-${run}`;
  const logFile = join(tmpdir(), `shepherd-worker-${run}${peer ? `-${randomSuffix()}` : ''}.log`);
  const worker: WorkerProcess = {
    taskQueue,
    labels: { [TEST_RUN_LABEL]: run },
    logFile,
    child: await spawnWorker(taskQueue, run, logFile, extraEnv),
    async kill() {
      worker.child.kill('SIGKILL');
      await exited(worker.child);
    },
    async restart() {
      worker.child = await spawnWorker(taskQueue, run, logFile, extraEnv);
    },
    async stop() {
      worker.child.kill('SIGTERM');
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
      await exited(worker.child);
      clearTimeout(timer);
    },
  };
  return worker;
}
