/**
 * The pure decisions about one ticket: whether it can still be claimed when its workflow re-reads
 * it (it may have moved, or been claimed by someone else, since the poll or the webhook saw it),
 * and the TriggerEvent its session is built from.
 */
import type { TriggerEvent } from '../trigger-event.js';
import type { JiraClaim, JiraTicket } from './jira-client.js';
import type { JiraSkipReason } from './jira-contract.js';

/** Whether to claim. */
export type ClaimDecision = { action: 'claim' } | { action: 'skip'; reason: JiraSkipReason; message: string };

function same(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * The decision for a ticket as read now. A ticket already in the claim's status, or already
 * assigned, is claimed (by another run or by someone); one that left the status it was found in
 * has moved on. Without a claim there is nothing to check beyond that.
 */
export function claimDecision(
  ticket: JiraTicket,
  claim: JiraClaim | undefined,
  seenStatus: string | undefined,
): ClaimDecision {
  const { key, status } = ticket;
  if (claim?.transition && same(status, claim.transition)) {
    return {
      action: 'skip',
      reason: 'AlreadyClaimed',
      message: `ticket ${key} is already in status "${status}", the claim's; it was claimed before`,
    };
  }
  if (claim?.assignee && ticket.assignee) {
    return {
      action: 'skip',
      reason: 'AlreadyClaimed',
      message:
        ticket.assignee === claim.assignee
          ? `ticket ${key} is already assigned to the claim's account; it was claimed before`
          : `ticket ${key} is assigned to someone else; it is left to them`,
    };
  }
  if (seenStatus !== undefined && !same(status, seenStatus)) {
    return {
      action: 'skip',
      reason: 'TicketMoved',
      message: `ticket ${key} moved from "${seenStatus}" to "${status ?? 'no status'}" since it was found; it is left alone`,
    };
  }
  return { action: 'claim' };
}

/** The event a ticket's session is built from. */
export function jiraTicketEvent(options: {
  site: string;
  ticket: JiraTicket;
  /** Unique to the claim, so a retried create meets the session it made. */
  deliveryId: string;
  /** The webhook's own event, whose actor, label and links are kept. */
  webhookEvent?: TriggerEvent;
}): TriggerEvent {
  const { site, ticket, deliveryId, webhookEvent } = options;
  return {
    ...(webhookEvent?.actor ? { actor: webhookEvent.actor } : {}),
    ...(webhookEvent?.label ? { label: webhookEvent.label } : {}),
    ...(webhookEvent?.links ? { links: webhookEvent.links } : {}),
    ...(webhookEvent?.text ? { text: webhookEvent.text } : {}),
    source: 'jira',
    kind: 'jiraTicket',
    deliveryId,
    subject: {
      title: ticket.summary,
      ...(ticket.description ? { body: ticket.description } : {}),
      url: ticket.url,
      ...(ticket.labels.length > 0 ? { labels: ticket.labels } : {}),
    },
    jira: { site, key: ticket.key, ...(ticket.status ? { status: ticket.status } : {}) },
  };
}
