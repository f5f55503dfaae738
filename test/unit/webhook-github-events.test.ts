/**
 * GitHub deliveries through the parser and the matcher, on GitHub's own example payloads
 * (@octokit/webhooks-examples), each validated against GitHub's schemas first: every labelled,
 * assigned and comment-created example becomes the event it describes; every other example of
 * the issue, comment, pull request, push and ping events starts nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGitHubDelivery } from '../../src/triggers/webhooks/github-events.js';
import { FEEDBACK_MARKER, matchTrigger } from '../../src/triggers/trigger-match.js';
import { triggeredSession } from '../../src/triggers/trigger-session.js';
import { assertGitHubShape, gitHubExamples } from './support/github-webhooks.js';
import { agentTrigger } from './support/trigger-fixtures.js';

// The payload types GitHub's schemas generate (the types @octokit/webhooks-examples is typed with).
type IssuesLabeled = import('@octokit/webhooks-types').IssuesLabeledEvent;
type IssuesAssigned = import('@octokit/webhooks-types').IssuesAssignedEvent;
type IssueCommentCreated = import('@octokit/webhooks-types').IssueCommentCreatedEvent;

const headers = (event: string, delivery = 'a8f2c3d0-0000-4000-8000-000000000001') => ({
  'x-github-event': event,
  'x-github-delivery': delivery,
});

test('the examples used are valid against GitHub’s schemas, and most of each event are', () => {
  for (const event of ['issues', 'issue_comment', 'ping', 'pull_request', 'push']) {
    const { valid, setAside } = gitHubExamples(event);
    assert.ok(valid.length > setAside, `${event}: ${valid.length} valid, ${setAside} set aside`);
  }
});

test('every issues.labeled example becomes an issueLabeled event naming the label and the issue', () => {
  const labeled = gitHubExamples('issues').valid.filter((e) => e.action === 'labeled');
  assert.ok(labeled.length > 0);
  for (const { payload } of labeled) {
    const p = payload as unknown as IssuesLabeled;
    const parsed = parseGitHubDelivery(headers('issues'), payload);
    assert.equal(parsed.kind, 'events');
    if (parsed.kind !== 'events') continue;
    assert.equal(parsed.events.length, 1);
    const [event] = parsed.events;
    assert.deepEqual(
      {
        kind: event!.kind,
        label: event!.label,
        repository: event!.repository,
        cloneUrl: event!.cloneUrl,
        defaultBranch: event!.defaultBranch,
        number: event!.subject.number,
        title: event!.subject.title,
        url: event!.subject.url,
        actor: event!.actor,
        deliveryId: event!.deliveryId,
      },
      {
        kind: 'issueLabeled',
        label: p.label!.name,
        repository: p.repository.full_name,
        cloneUrl: p.repository.clone_url,
        defaultBranch: p.repository.default_branch,
        number: p.issue.number,
        title: p.issue.title,
        url: p.issue.html_url,
        actor: p.sender.login,
        deliveryId: 'a8f2c3d0-0000-4000-8000-000000000001',
      },
    );
    assert.equal(event!.subject.isPullRequest, false);
    // The trigger with that label takes it; one with another label or repository does not.
    assert.equal(matchTrigger(agentTrigger('github', { label: p.label!.name }), event!).matches, true);
    assert.equal(matchTrigger(agentTrigger('github', { label: 'shepherd' }), event!).matches, false);
    assert.equal(
      matchTrigger(agentTrigger('github', { label: p.label!.name, repositories: ['someone/else'] }), event!)
        .matches,
      false,
    );
    assert.equal(
      matchTrigger(
        agentTrigger('github', {
          label: p.label!.name,
          repositories: [String(p.repository.full_name).toUpperCase()],
        }),
        event!,
      ).matches,
      true,
      'repository names compare without case, as GitHub does',
    );
    // The session works on the issue's repository with the trigger's forge credentials.
    const session = triggeredSession(agentTrigger('github', { label: p.label!.name }), event!);
    assert.deepEqual(session.spec.repos, [
      {
        url: p.repository.clone_url,
        branch: p.repository.default_branch,
        credentialsSecretRef: { name: 'forge-token', key: 'token' },
      },
    ]);
    assert.match(
      session.spec.initialPrompt ?? '',
      new RegExp(`Issue #${p.issue.number} in ${p.repository.full_name}`),
    );
  }
});

test('every issues.assigned example becomes an issueAssigned event naming the assignee', () => {
  const assigned = gitHubExamples('issues').valid.filter((e) => e.action === 'assigned');
  assert.ok(assigned.length > 0);
  for (const { payload } of assigned) {
    const p = payload as unknown as IssuesAssigned;
    const parsed = parseGitHubDelivery(headers('issues'), payload);
    assert.ok(parsed.kind === 'events');
    const [event] = parsed.events;
    assert.equal(event!.kind, 'issueAssigned');
    assert.equal(event!.assignee, p.assignee!.login);
    assert.equal(matchTrigger(agentTrigger('github', { assignee: p.assignee!.login }), event!).matches, true);
    assert.equal(matchTrigger(agentTrigger('github', { assignee: 'shepherd-bot' }), event!).matches, false);
    // A trigger that only reacts to labels is not started by an assignment.
    assert.equal(matchTrigger(agentTrigger('github', { label: 'bug' }), event!).matches, false);
  }
});

test('every issue_comment.created example is a comment; it starts a session only with the command word', () => {
  const created = gitHubExamples('issue_comment').valid.filter((e) => e.action === 'created');
  assert.ok(created.length > 0);
  for (const { payload } of created) {
    const p = payload as unknown as IssueCommentCreated;
    const parsed = parseGitHubDelivery(headers('issue_comment'), payload);
    assert.ok(parsed.kind === 'events');
    const [event] = parsed.events;
    assert.equal(event!.kind, 'comment');
    assert.equal(event!.text, p.comment.body);
    assert.deepEqual(event!.links, [p.comment.html_url]);
    assert.equal(event!.subject.isPullRequest, p.issue.pull_request != null);
    // The examples' comments do not start with /shepherd: nothing starts.
    assert.equal(matchTrigger(agentTrigger('github', { command: '/shepherd' }), event!).matches, false);

    // The same comment, written as a request, is still GitHub's shape and starts a session whose
    // request is the rest of the comment.
    const request = structuredClone(p);
    request.comment.body = `/shepherd ${p.comment.body}`;
    assertGitHubShape('issue_comment', request as unknown as Record<string, unknown>);
    const asked = parseGitHubDelivery(headers('issue_comment'), request);
    assert.ok(asked.kind === 'events');
    const result = matchTrigger(agentTrigger('github', { command: '/shepherd' }), asked.events[0]!);
    assert.ok(result.matches);
    assert.equal(result.event.text, p.comment.body);
    const session = triggeredSession(agentTrigger('github', { command: '/shepherd' }), result.event);
    assert.match(session.spec.initialPrompt ?? '', /Request from Codertocat:/);

    // A comment by a bot account (a GitHub App's own feedback) is never a request.
    const byBot = structuredClone(request);
    byBot.sender.type = 'Bot';
    byBot.sender.login = 'shepherd[bot]';
    assertGitHubShape('issue_comment', byBot as unknown as Record<string, unknown>);
    assert.equal(parseGitHubDelivery(headers('issue_comment'), byBot).kind, 'ignored');

    // Shepherd's own feedback, even from a user token, carries the marker and starts nothing.
    const feedback = structuredClone(request);
    feedback.comment.body = `/shepherd started ${FEEDBACK_MARKER}`;
    const fed = parseGitHubDelivery(headers('issue_comment'), feedback);
    assert.ok(fed.kind === 'events');
    assert.equal(
      matchTrigger(agentTrigger('github', { command: '/shepherd' }), fed.events[0]!).matches,
      false,
    );
  }
});

test('the other issue and comment actions, pull requests, pushes and pings start nothing', () => {
  const others = [
    ...gitHubExamples('issues').valid.filter((e) => e.action !== 'labeled' && e.action !== 'assigned'),
    ...gitHubExamples('issue_comment').valid.filter((e) => e.action !== 'created'),
    ...gitHubExamples('pull_request').valid.filter((e) => e.action !== 'closed'),
    ...gitHubExamples('push').valid,
    ...gitHubExamples('ping').valid,
  ];
  assert.ok(others.length > 40, `${others.length} examples`);
  for (const { event, action, payload } of others) {
    const parsed = parseGitHubDelivery(headers(event), payload);
    assert.equal(parsed.kind, 'ignored', `${event}.${action ?? ''}`);
  }
  // A closed pull request only ends the session whose branch it is: no trigger starts for it.
  const closed = gitHubExamples('pull_request').valid.filter((e) => e.action === 'closed');
  assert.ok(closed.length > 0);
  for (const { payload } of closed) {
    const parsed = parseGitHubDelivery(headers('pull_request'), payload);
    assert.ok(parsed.kind === 'events');
    assert.equal(parsed.events[0]!.kind, 'pullRequestClosed');
    assert.equal(
      matchTrigger(agentTrigger('github', { command: '/shepherd' }), parsed.events[0]!).matches,
      false,
    );
  }
});

test('a delivery without its event or delivery header, or with a body that is not an object, is invalid', () => {
  const { payload } = gitHubExamples('issues').valid.find((e) => e.action === 'labeled')!;
  assert.equal(parseGitHubDelivery({ 'x-github-delivery': 'd' }, payload).kind, 'invalid');
  assert.equal(parseGitHubDelivery({ 'x-github-event': 'issues' }, payload).kind, 'invalid');
  assert.equal(parseGitHubDelivery(headers('issues'), [payload]).kind, 'invalid');
});
