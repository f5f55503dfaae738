/**
 * Long-running child processes of the dev environment. Each runs in its own process group
 * (detached) with output appended to a log file, so the group can be stopped as a whole — also by
 * a later `env:down` that only knows the pid — and so it can outlive `env:up`.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A started daemon. */
export interface Daemon {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process exits, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

/** Options for {@link startDaemon}. */
export interface DaemonOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `command` detached in a new process group, stdout and stderr appended to `logFile`. */
export function startDaemon(options: DaemonOptions): Daemon {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
    let done = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        resolve({ code, signal });
      });
      child.once('error', () => {
        done = true;
        resolve({ code: null, signal: null });
      });
    });
    child.unref();
    return { name: options.name, pid: child.pid, logFile: options.logFile, exited, hasExited: () => done };
  } finally {
    closeSync(fd);
  }
}

/** True while any process of the group led by `pid` is alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends SIGTERM to the group, then SIGKILL after `graceMs`; resolves when the group is gone. */
export async function stopGroup(pid: number, graceMs = 5_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      await sleep(50);
      if (!groupAlive(pid)) break;
    }
    await sleep(50);
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function tailLog(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `probe` until it returns true. Fails early, with the end of its log, if `daemon` exits,
 * and after `timeoutMs` otherwise.
 */
export async function waitUntilReady(
  daemon: Daemon,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (daemon.hasExited()) {
      throw new Error(
        `${daemon.name} exited before it was ready; last log lines:\n${tailLog(daemon.logFile)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${daemon.name} was not ready after ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}; last log lines:\n${tailLog(daemon.logFile)}`,
      );
    }
    await sleep(100);
  }
}
