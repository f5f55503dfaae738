/**
 * How an agent asks the user a question instead of finishing its turn. Any agent may write the
 * question into the file SHEPHERD_QUESTION_FILE names; Claude Code and OpenCode, which cannot be
 * relied on to remember a file, are told instead to end their final message with a paragraph
 * beginning `QUESTION:`, which the runner finds in that message. Either way the runner pushes the
 * work so far and returns the question in its result; the session then waits for the answer,
 * which comes back as the next turn's prompt.
 *
 * The file is emptied before the agent starts, so a question of an earlier turn is never taken
 * for this one's. It lies in the workspace outside every clone, so it is never committed.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/** What starts the paragraph of a final message that asks the user something. */
export const QUESTION_MARKER = 'QUESTION:';

// A question is a few lines; reading more of a file an agent wrote would only be cut later.
const MAX_READ_BYTES = 65_536;

/** What the runner tells Claude Code and OpenCode about asking, beside the task. */
export const QUESTION_INSTRUCTIONS = `You are running unattended for Shepherd: nobody can answer you while you work. If you cannot go on without a decision or information only the user has, stop, and end your final message with a paragraph that begins with "${QUESTION_MARKER}" followed by your question. Your work so far is pushed, and the user's answer comes back to you as the next prompt of this conversation. Ask only when you must; otherwise finish the task.`;

// `QUESTION:` at the start of a line, also bold (`**QUESTION:**`) as models like to write it.
const MARKER_LINE = /^\s*(?:\*\*)?QUESTION:(?:\*\*)?\s*/;

/** A final message split into what the agent reported and the question it ended with. */
export interface SplitMessage {
  /** The message before the question; undefined when nothing came before it. */
  summary: string | undefined;
  /** The question; undefined when the message does not end with one. */
  question: string | undefined;
}

/**
 * Splits a final message at its last line beginning with the marker: that line, without the
 * marker, and every line after it are the question.
 */
export function splitQuestion(message: string): SplitMessage {
  const lines = message.split('\n');
  const at = lines.findLastIndex((line) => MARKER_LINE.test(line));
  if (at === -1) return { summary: message.trim() || undefined, question: undefined };
  const question = [(lines[at] ?? '').replace(MARKER_LINE, ''), ...lines.slice(at + 1)].join('\n').trim();
  if (question === '') return { summary: message.trim() || undefined, question: undefined };
  return { summary: lines.slice(0, at).join('\n').trim() || undefined, question };
}

/**
 * Makes the question file's directory and removes a question left from an earlier turn (or an
 * earlier attempt of this one), whatever the agent had put there.
 */
export function clearQuestionFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { recursive: true, force: true });
}

/**
 * The question the agent wrote into the file, trimmed; undefined when it wrote none (no file, an
 * empty one, or something that is not a regular file).
 */
export function readQuestionFile(path: string): string | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(MAX_READ_BYTES);
  const fd = openSync(path, 'r');
  try {
    const length = readSync(fd, buffer, 0, MAX_READ_BYTES, 0);
    return buffer.subarray(0, length).toString('utf8').trim() || undefined;
  } finally {
    closeSync(fd);
  }
}
