/**
 * What Shepherd says to the source of a session: a short note when it starts (with links to
 * follow it), a report when it ends (the result, the pull requests, usage and cost, and for a
 * failure its reason and the last lines of the runner log), and in a conversation a report when a
 * turn finished (what changed, and how long the session waits for the next prompt and how to send
 * it) or the agent's question (and how to answer it). One text model rendered for each
 * destination's markup — Markdown for GitHub and Gitea, Slack's mrkdwn, plain text for Jira (whose
 * client turns it into a document). Pure.
 */
import { Reason } from '../resources/conditions.js';
import type { Phase, ReconciledRepo, TriggerSource, Usage } from '../resources/types.js';
import { formatDuration } from '../session/duration.js';
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

/** Reasons a conversation ends with success, whose message says why it ended when it did. */
const CONVERSATION_ENDS: ReadonlySet<string> = new Set([Reason.Inactive, Reason.PullRequestClosed]);

/** The report when a session ends. */
export function endedText(markup: FeedbackMarkup, session: FeedbackSession, end: FeedbackEnd): string {
  const what = PHASE_WORDS[end.phase] ?? `ended ${end.phase}`;
  const sections: string[] = [];
  const failed = end.phase !== 'Succeeded';
  const reason = failed && end.reason ? ` (${end.reason})` : '';
  sections.push(`Shepherd session ${code(markup, `${session.namespace}/${session.name}`)} ${what}${reason}.`);
  // A conversation that ended well says why it ended now (inactivity, its pull request closed).
  if ((failed || CONVERSATION_ENDS.has(end.reason ?? '')) && end.message) sections.push(end.message);
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

/** How people address the session from its source, for the line that says how to send a prompt. */
export interface FeedbackAddress {
  source: TriggerSource;
  /** The trigger's command word. */
  command?: string;
  /** The login to mention (without `@`). */
  mention?: string;
}

/** How to send the session its next prompt (or answer): from the source, else with the CLI. */
export function replyHint(
  markup: FeedbackMarkup,
  session: FeedbackSession,
  address: FeedbackAddress,
): string {
  const cli = code(markup, `shepherd send ${session.name} -n ${session.namespace} "…"`);
  if (address.source === 'slack') return `Reply in this thread, or run ${cli}.`;
  if (address.source === 'github' || address.source === 'gitea') {
    const ways = [
      address.command ? `starts with ${code(markup, address.command)}` : undefined,
      address.mention ? `mentions @${address.mention}` : undefined,
    ].filter(Boolean);
    if (ways.length > 0) {
      return `Reply with a comment here or on the pull request that ${ways.join(' or ')}, or run ${cli}.`;
    }
  }
  return `Run ${cli}, or send it through the Shepherd API.`;
}

/** A finished turn of a conversation. */
export interface FeedbackTurn {
  turn: number;
  result?: string;
  usage?: Usage;
  repos?: ReconciledRepo[];
  /** How long the session now waits for the next prompt. */
  inactivityTimeoutMs?: number;
}

/** What changed in the repositories: each pushed branch at its commit, and its pull request. */
function changeLines(markup: FeedbackMarkup, repos: ReconciledRepo[]): string | undefined {
  const lines = repos
    .filter((r) => r.status === 'Pushed' || r.pullRequestUrl)
    .map((r) => {
      const at = [
        r.branch ? code(markup, r.branch) : undefined,
        r.commit ? `at ${code(markup, r.commit.slice(0, 12))}` : undefined,
      ]
        .filter(Boolean)
        .join(' ');
      const pr = r.pullRequestUrl ? `: ${link(markup, 'pull request', r.pullRequestUrl)}` : '';
      return `- ${r.url}${at ? ` ${at}` : ''}${pr}`;
    });
  return lines.length > 0 ? ['Changes:', ...lines].join('\n') : undefined;
}

/** The report when a turn finished and the session waits for the next prompt. */
export function turnText(
  markup: FeedbackMarkup,
  session: FeedbackSession,
  turn: FeedbackTurn,
  address: FeedbackAddress,
): string {
  const sections = [
    `Shepherd session ${code(markup, `${session.namespace}/${session.name}`)} finished turn ${turn.turn}.`,
  ];
  if (turn.result?.trim()) sections.push(cut(turn.result.trim()));
  const changes = changeLines(markup, turn.repos ?? []);
  sections.push(changes ?? 'No changes in this turn.');
  const usage = usageLine(turn.usage);
  if (usage) sections.push(`Usage: ${usage}`);
  const wait =
    turn.inactivityTimeoutMs !== undefined && turn.inactivityTimeoutMs > 0
      ? `The session waits ${formatDuration(turn.inactivityTimeoutMs)} for the next prompt, then ends.`
      : 'The session waits for the next prompt.';
  sections.push(`${wait} ${replyHint(markup, session, address)}`);
  const links = linkLines(markup, session.links);
  if (links.length > 0) sections.push(links.join('\n'));
  return marked(markup, sections.join('\n\n'));
}

/** A question, quoted in the markup. */
function quote(markup: FeedbackMarkup, text: string): string {
  if (markup === 'plain') return text;
  return text
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** The agent's question, and how to answer it. */
export function questionText(
  markup: FeedbackMarkup,
  session: FeedbackSession,
  asked: { turn: number; question: string },
  address: FeedbackAddress,
): string {
  const sections = [
    `Shepherd session ${code(markup, `${session.namespace}/${session.name}`)} has a question (turn ${asked.turn}):`,
    quote(markup, cut(asked.question.trim())),
    `It waits for your answer: the answer is the next turn's prompt. ${replyHint(markup, session, address)}`,
  ];
  const links = linkLines(markup, session.links);
  if (links.length > 0) sections.push(links.join('\n'));
  return marked(markup, sections.join('\n\n'));
}
