/**
 * Which triggers an event starts a session for. Pure: the webhook routes call it on events from
 * memory. The rules, per AgentTrigger `spec.match`:
 *
 * - `source` must be the event's; `repositories` (forges) and `channels` (Slack) narrow every
 *   event when set; a Jira event counts only for the trigger whose `spec.jira.url` is its site.
 * - Each kind of event needs the field that names it: an issue labelled needs `label` (equal,
 *   ignoring case), an issue assigned needs `assignee`, a comment needs `command` — the comment
 *   starts with the command word and the rest is the request (`/shepherd fix the flaky test`). A
 *   trigger without that field is not started by that kind of event.
 * - Slack: a slash command matches when `command` is unset or is the command used; an app mention
 *   addresses the app by itself (a leading command word is still taken off the request).
 * - Jira: `status` (moved to it) and `label` (given it); with both set, the ticket must have both
 *   and this delivery made one of them true. `jql` is the poller's alone: a webhook never matches
 *   on it.
 * - A Slack thread reply and a closed pull request never start a session: they only continue or
 *   end one (src/triggers/conversations/).
 *
 * Loops — the bot reacting to its own feedback — are stopped at three places: every comment
 * Shepherd posts carries `FEEDBACK_MARKER`, and an event whose text has it matches nothing; a
 * comment by the trigger's `assignee` (the bot's login, the only one the trigger knows) matches
 * nothing, nor does a Jira change by the `claim.assignee` account; and the parsers drop what the
 * source marks as a bot's (GitHub `sender.type: Bot`, Slack `bot_id`). Shepherd's own comments
 * also never start with a command word.
 */
import type { AgentTrigger } from '../resources/types.js';
import type { TriggerEvent } from './trigger-event.js';

/**
 * Hidden marker in every comment, reply or message Shepherd posts back to a source (an HTML
 * comment, invisible in rendered Markdown). An event whose text contains it starts nothing.
 */
export const FEEDBACK_MARKER = '<!-- shepherd:feedback -->';

/** Whether a trigger takes an event, and the event as the session should see it. */
export type MatchResult = { matches: true; event: TriggerEvent } | { matches: false; reason: string };

/** A trigger and the event it starts a session for. */
export interface MatchedTrigger {
  trigger: AgentTrigger;
  event: TriggerEvent;
}

const same = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * The request after a command word: `"/shepherd fix it"` with `/shepherd` is `"fix it"`; undefined
 * when the text does not start with the word (a longer word such as `/shepherding` does not count).
 */
export function commandRequest(text: string, command: string): string | undefined {
  const trimmed = text.trimStart();
  const word = trimmed.slice(0, command.length);
  if (!same(word, command)) return undefined;
  const rest = trimmed.slice(command.length);
  if (rest !== '' && !/^\s/.test(rest)) return undefined;
  return rest.trim();
}

function siteOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).host : undefined;
  } catch {
    return undefined;
  }
}

function jiraMatch(trigger: AgentTrigger, event: TriggerEvent): MatchResult {
  const { match = {}, jira } = trigger.spec;
  if (!event.jira || siteOf(jira?.url) !== event.jira.site) {
    return {
      matches: false,
      reason: `the ticket is on ${event.jira?.site ?? '?'}, not the trigger's Jira site`,
    };
  }
  if (match.status === undefined && match.label === undefined) {
    return {
      matches: false,
      reason: 'the trigger has no status or label (jql is polled, never matched on a webhook)',
    };
  }
  if (same(event.actor, jira?.claim?.assignee)) {
    return { matches: false, reason: 'the change was made by the account that claims tickets' };
  }
  const statusChanged = event.label === undefined;
  const statusHolds = match.status === undefined || same(event.jira.status, match.status);
  const labelHolds =
    match.label === undefined ||
    same(event.label, match.label) ||
    (event.subject.labels ?? []).some((label) => same(label, match.label));
  const madeTrue =
    (match.status !== undefined && statusChanged && same(event.jira.status, match.status)) ||
    (match.label !== undefined && same(event.label, match.label));
  if (!statusHolds || !labelHolds || !madeTrue) {
    const wanted = [match.status && `status ${match.status}`, match.label && `label ${match.label}`]
      .filter(Boolean)
      .join(' and ');
    return { matches: false, reason: `the change does not bring the ticket to ${wanted}` };
  }
  return { matches: true, event };
}

/** Whether `trigger` starts a session for `event`. */
export function matchTrigger(trigger: AgentTrigger, event: TriggerEvent): MatchResult {
  const { source, match = {} } = trigger.spec;
  if (source !== event.source) return { matches: false, reason: `the trigger's source is ${source}` };
  const repositories = match.repositories ?? [];
  if (repositories.length > 0 && !repositories.some((r) => same(r, event.repository))) {
    return { matches: false, reason: `${event.repository ?? 'the repository'} is not one of the trigger's` };
  }
  const channels = match.channels ?? [];
  if (channels.length > 0 && !channels.includes(event.slack?.channel ?? '')) {
    return { matches: false, reason: `channel ${event.slack?.channel ?? '?'} is not one of the trigger's` };
  }
  if (event.text?.includes(FEEDBACK_MARKER)) {
    return { matches: false, reason: "the text is Shepherd's own feedback" };
  }
  switch (event.kind) {
    case 'issueLabeled':
      return match.label !== undefined && same(event.label, match.label)
        ? { matches: true, event }
        : {
            matches: false,
            reason: `label ${event.label ?? '?'} is not ${match.label ?? "the trigger's (none)"}`,
          };
    case 'issueAssigned':
      return match.assignee !== undefined && same(event.assignee, match.assignee)
        ? { matches: true, event }
        : {
            matches: false,
            reason: `the assignee ${event.assignee ?? '?'} is not ${match.assignee ?? "the trigger's (none)"}`,
          };
    case 'comment': {
      if (match.command === undefined) return { matches: false, reason: 'the trigger has no command word' };
      if (same(event.actor, match.assignee)) {
        return { matches: false, reason: `the comment is by the bot ${event.actor ?? ''}` };
      }
      const request = commandRequest(event.text ?? '', match.command);
      return request === undefined
        ? { matches: false, reason: `the comment does not start with ${match.command}` }
        : { matches: true, event: { ...event, text: request } };
    }
    case 'slashCommand': {
      const [, used = '', rest = ''] = /^(\S*)\s*([\s\S]*)$/.exec((event.text ?? '').trim()) ?? [];
      if (match.command !== undefined && !same(used, match.command)) {
        return { matches: false, reason: `the slash command ${used} is not ${match.command}` };
      }
      return { matches: true, event: { ...event, text: rest } };
    }
    case 'appMention': {
      const request =
        match.command === undefined ? undefined : commandRequest(event.text ?? '', match.command);
      return { matches: true, event: request === undefined ? event : { ...event, text: request } };
    }
    case 'jiraTicket':
      return jiraMatch(trigger, event);
    case 'threadReply':
      return { matches: false, reason: 'a reply in a Slack thread only continues the session of its thread' };
    case 'pullRequestClosed':
      return { matches: false, reason: 'a closed pull request starts no session' };
  }
}

/**
 * The triggers a delivery starts sessions for: each trigger with the first of the delivery's
 * candidate events it matches, so one delivery starts at most one session per trigger.
 */
export function matchDelivery(
  triggers: readonly AgentTrigger[],
  events: readonly TriggerEvent[],
): MatchedTrigger[] {
  const matched: MatchedTrigger[] = [];
  for (const trigger of triggers) {
    for (const event of events) {
      const result = matchTrigger(trigger, event);
      if (result.matches) {
        matched.push({ trigger, event: result.event });
        break;
      }
    }
  }
  return matched;
}
