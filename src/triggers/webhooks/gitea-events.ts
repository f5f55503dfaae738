/**
 * Gitea (and Forgejo) webhook deliveries → TriggerEvent. Gitea's payloads look like GitHub's but
 * differ where it matters (modules/structs/hook.go, services/webhook/notifier.go):
 *
 * - A label change is `X-Gitea-Event: issues` with action `label_updated` and the issue's labels
 *   as they are now; nothing says which label was added. An assignment (`assigned`) likewise
 *   carries the issue's assignees, not the one added. So a delivery yields one candidate event per
 *   label (or assignee) the issue has, and an issue opened with labels or assignees counts too.
 * - "Redeliver" in Gitea's UI sends the same payload as a new delivery with a new
 *   `X-Gitea-Delivery`. So the delivery id of an event here is what the payload identifies:
 *   `<owner/name>#<issue>/label/<label>`, `…/assignee/<login>`, `…/comment/<comment id>`. A
 *   redelivery, a second label added later, or `opened` followed by `label_updated` all name the
 *   same session, which exists already and is not started twice. (The price: removing a label and
 *   adding it again starts nothing while the first session exists.)
 * - Comments are `X-Gitea-Event: issue_comment` with action `created`, on issues and pull
 *   requests alike (`is_pull`; on a pull request the payload carries it, with its head branch). A
 *   reply to a thread on the diff arrives the same way, without its position: the follow-up reads
 *   the thread from Gitea's API.
 * - A submitted review is `X-Gitea-Event: pull_request_comment` (`pull_request_approved`,
 *   `pull_request_rejected`) with action `reviewed` and only the review's type and body; its
 *   comments on the diff, which Gitea sends no webhook for, are read from the API. Nothing in the
 *   payload identifies the review, so its delivery id is the `X-Gitea-Delivery`.
 * - A pull request merged or closed is `X-Gitea-Event: pull_request` with action `closed`
 *   (`pull_request.merged` tells which).
 *
 * Gitea accounts carry no bot flag, so comments by the bot are recognised by the matcher (the
 * feedback marker, the trigger's assignee), not here.
 */
import type { TriggerEvent } from '../trigger-event.js';
import { type Headers, headerValue } from './signatures.js';
import { field, list, number, type ParsedDelivery, text } from './delivery.js';
import { githubSubject, pullRequestSubject, repositoryFields } from './github-events.js';

/** Gitea's review events, by `X-Gitea-Event`, and the verdict each is. */
const REVIEW_EVENTS: Record<string, string> = {
  pull_request_comment: 'commented',
  pull_request_approved: 'approved',
  pull_request_rejected: 'changes_requested',
};

/** A user's login; Gitea writes it as `login` (and `username` for older clients). */
function login(user: unknown): string | undefined {
  return text(user, 'login') ?? text(user, 'username');
}

/** Parses a verified Gitea or Forgejo delivery. */
export function parseGiteaDelivery(headers: Headers, payload: unknown): ParsedDelivery {
  const name = headerValue(headers, 'x-gitea-event') ?? headerValue(headers, 'x-forgejo-event');
  if (!name) return { kind: 'invalid', message: 'the X-Gitea-Event header is missing' };
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { kind: 'invalid', message: 'the payload is not a JSON object' };
  }
  const action = text(payload, 'action');
  const issue = field(payload, 'issue');
  const repositoryFieldsOf = repositoryFields(field(payload, 'repository'));
  const actor = login(field(payload, 'sender'));
  const pull = field(payload, 'pull_request');
  const review = REVIEW_EVENTS[name] !== undefined && action === 'reviewed';
  const closed = name === 'pull_request' && action === 'closed';
  if (review || closed) {
    const pullNumber = number(payload, 'number') ?? number(pull, 'number');
    const deliveryId = headerValue(headers, 'x-gitea-delivery') ?? headerValue(headers, 'x-forgejo-delivery');
    if (!repositoryFieldsOf.repository || pullNumber === undefined || !deliveryId) {
      return {
        kind: 'invalid',
        message:
          'the payload has no repository.full_name or number, or the X-Gitea-Delivery header is missing',
      };
    }
    const subject = { ...pullRequestSubject(pull), number: pullNumber };
    const pullUrl = text(pull, 'html_url');
    const base = {
      source: 'gitea' as const,
      ...repositoryFieldsOf,
      ...(actor ? { actor } : {}),
      subject,
      deliveryId: `${repositoryFieldsOf.repository}#${pullNumber}/${review ? 'review' : 'closed'}/${deliveryId}`,
      ...(pullUrl ? { links: [pullUrl] } : {}),
    };
    if (closed) {
      return {
        kind: 'events',
        events: [{ ...base, kind: 'pullRequestClosed', merged: field(pull, 'merged') === true }],
      };
    }
    const event: TriggerEvent = {
      ...base,
      kind: 'comment',
      text: text(field(payload, 'review'), 'content') ?? '',
      review: { kind: 'review', state: REVIEW_EVENTS[name]! },
    };
    return { kind: 'events', events: [event] };
  }
  const issueNumber = number(issue, 'number');
  const relevant =
    (name === 'issues' && (action === 'label_updated' || action === 'assigned' || action === 'opened')) ||
    (name === 'issue_comment' && action === 'created');
  if (!relevant) {
    return { kind: 'ignored', reason: `Gitea event ${name}${action ? `.${action}` : ''} starts no session` };
  }
  if (!repositoryFieldsOf.repository || issueNumber === undefined) {
    return { kind: 'invalid', message: 'the payload has no repository.full_name or issue.number' };
  }
  const key = `${repositoryFieldsOf.repository}#${issueNumber}`;
  const subject = githubSubject(issue);
  const base = { source: 'gitea' as const, ...repositoryFieldsOf, ...(actor ? { actor } : {}), subject };

  if (name === 'issue_comment') {
    const comment = field(payload, 'comment');
    const commentId = number(comment, 'id');
    if (commentId === undefined) return { kind: 'invalid', message: 'the payload has no comment.id' };
    const commentUrl = text(comment, 'html_url');
    const onPull = subject.isPullRequest || field(payload, 'is_pull') === true;
    const head = onPull ? pullRequestSubject(pull) : undefined;
    const event: TriggerEvent = {
      ...base,
      kind: 'comment',
      deliveryId: `${key}/comment/${commentId}`,
      subject: {
        ...subject,
        isPullRequest: onPull,
        ...(head?.headBranch ? { headBranch: head.headBranch } : {}),
        ...(head?.headRepository ? { headRepository: head.headRepository } : {}),
      },
      text: text(comment, 'body') ?? '',
      commentId,
      ...(commentUrl ? { links: [commentUrl] } : {}),
    };
    const author = login(field(comment, 'user'));
    return { kind: 'events', events: [author ? { ...event, actor: author } : event] };
  }

  const events: TriggerEvent[] = [];
  if (action === 'label_updated' || action === 'opened') {
    for (const label of subject.labels ?? []) {
      events.push({ ...base, kind: 'issueLabeled', deliveryId: `${key}/label/${label}`, label });
    }
  }
  if (action === 'assigned' || action === 'opened') {
    const assignees = list(issue, 'assignees').map(login);
    for (const assignee of new Set(assignees.filter((a): a is string => a !== undefined))) {
      events.push({ ...base, kind: 'issueAssigned', deliveryId: `${key}/assignee/${assignee}`, assignee });
    }
  }
  return events.length > 0
    ? { kind: 'events', events }
    : { kind: 'ignored', reason: `the issue ${key} has no labels or assignees` };
}
