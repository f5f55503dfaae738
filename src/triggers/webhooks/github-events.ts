/**
 * GitHub webhook deliveries → TriggerEvent. The events that can start a session, or continue one,
 * are `issues` with action `labeled` (the label added is `label`) or `assigned` (the user is
 * `assignee`), `issue_comment` with action `created` (on an issue or a pull request),
 * `pull_request_review_comment` with action `created` (a comment on a line of the diff: its
 * position and the ids of its review and thread come along) and `pull_request_review` with action
 * `submitted` (the review's body is the text). `pull_request` with action `closed` is the end of
 * the pull request, for the session whose output branch it is. Everything else, including `ping`
 * and comments by a bot account (`sender.type: Bot`, which is how a GitHub App's own comments
 * arrive — Shepherd's feedback among them), is acknowledged and ignored.
 *
 * The delivery id is `X-GitHub-Delivery`, which GitHub keeps when a delivery is redelivered.
 * Payload shapes are GitHub's, as published in @octokit/webhooks-schemas (the tests run the
 * @octokit/webhooks-examples through here after validating them against those schemas).
 */
import type { TriggerEvent, TriggerSubject } from '../trigger-event.js';
import { type Headers, headerValue } from './signatures.js';
import { field, list, number, type ParsedDelivery, text } from './delivery.js';

/** The issue (or pull request) of an `issues` or `issue_comment` payload. */
export function githubSubject(issue: unknown): TriggerSubject {
  const labels = list(issue, 'labels')
    .map((label) => text(label, 'name'))
    .filter((name): name is string => name !== undefined);
  const title = text(issue, 'title');
  const body = text(issue, 'body');
  const url = text(issue, 'html_url');
  const issueNumber = number(issue, 'number');
  return {
    ...(title ? { title } : {}),
    ...(body ? { body } : {}),
    ...(url ? { url } : {}),
    ...(issueNumber !== undefined ? { number: issueNumber } : {}),
    isPullRequest: field(issue, 'pull_request') != null,
    labels,
  };
}

/** The subject of a `pull_request` object: the pull request, its head branch and the head's repository. */
export function pullRequestSubject(pull: unknown): TriggerSubject {
  const subject = githubSubject(pull);
  const head = field(pull, 'head');
  const headBranch = text(head, 'ref');
  const headRepository = text(field(head, 'repo'), 'full_name');
  return {
    ...subject,
    isPullRequest: true,
    ...(headBranch ? { headBranch } : {}),
    ...(headRepository ? { headRepository } : {}),
  };
}

/** What every forge event says of its repository. */
export function repositoryFields(
  repository: unknown,
): Pick<TriggerEvent, 'repository' | 'cloneUrl' | 'defaultBranch'> {
  const fullName = text(repository, 'full_name');
  const cloneUrl = text(repository, 'clone_url');
  const defaultBranch = text(repository, 'default_branch');
  return {
    ...(fullName ? { repository: fullName } : {}),
    ...(cloneUrl ? { cloneUrl } : {}),
    ...(defaultBranch ? { defaultBranch } : {}),
  };
}

/** Parses a verified GitHub delivery. */
export function parseGitHubDelivery(headers: Headers, payload: unknown): ParsedDelivery {
  const name = headerValue(headers, 'x-github-event');
  const deliveryId = headerValue(headers, 'x-github-delivery');
  if (!name) return { kind: 'invalid', message: 'the X-GitHub-Event header is missing' };
  if (!deliveryId) return { kind: 'invalid', message: 'the X-GitHub-Delivery header is missing' };
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { kind: 'invalid', message: 'the payload is not a JSON object' };
  }
  const action = text(payload, 'action');
  const sender = field(payload, 'sender');
  const actor = text(sender, 'login');
  const base = {
    source: 'github' as const,
    deliveryId,
    ...repositoryFields(field(payload, 'repository')),
    ...(actor ? { actor } : {}),
  };
  if (name === 'issues' && (action === 'labeled' || action === 'assigned')) {
    const subject = githubSubject(field(payload, 'issue'));
    if (action === 'labeled') {
      const label = text(field(payload, 'label'), 'name');
      if (!label) return { kind: 'invalid', message: 'an issues.labeled payload has no label.name' };
      return { kind: 'events', events: [{ ...base, kind: 'issueLabeled', label, subject }] };
    }
    const assignee = text(field(payload, 'assignee'), 'login');
    if (!assignee) return { kind: 'invalid', message: 'an issues.assigned payload has no assignee.login' };
    return { kind: 'events', events: [{ ...base, kind: 'issueAssigned', assignee, subject }] };
  }
  const isComment =
    (name === 'issue_comment' && action === 'created') ||
    (name === 'pull_request_review_comment' && action === 'created') ||
    (name === 'pull_request_review' && action === 'submitted');
  if (isComment) {
    if (text(sender, 'type') === 'Bot') {
      return { kind: 'ignored', reason: `a comment by the bot ${actor ?? ''} is never a request`.trim() };
    }
    if (name === 'pull_request_review') {
      const review = field(payload, 'review');
      const reviewId = number(review, 'id');
      const state = text(review, 'state');
      const reviewUrl = text(review, 'html_url');
      return {
        kind: 'events',
        events: [
          {
            ...base,
            kind: 'comment',
            subject: pullRequestSubject(field(payload, 'pull_request')),
            text: text(review, 'body') ?? '',
            review: {
              kind: 'review',
              ...(reviewId !== undefined ? { reviewId } : {}),
              ...(state ? { state: state.toLowerCase() } : {}),
            },
            ...(reviewUrl ? { links: [reviewUrl] } : {}),
          },
        ],
      };
    }
    const comment = field(payload, 'comment');
    const commentUrl = text(comment, 'html_url');
    const commentId = number(comment, 'id');
    const event: TriggerEvent = {
      ...base,
      kind: 'comment',
      subject: githubSubject(field(payload, 'issue')),
      text: text(comment, 'body') ?? '',
      ...(commentId !== undefined ? { commentId } : {}),
      ...(commentUrl ? { links: [commentUrl] } : {}),
    };
    if (name === 'issue_comment') return { kind: 'events', events: [event] };
    const path = text(comment, 'path');
    const line = number(comment, 'line') ?? number(comment, 'original_line');
    const startLine = number(comment, 'start_line') ?? number(comment, 'original_start_line');
    const diffHunk = text(comment, 'diff_hunk');
    const commitId = text(comment, 'commit_id');
    const reviewId = number(comment, 'pull_request_review_id');
    const inReplyTo = number(comment, 'in_reply_to_id');
    return {
      kind: 'events',
      events: [
        {
          ...event,
          subject: pullRequestSubject(field(payload, 'pull_request')),
          review: {
            kind: 'comment',
            ...(path
              ? {
                  position: {
                    path,
                    ...(line !== undefined ? { line } : {}),
                    ...(startLine !== undefined && startLine !== line ? { startLine } : {}),
                    ...(diffHunk ? { diffHunk } : {}),
                    ...(commitId ? { commitId } : {}),
                  },
                }
              : {}),
            ...(reviewId !== undefined ? { reviewId } : {}),
            ...(inReplyTo !== undefined ? { inReplyTo } : {}),
          },
        },
      ],
    };
  }
  if (name === 'pull_request' && action === 'closed') {
    const pull = field(payload, 'pull_request');
    const pullUrl = text(pull, 'html_url');
    return {
      kind: 'events',
      events: [
        {
          ...base,
          kind: 'pullRequestClosed',
          subject: pullRequestSubject(pull),
          merged: field(pull, 'merged') === true,
          ...(pullUrl ? { links: [pullUrl] } : {}),
        },
      ],
    };
  }
  return { kind: 'ignored', reason: `GitHub event ${name}${action ? `.${action}` : ''} starts no session` };
}
