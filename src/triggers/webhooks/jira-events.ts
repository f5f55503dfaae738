/**
 * Jira Cloud webhook deliveries → TriggerEvent. A ticket can start a session when it is moved to
 * a status or given a label: `jira:issue_updated` with a `changelog` item for `status` (its
 * `toString` is the new status) or `labels` (`fromString`/`toString` are space-separated lists),
 * and `jira:issue_created`, where the ticket's status and labels are all new.
 *
 * One candidate event per change, so the matcher can tell what this delivery did:
 * - a status change: `jira.status` is the new status and `label` is unset;
 * - a label added: `label` is that label, `jira.status` the ticket's current status.
 * Both carry the ticket's current labels in `subject.labels`.
 *
 * The site is the host of the ticket's `self` URL (what the Jira workflow id `jira/<site>/<key>`
 * names); the delivery id is `X-Atlassian-Webhook-Identifier`, which Jira keeps on retries, else
 * the changelog's id.
 */
import type { TriggerEvent, TriggerSubject } from '../trigger-event.js';
import { type Headers, headerValue } from './signatures.js';
import { field, list, type ParsedDelivery, text } from './delivery.js';

/** The plain text of a description: Jira's REST v2 sends a string, v3 an Atlassian document. */
export function plainText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return '';
  const node = value as { type?: unknown; text?: unknown; content?: unknown };
  if (typeof node.text === 'string') return node.text;
  const children = Array.isArray(node.content) ? node.content.map(plainText) : [];
  const block = node.type === 'paragraph' || node.type === 'heading' || node.type === 'listItem';
  return children.join('') + (block ? '\n' : '');
}

function words(value: unknown): string[] {
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
}

/** Parses a verified Jira delivery. */
export function parseJiraDelivery(headers: Headers, payload: unknown): ParsedDelivery {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { kind: 'invalid', message: 'the payload is not a JSON object' };
  }
  const webhookEvent = text(payload, 'webhookEvent');
  if (webhookEvent !== 'jira:issue_updated' && webhookEvent !== 'jira:issue_created') {
    return { kind: 'ignored', reason: `Jira event ${webhookEvent ?? '?'} starts no session` };
  }
  const issue = field(payload, 'issue');
  const key = text(issue, 'key');
  const self = text(issue, 'self');
  let site: URL | undefined;
  try {
    site = self ? new URL(self) : undefined;
  } catch {
    site = undefined;
  }
  if (!key || !site) return { kind: 'invalid', message: 'the payload has no issue.key or issue.self URL' };
  const changelog = field(payload, 'changelog');
  const deliveryId =
    headerValue(headers, 'x-atlassian-webhook-identifier') ??
    (text(changelog, 'id') ? `${key}/changelog/${text(changelog, 'id')}` : undefined);
  if (!deliveryId) {
    return { kind: 'invalid', message: 'the X-Atlassian-Webhook-Identifier header is missing' };
  }
  const fields = field(issue, 'fields');
  const labels = list(fields, 'labels').filter((l): l is string => typeof l === 'string');
  const status = text(field(fields, 'status'), 'name');
  const summary = text(fields, 'summary');
  const description = plainText(field(fields, 'description')).trim();
  const subject: TriggerSubject = {
    ...(summary ? { title: summary } : {}),
    ...(description ? { body: description } : {}),
    url: `${site.origin}/browse/${key}`,
    labels,
  };
  const actor = text(field(payload, 'user'), 'accountId');
  const base = {
    source: 'jira' as const,
    kind: 'jiraTicket' as const,
    deliveryId,
    subject,
    ...(actor ? { actor } : {}),
  };
  const ticket = (ticketStatus: string | undefined) => ({
    site: site.host,
    key,
    ...(ticketStatus ? { status: ticketStatus } : {}),
  });

  const events: TriggerEvent[] = [];
  if (webhookEvent === 'jira:issue_created') {
    if (status) events.push({ ...base, jira: ticket(status) });
    for (const label of labels) events.push({ ...base, label, jira: ticket(status) });
  } else {
    for (const item of list(changelog, 'items')) {
      const changed = text(item, 'field');
      if (changed === 'status') {
        const to = text(item, 'toString') ?? status;
        if (to) events.push({ ...base, jira: ticket(to) });
      } else if (changed === 'labels') {
        const before = new Set(words(field(item, 'fromString')));
        for (const label of words(field(item, 'toString')).filter((l) => !before.has(l))) {
          events.push({ ...base, label, jira: ticket(status) });
        }
      }
    }
  }
  return events.length > 0
    ? { kind: 'events', events }
    : { kind: 'ignored', reason: `${webhookEvent} for ${key} changed no status or label` };
}
