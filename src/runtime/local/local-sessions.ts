/**
 * Where the local runtime keeps a session on disk, and how it reads a runner's state from there.
 * Shared by the local activities (which launch and stop runners) and the local runner watcher
 * (which reports them), so both read an attempt alike:
 *
 *   <dataDir>/sessions/<namespace>/<name>/workspace/          the workspace (clones)
 *   <dataDir>/sessions/<namespace>/<name>/attempt-<n>/pid      the runner wrapper's pid
 *   <dataDir>/sessions/<namespace>/<name>/attempt-<n>/runner.log
 *   <dataDir>/sessions/<namespace>/<name>/attempt-<n>/exit     exit code, once it ended
 *   <dataDir>/sessions/<namespace>/<name>/attempt-<n>/result.json
 *
 * Nothing secret is written here: secrets live only in the runner process's environment.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MAX_RESULT_BYTES } from '../../runner-contract/result.js';
import type { RunnerEvent } from '../../workflows/session-contract.js';

/**
 * The data directory of the local runtime, the same for the worker, the API and the embedded
 * stack: $SHEPHERD_DATA_DIR, else ~/.local/share/shepherd.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHEPHERD_DATA_DIR || join(homedir(), '.local', 'share', 'shepherd');
}

/** Paths of one session. */
export function sessionDir(dataDir: string, namespace: string, name: string): string {
  return join(dataDir, 'sessions', namespace, name);
}

/** The session's workspace directory. */
export function workspaceDir(dataDir: string, namespace: string, name: string): string {
  return join(sessionDir(dataDir, namespace, name), 'workspace');
}

/** Files of one attempt. */
export function attemptFiles(dataDir: string, namespace: string, name: string, attempt: number) {
  const dir = join(sessionDir(dataDir, namespace, name), `attempt-${attempt}`);
  return {
    dir,
    pid: join(dir, 'pid'),
    log: join(dir, 'runner.log'),
    exit: join(dir, 'exit'),
    result: join(dir, 'result.json'),
    clone: join(dir, 'clone.sh'),
    /** Written once the watcher's `ended` signal went through, so a restarted worker skips it. */
    signalled: join(dir, 'signalled'),
  };
}

/** True while a process with `pid` exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in a pid file, or undefined. */
export function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The runner's state for one attempt: started, ended, or nothing yet. */
export function localRunnerEvents(
  dataDir: string,
  namespace: string,
  name: string,
  attempt: number,
): RunnerEvent[] {
  const files = attemptFiles(dataDir, namespace, name, attempt);
  const pid = readPid(files.pid);
  if (pid === undefined) return [];
  const podName = `pid-${pid}`;
  const events: RunnerEvent[] = [{ kind: 'started', attempt, podName }];
  if (existsSync(files.exit)) {
    const exitCode = Number(readFileSync(files.exit, 'utf8').trim());
    let message: string | undefined;
    try {
      message = readFileSync(files.result, 'utf8').slice(0, MAX_RESULT_BYTES);
    } catch {
      message = undefined;
    }
    events.push({
      kind: 'ended',
      attempt,
      podName,
      termination: {
        ...(Number.isInteger(exitCode) ? { exitCode } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        ...(message ? { message } : {}),
      },
    });
  } else if (!processAlive(pid)) {
    events.push({
      kind: 'ended',
      attempt,
      podName,
      termination: { reason: 'RunnerLost', message: `runner process ${pid} is gone without an exit code` },
    });
  }
  return events;
}

/** Every attempt directory under `dataDir`, as namespace, name and attempt. */
export function listAttempts(dataDir: string): { namespace: string; name: string; attempt: number }[] {
  const root = join(dataDir, 'sessions');
  const found: { namespace: string; name: string; attempt: number }[] = [];
  const entries = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    } catch {
      return [];
    }
  };
  for (const ns of entries(root)) {
    for (const session of entries(join(root, ns.name))) {
      for (const attemptDir of entries(join(root, ns.name, session.name))) {
        const match = /^attempt-(\d+)$/.exec(attemptDir.name);
        if (match) found.push({ namespace: ns.name, name: session.name, attempt: Number(match[1]) });
      }
    }
  }
  return found;
}
