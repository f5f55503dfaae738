/**
 * Tells an agent that refused to start from one that failed at its work. A CLI that exits before
 * it has begun its session (it rejects its configuration, its arguments, the user it runs as) will
 * refuse again on every retry, so the runner reports it as a prerequisite failure (exit 2) with
 * the CLI's own words; a failure once the session has begun (a model API error, a crash halfway)
 * may pass on a retry and stays an ordinary failure (exit 1). Pure, so it is unit-tested.
 */
import type { AgentExit } from './agent-process.js';

// Colours and cursor moves some CLIs print even into a pipe; they are noise in a status.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

// Warnings a CLI prints on every start, which say nothing about why it stopped.
const NOISE = [/^Warning: no stdin data received/];

/** The part of an agent's stderr worth showing: without colour codes and routine warnings. */
export function cleanMessage(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const lines = text
    .replace(ANSI, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !NOISE.some((noise) => noise.test(line)));
  return lines.length === 0 ? undefined : lines.join('\n');
}

/** What the runner knows about an agent that has exited. */
export interface FinishedAgent {
  exit: AgentExit;
  /** Whether the agent reported that its session began (undefined: it cannot say). */
  startedSession: boolean | undefined;
  /** An error the agent reported in its own output, e.g. an error event. */
  reportedError: string | undefined;
}

/**
 * Why the agent refused to start, as a line for the result's summary; undefined when it did start
 * (or exited 0, or cannot tell).
 *
 * @param agent The agent's name, for the message.
 * @param hint What the user can do, when the runner knows of a usual cause.
 */
export function agentRefusal(
  agent: string,
  finished: FinishedAgent,
  hint?: (message: string) => string | undefined,
): string | undefined {
  const { exit, startedSession, reportedError } = finished;
  if (exit.startError !== undefined) return `${agent} could not be started: ${exit.startError}`;
  if (exit.signal !== undefined || exit.exitCode === 0 || startedSession !== false) return undefined;
  const message =
    cleanMessage(reportedError) ?? cleanMessage(exit.stderrTail) ?? 'it printed nothing to say why';
  const fix = hint?.(message);
  return `${agent} refused to start (exit code ${exit.exitCode ?? 'unknown'} before its session began): ${message}${fix ? `\n${fix}` : ''}`;
}
