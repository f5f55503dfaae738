/**
 * Which events are follow-ups — a prompt for a session that exists, or the end of its pull
 * request — and which sessions each may reach. Pure: the webhook receiver plans with it from
 * memory before it answers, and the follow-up (follow-ups.ts) checks with it what it found.
 *
 * An event is a follow-up for a namespace when a trigger there whose secret verified the delivery
 * hears it, with the guards of a start (trigger-match.ts): never Shepherd's own text (the marker),
 * never the bot's own comment, the trigger's `repositories` and `channels` narrowing it:
 * - a comment on an issue or pull request, on its diff, or a review, that starts with the
 *   trigger's command word or mentions the bot (`@` + `match.mention`, else `match.assignee`);
 * - a reply in a Slack thread, or an app mention inside a thread;
 * - a pull request closed or merged.
 *
 * Which sessions it may reach ({@link ownsFollowUp}): sessions of that namespace only, whose own
 * trigger (`spec.trigger.name`) is one of the triggers that verified the delivery, of the event's
 * source and taking its repository or channel; and of those only the session of the thread — the
 * issue or pull request of `spec.trigger.ids` (repository and number) or its Slack thread (channel
 * and ts) — or the session whose output branch, in that repository on the trigger's forge, is the
 * head branch of the pull request (in the same repository: a fork's branch of the same name is not
 * the session's). So a comment on repository A never reaches a session of repository B, and no
 * trigger reaches the sessions of another namespace.
 */
import { forgeRepoOf } from '../../forges/forge-registry.js';
import type { AgentSessionSpec, AgentTrigger } from '../../resources/types.js';
import { defaultOutputBranch } from '../../session/resolve-session.js';
import type { TriggerEvent } from '../trigger-event.js';
import { commandRequest, FEEDBACK_MARKER } from '../trigger-match.js';
import { GITHUB_URL, threadKey, triggerIds } from '../trigger-session.js';

/** A follow-up to route after the answer: one per namespace a delivery reaches. */
export interface FollowUpPlan {
  namespace: string;
  event: TriggerEvent;
  /** The prompt's text: the comment without the command word. Absent for a closed pull request. */
  request?: string;
  /** The triggers of the namespace that verified the delivery, of its source: whose sessions it may reach. */
  triggers: AgentTrigger[];
  /** The trigger the event addressed, whose credentials read the forge and reply when no session is found. */
  via: AgentTrigger;
}

const same = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** The login people mention to address the trigger's sessions, without `@` or a GitHub App's `[bot]`. */
export function mentionLogin(trigger: AgentTrigger): string | undefined {
  const login = trigger.spec.match?.mention ?? trigger.spec.match?.assignee;
  const bare = login?.replace(/^@/, '').replace(/\[bot\]$/i, '');
  return bare || undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `text` mentions `@login` (as a whole login: `@bot` is not in `@bots` or `a@bot.dev`). */
export function mentions(text: string, login: string): boolean {
  return new RegExp(`(^|[^\\w@/.-])@${escapeRegExp(login)}(?![\\w-])`, 'i').test(text);
}

/** Whether the trigger takes events of the event's repository and channel (`match.repositories`, `channels`). */
export function takesPlace(trigger: AgentTrigger, event: TriggerEvent): boolean {
  const { source, match = {} } = trigger.spec;
  if (source !== event.source) return false;
  const repositories = match.repositories ?? [];
  if (repositories.length > 0 && !repositories.some((r) => same(r, event.repository))) return false;
  const channels = match.channels ?? [];
  return channels.length === 0 || channels.includes(event.slack?.channel ?? '');
}

/**
 * The prompt when `event` is a follow-up `trigger` hears, else undefined: the comment's text (after
 * the command word when it starts with it), a Slack reply's text.
 */
export function followUpRequest(trigger: AgentTrigger, event: TriggerEvent): string | undefined {
  if (!takesPlace(trigger, event)) return undefined;
  const text = event.text ?? '';
  if (text.includes(FEEDBACK_MARKER)) return undefined;
  const { match = {} } = trigger.spec;
  switch (event.kind) {
    case 'comment': {
      const bot = mentionLogin(trigger);
      if (same(event.actor, match.assignee) || same(event.actor, bot)) return undefined;
      const request = match.command === undefined ? undefined : commandRequest(text, match.command);
      if (request !== undefined) return request;
      return bot !== undefined && mentions(text, bot) ? text.trim() : undefined;
    }
    case 'threadReply':
      return text.trim();
    case 'appMention': {
      if (!event.slack?.inThread) return undefined;
      const request = match.command === undefined ? undefined : commandRequest(text, match.command);
      return request ?? text.trim();
    }
    default:
      return undefined;
  }
}

/**
 * The follow-ups of a delivery, one per namespace: for the first event a trigger of that namespace
 * hears, with every verified trigger of the namespace as the sessions' possible owners.
 */
export function planFollowUps(
  triggers: readonly AgentTrigger[],
  events: readonly TriggerEvent[],
): FollowUpPlan[] {
  const plans = new Map<string, FollowUpPlan>();
  for (const event of events) {
    for (const trigger of triggers) {
      const namespace = trigger.metadata.namespace ?? 'default';
      if (plans.has(namespace)) continue;
      const closed = event.kind === 'pullRequestClosed' && takesPlace(trigger, event);
      const request = closed ? undefined : followUpRequest(trigger, event);
      if (!closed && request === undefined) continue;
      plans.set(namespace, {
        namespace,
        event,
        ...(request !== undefined ? { request } : {}),
        triggers: triggers.filter(
          (t) => (t.metadata.namespace ?? 'default') === namespace && t.spec.source === event.source,
        ),
        via: trigger,
      });
    }
  }
  return [...plans.values()];
}

/** The label value of the event's thread (see {@link threadKey}). */
export function eventThread(event: TriggerEvent): string | undefined {
  return threadKey(event.source, triggerIds(event));
}

/** The web address of a forge trigger's forge. */
function forgeUrlOf(trigger: AgentTrigger): string | undefined {
  if (trigger.spec.source === 'github') return trigger.spec.forge?.url ?? GITHUB_URL;
  return trigger.spec.source === 'gitea' ? trigger.spec.forge?.url : undefined;
}

const SESSION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The session whose default output branch (`shepherd/<name>`) is the pull request's head, when the
 * head is in the pull request's own repository. A session with another output branch is found by
 * its thread instead, or checked by {@link ownsFollowUp} when found.
 */
export function headSessionName(event: TriggerEvent): string | undefined {
  const { headBranch, headRepository } = event.subject;
  if (!headBranch || !same(headRepository, event.repository)) return undefined;
  const prefix = defaultOutputBranch('');
  if (!headBranch.startsWith(prefix)) return undefined;
  const name = headBranch.slice(prefix.length);
  return name.length <= 63 && SESSION_NAME.test(name) ? name : undefined;
}

/** A session as a follow-up checks it. */
export interface CandidateSession {
  namespace: string;
  name: string;
  spec: AgentSessionSpec;
}

/**
 * Whether the session may take the follow-up: see the module comment. `via` says how it was
 * found: by the thread label, or as the session of the pull request's head branch.
 */
export function ownsFollowUp(session: CandidateSession, plan: FollowUpPlan, via: 'thread' | 'head'): boolean {
  const { event } = plan;
  if (session.namespace !== plan.namespace) return false;
  const origin = session.spec.trigger;
  const owner = plan.triggers.find((t) => t.metadata.name === origin?.name);
  if (!owner || origin?.source !== event.source || !takesPlace(owner, event)) return false;
  const ids = origin.ids ?? {};
  if (via === 'thread') {
    if (event.source === 'slack') {
      return ids.channel === event.slack?.channel && ids.threadTs === event.slack?.threadTs;
    }
    return (
      same(ids.repository, event.repository) &&
      event.subject.number !== undefined &&
      ids.issue === String(event.subject.number)
    );
  }
  const forgeUrl = forgeUrlOf(owner);
  const head = event.subject.headBranch;
  if (!forgeUrl || !head || !same(event.subject.headRepository, event.repository)) return false;
  return (session.spec.repos ?? []).some((repo) => {
    const onForge = forgeRepoOf(forgeUrl, repo.url);
    return (
      onForge !== undefined &&
      same(`${onForge.owner}/${onForge.name}`, event.repository) &&
      (repo.outputBranch ?? defaultOutputBranch(session.name)) === head
    );
  });
}
