/**
 * The AgentSession a trigger starts for an event: its deterministic name (so a redelivery, another
 * API replica or a second poller meets the same session instead of making one), its labels, and
 * its spec — the trigger's template with `trigger` filled in, the issue's repository when the
 * template names none, the forge for the pull request, and the prompt built from the issue or
 * message. Pure: the webhook routes and the Jira poller both call it.
 */
import { createHash } from 'node:crypto';
import { RESERVED_PREFIX } from '../resources/constants.js';
import type { AgentSessionSpec, AgentTrigger, RepoSpec } from '../resources/types.js';
import { positionText } from './conversations/follow-up-prompt.js';
import type { TriggerEvent } from './trigger-event.js';

/** Label on a session started by a trigger, naming the trigger. */
export const TRIGGER_LABEL = `${RESERVED_PREFIX}trigger`;

/** Label on a session started by a trigger, naming its source. */
export const TRIGGER_SOURCE_LABEL = `${RESERVED_PREFIX}source`;

/**
 * Label on a session started by a trigger: the thread it came from ({@link threadKey}), so a
 * follow-up in that thread (a comment on the issue, a reply in the Slack thread) finds it with a
 * label selector.
 */
export const THREAD_LABEL = `${RESERVED_PREFIX}thread`;

/**
 * The thread of a source where replies to a session are written, as a label value: a hash of the
 * source and, from `spec.trigger.ids`, the forge repository (without case) and issue or pull
 * request number, or the Slack channel and thread. A hash, as `owner/name` is no label value; the
 * label only narrows a search, and a follow-up checks the ids themselves. Undefined for a source
 * or an event without a thread (a Jira ticket, a slash command outside a thread).
 */
export function threadKey(source: string, ids: Record<string, string>): string | undefined {
  let where: string | undefined;
  if ((source === 'github' || source === 'gitea') && ids.repository && ids.issue) {
    where = `${ids.repository.toLowerCase()}#${ids.issue}`;
  } else if (source === 'slack' && ids.channel && ids.threadTs) {
    where = `${ids.channel}/${ids.threadTs}`;
  }
  return where === undefined
    ? undefined
    : createHash('sha256').update(`${source}\n${where}`).digest('hex').slice(0, 40);
}

/** The default web address of a github trigger's forge. */
export const GITHUB_URL = 'https://github.com';

/** A session to create: the API's NewSession shape. */
export interface TriggeredSession {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: AgentSessionSpec;
}

/** Longest session name we make: a DNS label, so every derived object name fits. */
const MAX_NAME = 63;

/**
 * The session's name: the trigger's name and a hash of the source and delivery id. The same event
 * always gives the same name, so creating it twice is AlreadyExists, not a second session.
 */
export function triggeredSessionName(trigger: AgentTrigger, event: TriggerEvent): string {
  const hash = createHash('sha256').update(`${event.source}\n${event.deliveryId}`).digest('hex').slice(0, 10);
  const prefix = trigger.metadata.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, MAX_NAME - hash.length - 1)
    .replace(/^-+|-+$/g, '');
  return prefix ? `${prefix}-${hash}` : `t-${hash}`;
}

/** Longest issue body or message the prompt quotes: a webhook payload may carry far more. */
const MAX_QUOTED = 32_000;

function quoted(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MAX_QUOTED
    ? `${trimmed.slice(0, MAX_QUOTED)}\n… (cut at ${MAX_QUOTED} characters)`
    : trimmed;
}

/** The prompt for the agent: the template's instructions, then what the event asks for. */
export function triggeredPrompt(template: string | undefined, event: TriggerEvent): string {
  const parts: string[] = [];
  if (template?.trim()) parts.push(template.trim());
  const { subject } = event;
  const what =
    event.source === 'jira'
      ? `Jira ticket ${event.jira?.key ?? ''}`.trim()
      : event.source === 'slack'
        ? 'Slack request'
        : `${subject.isPullRequest ? 'Pull request' : 'Issue'}${subject.number !== undefined ? ` #${subject.number}` : ''}${event.repository ? ` in ${event.repository}` : ''}`;
  if (subject.title) parts.push(`${what}: ${subject.title}`);
  else parts.push(what);
  if (subject.body?.trim()) parts.push(quoted(subject.body));
  if (event.text?.trim()) {
    const who = event.actor ? ` from ${event.actor}` : '';
    parts.push(`Request${who}:\n${quoted(event.text)}`);
  }
  if (event.review?.position) parts.push(positionText(event.review.position));
  const links = [subject.url, ...(event.links ?? [])].filter((l): l is string => Boolean(l));
  if (links.length > 0) parts.push(`Links:\n${[...new Set(links)].map((l) => `- ${l}`).join('\n')}`);
  return parts.join('\n\n');
}

/** What goes into `spec.trigger.ids`: how feedback finds its way back. */
export function triggerIds(event: TriggerEvent): Record<string, string> {
  const ids: Record<string, string> = { deliveryId: event.deliveryId };
  if (event.repository) ids.repository = event.repository;
  if (event.subject.number !== undefined) ids.issue = String(event.subject.number);
  if (event.slack) {
    ids.channel = event.slack.channel;
    if (event.slack.threadTs) ids.threadTs = event.slack.threadTs;
    if (event.slack.teamId) ids.team = event.slack.teamId;
  }
  if (event.jira) {
    ids.site = event.jira.site;
    ids.key = event.jira.key;
  }
  return ids;
}

/** The forge of a github or gitea trigger, as `spec.pullRequest.forge` names it. */
function triggerForge(trigger: AgentTrigger): { type: 'github' | 'gitea'; url: string } | undefined {
  const { source, forge } = trigger.spec;
  if (source !== 'github' && source !== 'gitea') return undefined;
  const url = forge?.url ?? (source === 'github' ? GITHUB_URL : undefined);
  return url ? { type: source, url: url.replace(/\/+$/, '') } : undefined;
}

/** The repositories: the template's, or for a forge event the issue's own, with the bot's token. */
function triggeredRepos(trigger: AgentTrigger, event: TriggerEvent): RepoSpec[] | undefined {
  const repos = trigger.spec.sessionTemplate.repos;
  if (repos && repos.length > 0) return repos;
  if (!event.cloneUrl) return repos;
  const credentials = trigger.spec.forge?.credentialsSecretRef;
  return [
    {
      url: event.cloneUrl,
      ...(event.defaultBranch ? { branch: event.defaultBranch } : {}),
      ...(credentials ? { credentialsSecretRef: { name: credentials.name, key: 'token' } } : {}),
    },
  ];
}

/** The session `trigger` starts for `event`. */
export function triggeredSession(trigger: AgentTrigger, event: TriggerEvent): TriggeredSession {
  const template = structuredClone(trigger.spec.sessionTemplate);
  const namespace = trigger.metadata.namespace ?? 'default';
  const repos = triggeredRepos(trigger, event);
  const forge = triggerForge(trigger);
  const url = event.subject.url ?? event.links?.[0];
  const spec: AgentSessionSpec = {
    ...template,
    initialPrompt: triggeredPrompt(template.initialPrompt, event),
    ...(repos ? { repos } : {}),
    trigger: {
      name: trigger.metadata.name,
      source: event.source,
      ...(url ? { url } : {}),
      ids: triggerIds(event),
    },
    ...(forge || template.pullRequest
      ? { pullRequest: { ...(forge ? { forge } : {}), ...template.pullRequest } }
      : {}),
  };
  const thread = threadKey(event.source, spec.trigger?.ids ?? {});
  return {
    namespace,
    name: triggeredSessionName(trigger, event),
    labels: {
      [TRIGGER_LABEL]: trigger.metadata.name,
      [TRIGGER_SOURCE_LABEL]: event.source,
      ...(thread ? { [THREAD_LABEL]: thread } : {}),
    },
    spec,
  };
}
