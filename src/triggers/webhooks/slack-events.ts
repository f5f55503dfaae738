/**
 * Slack deliveries → TriggerEvent. Two kinds of request reach the Slack route:
 *
 * - A slash command: a form body (`command`, `text`, `channel_id`, `user_id`, `team_id`,
 *   `response_url`, `trigger_id`). Its delivery id is `trigger_id`, unique per invocation. The
 *   event's text is the command and its text (`/shepherd fix the flaky test`), so the matcher reads
 *   the command word the same way it reads a comment's.
 * - The Events API: JSON. `url_verification` is answered with its challenge; an `event_callback`
 *   whose event is an `app_mention` starts a session, with the mention of the app taken out of the
 *   text, and a reply in the thread of the mention (its `thread_ts`, or the message itself). Its
 *   delivery id is `event_id`, the same on Slack's retries (`X-Slack-Retry-Num`). Messages posted
 *   by bots (`bot_id`) or edits and other subtypes are ignored, so the app never answers itself.
 * - A `message` in a thread (its `thread_ts` is not its own `ts`; the app subscribed to
 *   `message.channels`) is a `threadReply`: a follow-up for the session of that thread, never a
 *   new session. One that mentions the app is left to its `app_mention` event, which Slack sends
 *   as well (the app's user id is the envelope's `authorizations[0].user_id`).
 */
import type { TriggerEvent } from '../trigger-event.js';
import { field, list, type ParsedDelivery, text } from './delivery.js';

/** The first `<@U…>` mention in a message, which in an app_mention is the app's. */
const MENTION = /<@[A-Z0-9]+(?:\|[^>]*)?>/;

/** A message's text without the app's mention. */
export function withoutMention(message: string): string {
  return message.replace(MENTION, ' ').replace(/\s+/g, ' ').trim();
}

function slashCommand(form: Record<string, unknown>): ParsedDelivery {
  const command = text(form, 'command');
  const triggerId = text(form, 'trigger_id');
  const channel = text(form, 'channel_id');
  if (!command || !triggerId || !channel) {
    return { kind: 'invalid', message: 'a slash command needs command, trigger_id and channel_id' };
  }
  const user = text(form, 'user_id');
  const teamId = text(form, 'team_id');
  const responseUrl = text(form, 'response_url');
  const event: TriggerEvent = {
    source: 'slack',
    kind: 'slashCommand',
    deliveryId: triggerId,
    subject: {},
    text: `${command} ${text(form, 'text') ?? ''}`.trim(),
    ...(user ? { actor: user } : {}),
    slack: { channel, ...(teamId ? { teamId } : {}), ...(responseUrl ? { responseUrl } : {}) },
  };
  return { kind: 'events', events: [event] };
}

/** The app's own user id, from the envelope's authorizations, when Slack sent them. */
function appUserId(payload: Record<string, unknown>): string | undefined {
  const [first] = list(payload, 'authorizations');
  return text(first, 'user_id');
}

function eventCallback(payload: Record<string, unknown>): ParsedDelivery {
  const inner = field(payload, 'event');
  const type = text(inner, 'type');
  if (type !== 'app_mention' && type !== 'message')
    return { kind: 'ignored', reason: `Slack event ${type ?? '?'} starts no session` };
  if (text(inner, 'bot_id') || text(inner, 'subtype')) {
    return { kind: 'ignored', reason: 'a message by a bot, or an edit, is never a request' };
  }
  const threadTs = text(inner, 'thread_ts');
  const inThread = threadTs !== undefined && threadTs !== text(inner, 'ts');
  if (type === 'message') {
    if (!inThread) return { kind: 'ignored', reason: 'a message outside a thread starts no session' };
    const app = appUserId(payload);
    if (app && (text(inner, 'text') ?? '').includes(`<@${app}`)) {
      return { kind: 'ignored', reason: 'a reply that mentions the app arrives as its app_mention' };
    }
  }
  const eventId = text(payload, 'event_id');
  const channel = text(inner, 'channel');
  const ts = text(inner, 'ts');
  if (!eventId || !channel || !ts) {
    return { kind: 'invalid', message: `a ${type} event needs event_id, event.channel and event.ts` };
  }
  const user = text(inner, 'user');
  const teamId = text(payload, 'team_id');
  const event: TriggerEvent = {
    source: 'slack',
    kind: type === 'message' ? 'threadReply' : 'appMention',
    deliveryId: eventId,
    subject: {},
    // A thread reply's mentions are of people: only the app's own mention is taken out.
    text: type === 'message' ? (text(inner, 'text') ?? '').trim() : withoutMention(text(inner, 'text') ?? ''),
    ...(user ? { actor: user } : {}),
    slack: { channel, threadTs: threadTs ?? ts, inThread, ...(teamId ? { teamId } : {}) },
  };
  return { kind: 'events', events: [event] };
}

/** Parses a verified Slack request: a slash command's form fields, or an Events API body. */
export function parseSlackDelivery(payload: unknown): ParsedDelivery {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { kind: 'invalid', message: 'the payload is not a JSON object or a form' };
  }
  const body = payload as Record<string, unknown>;
  if (typeof body.command === 'string') return slashCommand(body);
  const type = text(body, 'type');
  if (type === 'url_verification') {
    const challenge = text(body, 'challenge');
    return challenge
      ? { kind: 'challenge', challenge }
      : { kind: 'invalid', message: 'a url_verification has no challenge' };
  }
  if (type === 'event_callback') return eventCallback(body);
  return { kind: 'ignored', reason: `Slack request ${type ?? 'of unknown type'} starts no session` };
}
