/**
 * Runs the agent as a child process: its output streamed line by line into the session log
 * (redacted), and stopped on request.
 *
 * The agent gets its own process group, so stopping it reaches everything it started (a shell's
 * children, a language server); otherwise a leftover grandchild could hold the output pipe open
 * and keep the runner from finishing. For the same reason whatever the agent leaves running when
 * it exits is ended too.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { AgentLaunch } from './agents/agent.js';
import { OutputTail } from './agents/output-tail.js';
import type { Redactor } from './redact.js';

/** How the agent ended. */
export interface AgentExit {
  /** Undefined when it was killed by a signal or could not start. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** Why it could not start, when it could not. */
  startError: string | undefined;
  /** The last lines it wrote to stderr (redacted): what a CLI that refuses to start says. */
  stderrTail: string | undefined;
}

/** Where the agent's output goes. */
export interface AgentOutput {
  out(line: string): void;
  err(line: string): void;
}

/** A started agent. */
export interface RunningAgent {
  /** Resolves when the agent has exited and its output has been read. */
  readonly exited: Promise<AgentExit>;
  /** SIGTERM to the agent's process group, SIGKILL after `waitMs` if it is still there. */
  stop(waitMs: number): Promise<void>;
  /** SIGKILL to the agent's process group at once. */
  kill(): void;
}

// After the agent exits, what it left running gets this long to go before SIGKILL.
const LEFTOVER_GRACE_MS = 2000;

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function pump(stream: Readable | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', onLine);
  return new Promise((resolve) => lines.once('close', resolve));
}

/** Starts the agent. */
export function startAgent(launch: AgentLaunch, output: AgentOutput, redactor: Redactor): RunningAgent {
  const [file, ...args] = launch.argv;
  const child = execa(file, args, {
    cwd: launch.cwd,
    env: launch.env,
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    detached: true,
  });
  const pid = child.pid;
  let running = pid !== undefined;
  child.once('exit', () => {
    running = false;
    signalGroup(pid, 'SIGTERM');
    setTimeout(() => signalGroup(pid, 'SIGKILL'), LEFTOVER_GRACE_MS).unref();
  });
  const stderr = new OutputTail();
  const streams = Promise.all([
    pump(child.stdout, (line) => {
      for (const rendered of launch.stdoutLine(redactor.redact(line))) output.out(rendered);
    }),
    pump(child.stderr, (line) => {
      const redacted = redactor.redact(line);
      stderr.push(redacted);
      output.err(redacted);
    }),
  ]);
  const exited = (async (): Promise<AgentExit> => {
    const result = await child;
    await streams;
    running = false;
    const startError =
      result.failed && result.exitCode === undefined && result.signal === undefined
        ? redactor.redact(result.shortMessage ?? 'unknown error')
        : undefined;
    return { exitCode: result.exitCode, signal: result.signal, startError, stderrTail: stderr.text() };
  })();
  return {
    exited,
    async stop(waitMs) {
      if (!running) return;
      signalGroup(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), waitMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') signalGroup(pid, 'SIGKILL');
    },
    kill() {
      signalGroup(pid, 'SIGKILL');
    },
  };
}
