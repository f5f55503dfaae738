/**
 * The title and body of a session's pull request, from what the session and its runner said: the
 * spec's title or the first line of the summary, the summary itself, links to the session (the
 * API and the Temporal Web UI, when the worker knows their addresses), the usage and cost, the
 * link to what triggered it, and a hidden marker naming the session, so a person or a later tool
 * can tell which session a pull request came from. Pure; the session links and usage line are
 * exported for the feedback comments to say the same thing the same way.
 */
import type { Usage } from '../resources/types.js';
import { sessionWorkflowId } from '../workflows/session-contract.js';

/** Longest title made from a summary: what a commit subject or a pull request list shows whole. */
export const MAX_TITLE = 72;

/**
 * Longest summary quoted in the body: GitHub refuses a body over 65,536 characters, and a summary
 * is the agent's own words, without a bound of its own.
 */
export const MAX_SUMMARY = 60_000;

/** Where a session can be looked at. */
export interface SessionLinks {
  /** The session in Shepherd's API. */
  api?: string;
  /** The session's workflow in the Temporal Web UI. */
  temporal?: string;
}

/** What the worker knows about where it is reachable. */
export interface LinkBases {
  /** The Shepherd API's base URL, e.g. https://shepherd.example.com. */
  apiUrl?: string;
  /** The Temporal Web UI's base URL, e.g. https://temporal.example.com. */
  temporalUiUrl?: string;
  /** @default default */
  temporalNamespace?: string;
}

/** The links to session `namespace/name`, for the bases that are configured. */
export function sessionLinks(bases: LinkBases, namespace: string, name: string): SessionLinks {
  const trim = (url: string) => url.replace(/\/+$/, '');
  const links: SessionLinks = {};
  if (bases.apiUrl) {
    links.api = `${trim(bases.apiUrl)}/api/v1/namespaces/${encodeURIComponent(namespace)}/sessions/${encodeURIComponent(name)}`;
  }
  if (bases.temporalUiUrl) {
    const temporalNamespace = encodeURIComponent(bases.temporalNamespace ?? 'default');
    const workflow = encodeURIComponent(sessionWorkflowId(namespace, name));
    links.temporal = `${trim(bases.temporalUiUrl)}/namespaces/${temporalNamespace}/workflows/${workflow}`;
  }
  return links;
}

const count = new Intl.NumberFormat('en-US');

/** The usage in one line, e.g. `12,345 input and 2,345 output tokens (1,000 cache read) · $0.42`, or undefined when nothing was reported. */
export function usageLine(usage: Usage | undefined): string | undefined {
  if (!usage) return undefined;
  const parts: string[] = [];
  const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, costUsd } = usage;
  const tokens = [
    inputTokens !== undefined ? `${count.format(inputTokens)} input` : undefined,
    outputTokens !== undefined ? `${count.format(outputTokens)} output` : undefined,
  ].filter(Boolean);
  const cache = [
    cacheReadTokens ? `${count.format(cacheReadTokens)} cache read` : undefined,
    cacheWriteTokens ? `${count.format(cacheWriteTokens)} cache write` : undefined,
  ].filter(Boolean);
  if (tokens.length > 0)
    parts.push(`${tokens.join(' and ')} tokens${cache.length > 0 ? ` (${cache.join(', ')})` : ''}`);
  else if (cache.length > 0) parts.push(`${cache.join(', ')} tokens`);
  if (costUsd !== undefined) parts.push(costUsd > 0 && costUsd < 0.01 ? '< $0.01' : `$${costUsd.toFixed(2)}`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** The hidden marker at the end of the body: `<!-- shepherd:session ns/name -->`. */
export function sessionMarker(namespace: string, name: string): string {
  return `<!-- shepherd:session ${namespace}/${name} -->`;
}

const MARKER = /<!--\s*shepherd:[^>]*-->/g;

/** What the pull request's text is made of. */
export interface PullRequestTextInput {
  namespace: string;
  /** The session's name. */
  name: string;
  /** `spec.pullRequest.title`. */
  title?: string;
  /** The runner's summary of what the agent did (Markdown). */
  summary?: string;
  links?: SessionLinks;
  usage?: Usage;
  /** `spec.trigger.url`: the issue, ticket or message that started the session. */
  triggerUrl?: string;
}

/** `text` cut to `max` characters at a word boundary when there is one nearby, with an ellipsis. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max - 1);
  const space = head.lastIndexOf(' ');
  return `${(space > max / 2 ? head.slice(0, space) : head).trimEnd()}…`;
}

/** The first line of the summary that says something, without Markdown heading or list marks. */
function firstLine(summary: string | undefined): string | undefined {
  for (const raw of (summary ?? '').split('\n')) {
    const line = raw
      .replace(MARKER, '')
      .replace(/^\s*(#{1,6}\s+|[-*+]\s+|>\s*)/, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (line) return line;
  }
  return undefined;
}

/** The title: the spec's, else the summary's first line (cut to {@link MAX_TITLE}), else `Shepherd: <session>`. */
export function pullRequestTitle(input: PullRequestTextInput): string {
  const given = input.title?.replace(/\s+/g, ' ').trim();
  if (given) return given;
  const line = firstLine(input.summary);
  return line ? cut(line, MAX_TITLE) : `Shepherd: ${input.name}`;
}

/** The body, in Markdown. */
export function pullRequestBody(input: PullRequestTextInput): string {
  const summary = input.summary?.replace(MARKER, '').trim();
  const sections: string[] = [
    summary
      ? summary.length > MAX_SUMMARY
        ? `${summary.slice(0, MAX_SUMMARY)}\n\n… (the summary is cut at ${count.format(MAX_SUMMARY)} characters)`
        : summary
      : '_The agent reported no summary._',
  ];
  const facts: string[] = [];
  const session = `\`${input.namespace}/${input.name}\``;
  const { api, temporal } = input.links ?? {};
  const where = [
    api ? `[${session}](${api})` : session,
    temporal ? `[Temporal](${temporal})` : undefined,
  ].filter(Boolean);
  facts.push(`**Session:** ${where.join(' · ')}`);
  if (input.triggerUrl) facts.push(`**Triggered by:** ${input.triggerUrl}`);
  const usage = usageLine(input.usage);
  if (usage) facts.push(`**Usage:** ${usage}`);
  sections.push(`---\n${facts.join('  \n')}`);
  sections.push(sessionMarker(input.namespace, input.name));
  return `${sections.join('\n\n')}\n`;
}

/** Title and body together. */
export function pullRequestText(input: PullRequestTextInput): { title: string; body: string } {
  return { title: pullRequestTitle(input), body: pullRequestBody(input) };
}
