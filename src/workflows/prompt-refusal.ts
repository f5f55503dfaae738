/**
 * Whether a session can take a prompt now, and in words why not: the rule of the `sendPrompt`
 * and `answer` Updates' validators, pure so it is unit-tested without Temporal. A refused prompt
 * never reaches the history. A prompt that arrives while a turn runs is refused rather than
 * queued: its sender learns at once that it was not taken (a forge comment is answered with the
 * refusal), and no prompt is ever applied to a workspace other than the one its sender saw.
 */
import type { Phase } from '../resources/types.js';
import { MAX_PROMPT_CHARS, type PromptInput } from './session-contract.js';

/** What the rule looks at. */
export interface PromptTarget {
  name: string;
  phase: Phase;
  /** The run takes prompts at all (runs recorded before conversations do not). */
  converses: boolean;
  finished: boolean;
  stopping: boolean;
  /** What the session waits for between turns, if it waits. */
  waiting?: 'idle' | 'question';
  /** The current turn. */
  turn: number;
  /** A prompt already taken for the next turn, not started yet. */
  nextTurn?: number;
}

/** Why `input` cannot be taken now (`kind` answer: as the answer to a question), or undefined. */
export function promptRefusal(
  target: PromptTarget,
  input: PromptInput | undefined,
  kind: 'prompt' | 'answer',
): string | undefined {
  const { name } = target;
  const text = input?.prompt;
  if (typeof text !== 'string' || text.trim() === '') {
    return `prompt is empty: give the text for session ${name}'s next turn`;
  }
  if (text.length > MAX_PROMPT_CHARS) {
    return `prompt has ${text.length} characters, more than the ${MAX_PROMPT_CHARS} a turn takes: shorten it`;
  }
  if (!target.converses) {
    return `session ${name} was started by an earlier version of Shepherd and takes no prompts: start a new session`;
  }
  if (target.finished) {
    return `session ${name} has finished (${target.phase}) and takes no more prompts: start a new session, or restart this one`;
  }
  if (target.stopping) return `session ${name} is stopping and takes no more prompts`;
  if (target.nextTurn !== undefined) {
    return `session ${name} already took the prompt of turn ${target.nextTurn}, which is starting: send this one when it is Idle again`;
  }
  if (kind === 'answer' && target.waiting !== 'question') {
    return `session ${name} has no question waiting for an answer (phase ${target.phase}): send a prompt instead`;
  }
  if (target.waiting === undefined) {
    return `session ${name} is running turn ${Math.max(target.turn, 1)} (phase ${target.phase}) and takes the next prompt when it is Idle`;
  }
  return undefined;
}
