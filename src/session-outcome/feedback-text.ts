/**
 * What Shepherd says to the source of a session: a short note when it starts (with links to
 * follow it) and a report when it ends (the result, the pull requests, usage and cost, and for a
 * failure its reason and the last lines of the runner log). One text model rendered for each
 * destination's markup — Markdown for GitHub and Gitea, Slack's mrkdwn, plain text for Jira (whose
 * client turns it into a document). Pure.
 */
import type { Phase, ReconciledRepo, Usage } from '../resources/types.js';
import { type SessionLinks, usageLine } from '../forges/pull-request-text.js';
import { FEEDBACK_MARKER } from '../triggers/trigger-match.js';

/** The markup of the destination. */
export type FeedbackMarkup = 'markdown' | 'slack' | 'plain';

/** The session as the text names it. */
export interface FeedbackSession {
  namespace: string;
  name: string;
  agent: string;
  links: SessionLinks;
}

/** How the session ended. */
export interface FeedbackEnd {
  phase: Phase;
  reason?: string;
  message?: string;
  result?: string;
  usage?: Usage;
  repos?: ReconciledRepo[];
  /** The last lines of the runner log, already redacted. */
  logTail?: string;
}

/** Longest result or log tail quoted: comments have size limits (Slack ~40k, GitHub 65k). */
const MAX_QUOTE = 6_000;

function cut(text: string): string {
  return text.length > MAX_QUOTE ? `…${text.slice(text.length - MAX_QUOTE)}` : text;
}

function link(markup: FeedbackMarkup, text: string, url: string): string {
  if (markup === 'markdown') return `[${text}](${url})`;
  if (markup === 'slack') return `<${url}|${text}>`;
  return `${text}: ${url}`;
}

function code(markup: FeedbackMarkup, text: string): string {
  return markup === 'plain' ? text : `\`${text}\``;
}

function block(markup: FeedbackMarkup, text: string): string {
  return markup === 'plain' ? text : `\`\`\`\n${text.replace(/```/g, "'''")}\n\`\`\``;
}

function linkLines(markup: FeedbackMarkup, links: SessionLinks): string[] {
  return [
    ...(links.api ? [`- ${link(markup, 'Session in the Shepherd API', links.api)}`] : []),
    ...(links.temporal ? [`- ${link(markup, 'Workflow in the Temporal Web UI', links.temporal)}`] : []),
  ];
}

/**
 * Markdown comments end with the hidden marker that makes the webhooks ignore Shepherd's own
 * comments, so a trigger's command word in them never starts another session.
 */
function marked(markup: FeedbackMarkup, text: string): string {
  return markup === 'markdown' ? `${text}\n\n${FEEDBACK_MARKER}` : text;
}

/** The note when a session starts. */
export function startedText(markup: FeedbackMarkup, session: FeedbackSession): string {
  const lines = [
    `Shepherd started session ${code(markup, `${session.namespace}/${session.name}`)} (agent ${session.agent}) for this.`,
    ...linkLines(markup, session.links),
  ];
  return marked(markup, lines.join('\n'));
}

const PHASE_WORDS: Partial<Record<Phase, string>> = {
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timed out',
  Stopped: 'was stopped',
};

/** The report when a session ends. */
export function endedText(markup: FeedbackMarkup, session: FeedbackSession, end: FeedbackEnd): string {
  const what = PHASE_WORDS[end.phase] ?? `ended ${end.phase}`;
  const sections: string[] = [];
  const failed = end.phase !== 'Succeeded';
  const reason = failed && end.reason ? ` (${end.reason})` : '';
  sections.push(`Shepherd session ${code(markup, `${session.namespace}/${session.name}`)} ${what}${reason}.`);
  if (failed && end.message) sections.push(end.message);
  if (end.result?.trim()) sections.push(cut(end.result.trim()));
  const prs = (end.repos ?? []).filter((r) => r.pullRequestUrl);
  if (prs.length > 0) {
    sections.push(
      ['Pull requests:', ...prs.map((r) => `- ${link(markup, r.url, r.pullRequestUrl ?? '')}`)].join('\n'),
    );
  } else if ((end.repos ?? []).length > 0 && end.phase === 'Succeeded') {
    const pushed = (end.repos ?? []).filter((r) => r.status === 'Pushed');
    sections.push(
      pushed.length > 0
        ? `Pushed: ${pushed.map((r) => `${r.url} ${code(markup, r.branch ?? '')}`).join(', ')}`
        : 'No changes: no pull request was opened.',
    );
  }
  const usage = usageLine(end.usage);
  if (usage) sections.push(`Usage: ${usage}`);
  if (failed && end.logTail?.trim()) {
    sections.push(`Last lines of the runner log:\n${block(markup, cut(end.logTail.trimEnd()))}`);
  }
  const links = linkLines(markup, session.links);
  if (links.length > 0) sections.push(links.join('\n'));
  return marked(markup, sections.join('\n\n'));
}
