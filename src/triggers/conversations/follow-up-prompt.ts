/**
 * The prompt a follow-up sends a session, and the reply Shepherd writes on the source when the
 * session refuses it. The prompt says who wrote what, where (the issue, pull request or Slack
 * thread, with its link); for a comment on the diff the file, the line, the diff hunk above it and
 * the whole thread, oldest first; for a review its verdict and each of its comments on the diff
 * with its position. Long parts are cut so the whole fits a turn's prompt. Pure.
 */
import type { ReviewComment } from '../../forges/forge.js';
import { MAX_PROMPT_CHARS } from '../../workflows/session-contract.js';
import type { DiffPosition, TriggerEvent } from '../trigger-event.js';
import { FEEDBACK_MARKER } from '../trigger-match.js';

/** What the forge told about a follow-up beyond its payload. */
export interface FollowUpContext {
  /** The thread on the diff the comment is in, oldest first. */
  thread?: ReviewComment[];
  /** A review's comments on the diff. */
  reviewComments?: ReviewComment[];
}

/** Longest diff hunk quoted: its end, where the commented line is. */
const MAX_HUNK = 3_000;
/** Longest comment of a thread or review quoted. */
const MAX_COMMENT = 4_000;

function tail(text: string, max: number): string {
  return text.length > max ? `…\n${text.slice(text.length - max)}` : text;
}

function head(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}\n… (cut at ${max} characters)` : text;
}

/** `text` in a Markdown code fence longer than any run of backticks inside it. */
export function fenced(text: string, info = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text.replace(/\n+$/, '')}\n${fence}`;
}

/** `On <path>, line <n>:` and the hunk, for a comment on the diff. */
export function positionText(position: {
  path?: string;
  line?: number;
  startLine?: number;
  diffHunk?: string;
}): string {
  const lines =
    position.startLine !== undefined && position.line !== undefined
      ? `, lines ${position.startLine}–${position.line}`
      : position.line !== undefined
        ? `, line ${position.line}`
        : '';
  const where = `On ${position.path ?? 'the diff'}${lines}`;
  return position.diffHunk ? `${where}:\n${fenced(tail(position.diffHunk, MAX_HUNK), 'diff')}` : `${where}.`;
}

function commentLine(comment: ReviewComment): string {
  const body = head(comment.body.trim(), MAX_COMMENT).replace(/\n/g, '\n  ');
  return `- ${comment.author ?? 'someone'}: ${body}`;
}

/** Where the event happened, in words. */
function place(event: TriggerEvent): string {
  if (event.source === 'slack') return 'the Slack thread of this session';
  const kind = event.subject.isPullRequest ? 'pull request' : 'issue';
  const number = event.subject.number !== undefined ? ` #${event.subject.number}` : '';
  return `${kind}${number}${event.repository ? ` in ${event.repository}` : ''}`;
}

const VERDICTS: Record<string, string> = {
  approved: 'approving',
  changes_requested: 'requesting changes',
  commented: 'commenting',
};

/** The prompt of a follow-up: see the module comment. */
export function followUpPrompt(event: TriggerEvent, request: string, context: FollowUpContext = {}): string {
  const review = event.review;
  const what =
    review?.kind === 'comment'
      ? 'A comment on the diff'
      : review?.kind === 'review'
        ? `A review${review.state && VERDICTS[review.state] ? ` (${VERDICTS[review.state]})` : ''}`
        : event.source === 'slack'
          ? 'A reply'
          : 'A comment';
  const who = event.actor ? ` from ${event.actor}` : '';
  const link = event.links?.[0] ?? event.subject.url;
  const parts = [`${what}${who} on ${place(event)}${link ? ` (${link})` : ''}:`];
  parts.push(request.trim() ? head(request.trim(), MAX_COMMENT * 4) : '(no text)');

  if (review?.kind === 'comment') {
    const own = context.thread?.find((c) => c.id === event.commentId);
    const position: DiffPosition | undefined =
      review.position ?? (own?.path ? { path: own.path, ...pick(own) } : undefined);
    if (position) parts.push(positionText(position));
    const others = (context.thread ?? []).filter((c) => c.id !== event.commentId);
    if (others.length > 0) {
      parts.push(
        ['The whole thread on this line, oldest first:', ...(context.thread ?? []).map(commentLine)].join(
          '\n',
        ),
      );
    }
  }
  if (review?.kind === 'review' && (context.reviewComments ?? []).length > 0) {
    parts.push(
      [
        "The review's comments on the diff:",
        ...(context.reviewComments ?? []).map((c) => [positionText(c), commentLine(c)].join('\n')),
      ].join('\n\n'),
    );
  }
  const prompt = parts.join('\n\n');
  return prompt.length > MAX_PROMPT_CHARS
    ? `${prompt.slice(0, MAX_PROMPT_CHARS - 40)}\n… (cut to fit a prompt)`
    : prompt;
}

function pick(comment: ReviewComment): Omit<DiffPosition, 'path'> {
  return {
    ...(comment.line !== undefined ? { line: comment.line } : {}),
    ...(comment.diffHunk ? { diffHunk: comment.diffHunk } : {}),
  };
}

/** The markup of a reply: Markdown on a forge, mrkdwn in Slack. */
export type ReplyMarkup = 'markdown' | 'slack';

/**
 * What Shepherd replies when a session cannot take a follow-up: the session and why (the
 * refusal's own message says what to do). A forge comment carries the marker, so it starts nothing.
 */
export function refusalReply(
  markup: ReplyMarkup,
  session: { namespace: string; name: string },
  message: string,
): string {
  const text = `Shepherd could not pass this on to session \`${session.namespace}/${session.name}\`: ${message}`;
  return markup === 'markdown' ? `${text}\n\n${FEEDBACK_MARKER}` : text;
}
