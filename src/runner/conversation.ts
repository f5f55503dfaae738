/**
 * The runner's side of a conversation of several turns: each turn is a new runner on the same
 * workspace, and from turn 2 on the agent takes up its own conversation where the last turn left
 * it, so it keeps its context. The runner saves the id of the agent's conversation (from Claude
 * Code's init event, OpenCode's first step) into the workspace, which outlives every Job (a PVC,
 * or the local session's directory), and resumes that id on the next turn; the transcript itself
 * is the agent's, in HOME (on the workspace in a pod, the worker's HOME locally).
 *
 * The workspace's `.shepherd` directory holds this state: it is outside every clone (the resolver
 * strips leading dots from clone directories), so nothing of it is committed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentKind } from './config.js';

/** The runner's own directory in the workspace. */
export const STATE_DIR = '.shepherd';

/** Where an agent writes its question (SHEPHERD_QUESTION_FILE). */
export function questionFilePath(workspace: string): string {
  return join(workspace, STATE_DIR, 'question');
}

/** Where the id of an agent's conversation is kept between turns. */
export function conversationFilePath(workspace: string, agent: AgentKind): string {
  return join(workspace, STATE_DIR, `${agent}-conversation.json`);
}

/** How the agent takes up its conversation. */
export type Resume =
  /** A new conversation: turn 1, or one whose earlier conversation could not be resumed. */
  | { kind: 'new' }
  /** The conversation the last turn saved. */
  | { kind: 'id'; id: string }
  /** The agent's most recent conversation in its directory (a new one when it has none). */
  | { kind: 'latest' };

/** How this turn's agent takes up its conversation, and what the user should know about it. */
export interface ResumePlan {
  resume: Resume;
  /** Why the saved conversation could not be used; a warning of the result. */
  warning?: string;
}

// What Claude Code (a UUID) and OpenCode (`ses_…`) use; it is also an argument of the agent's
// command line, so nothing the agent could have written there may pass for an option.
const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** The id saved in `file`, or why there is none. */
function readSaved(file: string): { id: string } | { problem: string; missing: boolean } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { missing, problem: missing ? `${file} does not exist` : `${file} is unreadable` };
  }
  let id: unknown;
  try {
    id = (JSON.parse(text) as { id?: unknown } | null)?.id;
  } catch {
    id = undefined;
  }
  if (typeof id === 'string' && CONVERSATION_ID.test(id)) return { id };
  return { missing: false, problem: `${file} holds no valid conversation id` };
}

/**
 * How the agent of `turn` takes up its conversation: a new one on turn 1; from turn 2 on the one
 * the last turn saved, or, when none was saved (a turn 1 run by an older runner, a file the agent
 * removed or garbled), the agent's most recent conversation in its directory, with a warning.
 */
export function planResume(workspace: string, agent: AgentKind, turn: number): ResumePlan {
  if (turn <= 1) return { resume: { kind: 'new' } };
  const saved = readSaved(conversationFilePath(workspace, agent));
  if ('id' in saved) return { resume: { kind: 'id', id: saved.id } };
  return {
    resume: { kind: 'latest' },
    warning: `turn ${turn}: no saved ${agent} conversation to resume (${saved.problem}): ${agent} continued its most recent conversation in its directory, or began a new one if it had none`,
  };
}

/**
 * Saves the id of the agent's conversation for the next turn.
 *
 * @returns Why it could not be saved, if it could not: the turn itself is not affected, only the
 *   next one, which then continues the agent's most recent conversation.
 */
export function saveConversation(workspace: string, agent: AgentKind, id: string): string | undefined {
  if (!CONVERSATION_ID.test(id)) return `${agent} reported a conversation id the runner does not keep`;
  const file = conversationFilePath(workspace, agent);
  try {
    mkdirSync(join(workspace, STATE_DIR), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ id })}\n`);
    return undefined;
  } catch (error) {
    return `could not save ${agent}'s conversation id to ${file}: ${(error as Error).message}`;
  }
}

/** What a resumed agent that could not take up its conversation and began a new one is told. */
export function lostContextNote(turn: number): string {
  return `This is turn ${turn} of a conversation whose earlier messages could not be restored: the repositories hold the work of the earlier turns (see their git log).`;
}
