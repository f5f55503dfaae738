/**
 * The CLI's side of a conversation: when a turn is over (the session finished, or waits for its
 * next prompt or an answer), whether it went well, following one turn (its runner's log streamed
 * while it runs) and `shepherd run --interactive`'s prompt loop, which sends each line read as the
 * next prompt once the session waits for one.
 */
import type { Interface as ReadLine } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import type { ApiSession } from '../api/session-backend.js';
import { FINISHED_PHASES } from '../resources/phases.js';
import type { Phase } from '../resources/types.js';
import { ApiCallError, type ApiClient } from './api-client.js';
import { questionLines } from './output.js';

/** Phases in which a conversation waits for its next prompt (Idle) or an answer. */
const WAITING: ReadonlySet<Phase> = new Set(['Idle', 'WaitingForInput']);

/** How often a followed turn polls the session. */
const POLL_MS = 500;

/** How long a turn's log may go on arriving once the turn is seen over. */
const LOG_GRACE_MS = 2000;

/**
 * Whether the session is done for now: finished, or waiting after turn `turn` (any turn when
 * none is given). Waiting after an earlier turn is not done: the prompt just sent has not started.
 */
export function turnSettled(session: ApiSession, turn?: number): boolean {
  const phase = session.status.phase ?? 'Pending';
  if (FINISHED_PHASES.has(phase)) return true;
  if (!WAITING.has(phase)) return false;
  return turn === undefined || (session.status.turns?.at(-1)?.number ?? 1) >= turn;
}

/**
 * Whether a settled session went well: it Succeeded, its last turn succeeded and it waits for
 * the next prompt, or the agent asked a question (an answer is expected, not a failure).
 */
export function turnWentWell(session: ApiSession): boolean {
  const { phase, turns } = session.status;
  if (phase === 'Succeeded' || phase === 'WaitingForInput') return true;
  return phase === 'Idle' && (turns?.at(-1)?.result ?? 'Succeeded') === 'Succeeded';
}

/** Whether turn `turn` has a runner whose log can be read. */
function runnerUp(session: ApiSession, turn: number): boolean {
  const last = session.status.turns?.at(-1);
  return session.status.phase === 'Running' && (last === undefined || last.number >= turn);
}

/** Where a followed turn writes. */
export interface TurnOutput {
  /** The runner's log. */
  log: Writable;
  /** Notes for the person: where the turn stands, why there is no log. */
  notes: Writable;
}

/**
 * Follows turn `turn` of the session until it is settled, streaming its runner's log to
 * `out.log` while it runs; returns the settled session. A log that cannot be read (a node that
 * serves no logs) is said once in `out.notes`; the turn is still followed to its end.
 */
export async function followTurn(
  api: ApiClient,
  namespace: string,
  name: string,
  turn: number,
  out: TurnOutput,
): Promise<ApiSession> {
  let streaming: { abort: AbortController; done: Promise<void> } | undefined;
  let logTried = false;
  try {
    for (;;) {
      const session = await api.get(namespace, name);
      if (turnSettled(session, turn)) {
        if (streaming) {
          // The end of the log may still be on its way.
          await Promise.race([streaming.done, sleep(LOG_GRACE_MS)]);
        }
        return session;
      }
      if (!logTried && runnerUp(session, turn)) {
        logTried = true;
        const abort = new AbortController();
        const done = api.logs(namespace, name, true, out.log, abort.signal).catch((error: unknown) => {
          const reason = error instanceof ApiCallError ? `${error.message} (${error.code})` : String(error);
          out.notes.write(`(no log for turn ${turn}: ${reason})\n`);
        });
        streaming = { abort, done };
      }
      await sleep(POLL_MS);
    }
  } finally {
    streaming?.abort.abort();
  }
}

/** What the interactive loop reads and writes. */
export interface InteractiveIo extends TurnOutput {
  /** The person's lines. */
  input: ReadLine;
}

/**
 * `shepherd run --interactive` once the session exists: follows each turn, then reads the next
 * prompt from `io.input` (the question first, when the agent asked one) and sends it. Ends when
 * the session finishes, or on end of input, leaving an open session waiting. Returns the last
 * session seen.
 */
export async function promptLoop(
  api: ApiClient,
  namespace: string,
  name: string,
  io: InteractiveIo,
): Promise<ApiSession> {
  const lines = io.input[Symbol.asyncIterator]();
  let turn = 1;
  turns: for (;;) {
    const session = await followTurn(api, namespace, name, turn, io);
    const phase = session.status.phase ?? 'Pending';
    if (FINISHED_PHASES.has(phase)) return session;
    const question = session.status.question;
    if (phase === 'WaitingForInput' && question) io.notes.write(`${questionLines(question).join('\n')}\n`);
    for (;;) {
      io.notes.write(phase === 'WaitingForInput' ? 'answer> ' : 'prompt> ');
      const next = await lines.next();
      if (next.done) {
        io.notes.write(
          `\nsession ${name} stays ${phase}: continue with shepherd send ${name} "…", end it with shepherd stop ${name}\n`,
        );
        return session;
      }
      const text = String(next.value).trim();
      if (!text) continue;
      try {
        // While a question waits, a prompt is taken as its answer.
        const accepted = await api.prompt(namespace, name, 'prompt', text);
        turn = accepted.turn;
        io.notes.write(`turn ${turn}\n`);
        break;
      } catch (error) {
        if (!(error instanceof ApiCallError) || error.code !== 'PromptRefused') throw error;
        io.notes.write(`refused: ${error.message}\n`);
        // The session moved on (it finished, or took another prompt): see where it is now.
        continue turns;
      }
    }
  }
}
