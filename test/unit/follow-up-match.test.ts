/**
 * Which events are follow-ups and which sessions they may reach, on GitHub's own example payloads
 * (@octokit/webhooks-examples, validated against GitHub's schemas), Gitea's payload shapes and
 * Slack's: a comment on the diff carries its position and thread ids; a comment is a follow-up only
 * when it mentions the bot or starts with the command word; a session is reached only by a comment
 * of its own thread or pull request, in its repository, through a trigger of its namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import {
  followUpRequest,
  headSessionName,
  mentions,
  ownsFollowUp,
  planFollowUps,
  eventThread,
} from '../../src/triggers/conversations/follow-up-match.js';
import type { TriggerEvent } from '../../src/triggers/trigger-event.js';
import { FEEDBACK_MARKER } from '../../src/triggers/trigger-match.js';
import { THREAD_LABEL, triggeredSession } from '../../src/triggers/trigger-session.js';
import { parseGiteaDelivery } from '../../src/triggers/webhooks/gitea-events.js';
import { parseGitHubDelivery } from '../../src/triggers/webhooks/github-events.js';
import { parseSlackDelivery } from '../../src/triggers/webhooks/slack-events.js';
import { assertGitHubShape, gitHubExamples } from './support/github-webhooks.js';
import { agentTrigger } from './support/trigger-fixtures.js';

type ReviewCommentCreated = import('@octokit/webhooks-types').PullRequestReviewCommentCreatedEvent;

const headers = (event: string) => ({ 'x-github-event': event, 'x-github-delivery': 'd-1' });

/** A GitHub example, validated, with the changes a test makes (checked against the schema again). */
function reviewComment(change: (p: ReviewCommentCreated) => void = () => undefined): TriggerEvent {
  const example = gitHubExamples('pull_request_review_comment').valid.find(
    (e) => e.action === 'created' && (e.payload.comment as { line?: number }).line,
  )!;
  const payload = structuredClone(example.payload) as unknown as ReviewCommentCreated;
  change(payload);
  assertGitHubShape('pull_request_review_comment', payload as unknown as Record<string, unknown>);
  const parsed = parseGitHubDelivery(headers('pull_request_review_comment'), payload);
  assert.ok(parsed.kind === 'events');
  return parsed.events[0]!;
}

const bot = agentTrigger('github', { command: '/shepherd', mention: 'shepherd-bot' }, { name: 'shop' });

test('a comment on the diff is a comment on the pull request with its position, thread and head branch', () => {
  const examples = gitHubExamples('pull_request_review_comment').valid.filter((e) => e.action === 'created');
  assert.ok(examples.length > 0);
  for (const { payload } of examples) {
    const p = payload as unknown as ReviewCommentCreated;
    const parsed = parseGitHubDelivery(headers('pull_request_review_comment'), payload);
    assert.ok(parsed.kind === 'events');
    const [event] = parsed.events;
    assert.equal(event!.kind, 'comment');
    assert.equal(event!.subject.isPullRequest, true);
    assert.equal(event!.subject.number, p.pull_request.number);
    assert.equal(event!.subject.headBranch, p.pull_request.head.ref);
    assert.equal(event!.subject.headRepository, p.pull_request.head.repo?.full_name);
    assert.equal(event!.commentId, p.comment.id);
    assert.equal(event!.text, p.comment.body);
    assert.deepEqual(event!.review?.position?.path, p.comment.path);
    assert.equal(event!.review?.position?.diffHunk, p.comment.diff_hunk);
    assert.equal(event!.review?.position?.line, p.comment.line ?? p.comment.original_line ?? undefined);
    assert.equal(event!.review?.reviewId, p.comment.pull_request_review_id);
  }
  // Edited and deleted comments are not prompts.
  for (const { payload, action } of gitHubExamples('pull_request_review_comment').valid) {
    if (action === 'created') continue;
    assert.equal(parseGitHubDelivery(headers('pull_request_review_comment'), payload).kind, 'ignored');
  }
});

test('a submitted review is a comment whose text is its body; a dismissed one is nothing', () => {
  for (const { payload, action } of gitHubExamples('pull_request_review').valid) {
    const parsed = parseGitHubDelivery(headers('pull_request_review'), payload);
    if (action !== 'submitted') {
      assert.equal(parsed.kind, 'ignored');
      continue;
    }
    assert.ok(parsed.kind === 'events');
    const review = (payload as { review: { id: number; state: string } }).review;
    assert.deepEqual(parsed.events[0]!.review, { kind: 'review', reviewId: review.id, state: review.state });
  }
});

test('a comment is a follow-up when it mentions the bot or starts with the command word, never its own', () => {
  assert.equal(mentions('thanks @shepherd-bot, now the tests', 'shepherd-bot'), true);
  assert.equal(mentions('@Shepherd-Bot: go', 'shepherd-bot'), true);
  assert.equal(mentions('@shepherd-bots go', 'shepherd-bot'), false);
  assert.equal(mentions('mail shepherd-bot@example.com', 'shepherd-bot'), false);

  const mentioned = reviewComment((p) => {
    p.comment.body = '@shepherd-bot use a constant here';
  });
  assert.equal(followUpRequest(bot, mentioned), '@shepherd-bot use a constant here');
  const commanded = reviewComment((p) => {
    p.comment.body = '/shepherd use a constant here';
  });
  assert.equal(followUpRequest(bot, commanded), 'use a constant here');
  assert.equal(followUpRequest(bot, reviewComment()), undefined, 'a comment for people is not for Shepherd');
  const own = reviewComment((p) => {
    p.comment.body = `@shepherd-bot could not ${FEEDBACK_MARKER}`;
  });
  assert.equal(followUpRequest(bot, own), undefined, "Shepherd's own reply");
  const byBot = reviewComment((p) => {
    p.comment.body = '/shepherd again';
    p.sender.login = 'shepherd-bot';
  });
  assert.equal(followUpRequest(bot, byBot), undefined, 'the bot account’s comment');
  // The trigger's assignee is the bot's login when no mention is set; a GitHub App's [bot] is dropped.
  const assigned = agentTrigger('github', { assignee: 'shepherd-app[bot]' });
  const toApp = reviewComment((p) => {
    p.comment.body = '@shepherd-app please';
  });
  assert.equal(followUpRequest(assigned, toApp), '@shepherd-app please');
  // The trigger's repositories narrow follow-ups too.
  const elsewhere = agentTrigger('github', { mention: 'shepherd-bot', repositories: ['acme/other'] });
  assert.equal(followUpRequest(elsewhere, mentioned), undefined);
});

test('a delivery plans one follow-up per namespace, with that namespace’s verified triggers as owners', () => {
  const event = reviewComment((p) => {
    p.comment.body = '@shepherd-bot please';
  });
  const a1 = agentTrigger('github', { mention: 'shepherd-bot' }, { name: 'a1', namespace: 'a' });
  const a2 = agentTrigger('github', { label: 'shepherd' }, { name: 'a2', namespace: 'a' });
  const b = agentTrigger('github', { command: '/shepherd' }, { name: 'b', namespace: 'b' });
  const plans = planFollowUps([a1, a2, b], [event]);
  assert.equal(plans.length, 1, 'namespace b is not addressed (no mention, no command word)');
  assert.equal(plans[0]!.namespace, 'a');
  assert.equal(plans[0]!.via, a1);
  assert.deepEqual(
    plans[0]!.triggers.map((t) => t.metadata.name),
    ['a1', 'a2'],
    'a session of the label trigger a2 hears a mention too',
  );
});

/** A session `name` of trigger `trigger` in `namespace` working on `repoUrl`. */
function sessionOf(name: string, namespace: string, trigger: string, spec: Partial<AgentSessionSpec> = {}) {
  return {
    namespace,
    name,
    spec: {
      repos: [{ url: 'https://github.com/Codertocat/Hello-World.git' }],
      trigger: { name: trigger, source: 'github', ids: { repository: 'Codertocat/Hello-World', issue: '2' } },
      ...spec,
    },
  };
}

test('only the session of the pull request’s head branch, in its repository and namespace, owns a follow-up', () => {
  const event = reviewComment((p) => {
    p.comment.body = '@shepherd-bot please';
    p.pull_request.head.ref = 'shepherd/shop-1a2b3c4d5e';
  });
  assert.equal(headSessionName(event), 'shop-1a2b3c4d5e');
  const [plan] = planFollowUps([bot], [event]);
  assert.ok(plan);
  const mine = sessionOf('shop-1a2b3c4d5e', 'team-a', 'shop', {
    trigger: { name: 'shop', source: 'github', ids: { repository: 'Codertocat/Hello-World', issue: '9' } },
  });
  assert.equal(ownsFollowUp(mine, plan, 'head'), true);
  // The same name working on another repository: a comment on repository A never reaches B.
  const otherRepo = {
    ...mine,
    spec: { ...mine.spec, repos: [{ url: 'https://github.com/acme/other.git' }] },
  };
  assert.equal(ownsFollowUp(otherRepo, plan, 'head'), false);
  // Of another namespace, or of a trigger that did not verify the delivery.
  assert.equal(ownsFollowUp({ ...mine, namespace: 'team-b' }, plan, 'head'), false);
  const strangerTrigger = {
    ...mine,
    spec: { ...mine.spec, trigger: { ...mine.spec.trigger, name: 'someone' } },
  };
  assert.equal(ownsFollowUp(strangerTrigger, plan, 'head'), false);
  // A session with another output branch is not the session of this head.
  const branch = {
    ...mine,
    spec: { ...mine.spec, repos: [{ url: mine.spec.repos[0]!.url, outputBranch: 'x' }] },
  };
  assert.equal(ownsFollowUp(branch, plan, 'head'), false);

  // A fork's pull request from a branch of the same name is not the session's.
  const fromFork = reviewComment((p) => {
    p.comment.body = '@shepherd-bot please';
    p.pull_request.head.ref = 'shepherd/shop-1a2b3c4d5e';
    p.pull_request.head.repo.full_name = 'mallory/Hello-World';
  });
  assert.equal(headSessionName(fromFork), undefined);
  const [forkPlan] = planFollowUps([bot], [fromFork]);
  assert.equal(ownsFollowUp(mine, forkPlan!, 'head'), false);
});

test('a triggered session carries its thread label; a comment of that issue, and only that one, finds it', () => {
  const labelled = parseGitHubDelivery(headers('issues'), {
    action: 'labeled',
    label: { name: 'shepherd' },
    issue: {
      number: 2,
      title: 'Fix it',
      html_url: 'https://github.com/Codertocat/Hello-World/issues/2',
      labels: [],
    },
    repository: {
      full_name: 'Codertocat/Hello-World',
      clone_url: 'https://github.com/Codertocat/Hello-World.git',
      default_branch: 'main',
    },
    sender: { login: 'alice', type: 'User' },
  });
  assert.ok(labelled.kind === 'events');
  const started = triggeredSession(bot, labelled.events[0]!);
  const thread = started.labels[THREAD_LABEL];
  assert.match(thread ?? '', /^[0-9a-f]{40}$/, 'a label value');

  const onIssue = reviewComment((p) => {
    p.comment.body = '@shepherd-bot also the docs';
  });
  // The examples' pull request is #2 of Codertocat/Hello-World: the same thread as the issue #2.
  assert.equal(eventThread(onIssue), thread);
  const [plan] = planFollowUps([bot], [onIssue]);
  const session = { namespace: started.namespace, name: started.name, spec: started.spec };
  assert.equal(ownsFollowUp(session, plan!, 'thread'), true);
  const otherNumber = reviewComment((p) => {
    p.comment.body = '@shepherd-bot also the docs';
    p.pull_request.number = 3;
  });
  assert.notEqual(eventThread(otherNumber), thread);
  assert.equal(ownsFollowUp(session, planFollowUps([bot], [otherNumber])[0]!, 'thread'), false);
  const otherRepo = reviewComment((p) => {
    p.comment.body = '@shepherd-bot also the docs';
    p.repository.full_name = 'acme/other';
  });
  assert.notEqual(eventThread(otherRepo), thread);
  assert.equal(ownsFollowUp(session, planFollowUps([bot], [otherRepo])[0]!, 'thread'), false);
});

const giteaUser = (login: string) => ({ id: 2, login, username: login });
const giteaRepo = {
  id: 1,
  name: 'shop',
  full_name: 'alice/shop',
  clone_url: 'http://127.0.0.1:3000/alice/shop.git',
  default_branch: 'main',
};
const giteaPull = {
  id: 11,
  number: 4,
  html_url: 'http://127.0.0.1:3000/alice/shop/pulls/4',
  title: 'Fix the checkout',
  body: '',
  merged: true,
  head: { ref: 'shepherd/shop-issues-0a1b2c3d4e', repo_id: 1, repo: giteaRepo },
  base: { ref: 'main', repo_id: 1, repo: giteaRepo },
};

test('Gitea: a review, a comment on a pull request and a merge carry the pull request and its head', () => {
  const review = parseGiteaDelivery(
    { 'x-gitea-event': 'pull_request_rejected', 'x-gitea-delivery': 'g-1' },
    {
      action: 'reviewed',
      number: 4,
      pull_request: giteaPull,
      repository: giteaRepo,
      sender: giteaUser('bob'),
      review: { type: 'pull_request_review_rejected', content: '@shepherd-bot rename it' },
    },
  );
  assert.ok(review.kind === 'events');
  assert.deepEqual(review.events[0]!.review, { kind: 'review', state: 'changes_requested' });
  assert.equal(review.events[0]!.subject.headBranch, 'shepherd/shop-issues-0a1b2c3d4e');
  assert.equal(review.events[0]!.text, '@shepherd-bot rename it');

  const comment = parseGiteaDelivery(
    { 'x-gitea-event': 'issue_comment' },
    {
      action: 'created',
      issue: {
        number: 4,
        html_url: giteaPull.html_url,
        title: 'Fix the checkout',
        pull_request: { merged: false },
      },
      pull_request: giteaPull,
      comment: {
        id: 31,
        body: '/shepherd more',
        user: giteaUser('bob'),
        html_url: `${giteaPull.html_url}#issuecomment-31`,
      },
      repository: giteaRepo,
      sender: giteaUser('bob'),
      is_pull: true,
    },
  );
  assert.ok(comment.kind === 'events');
  const [event] = comment.events;
  assert.equal(event!.subject.headRepository, 'alice/shop');
  assert.equal(headSessionName(event!), 'shop-issues-0a1b2c3d4e');
  assert.equal(event!.commentId, 31);

  const merged = parseGiteaDelivery(
    { 'x-gitea-event': 'pull_request', 'x-gitea-delivery': 'g-2' },
    { action: 'closed', number: 4, pull_request: giteaPull, repository: giteaRepo, sender: giteaUser('bob') },
  );
  assert.ok(merged.kind === 'events');
  assert.equal(merged.events[0]!.kind, 'pullRequestClosed');
  assert.equal(merged.events[0]!.merged, true);
  const gitea = agentTrigger('gitea', { command: '/shepherd' });
  assert.equal(
    planFollowUps([gitea], merged.events).length,
    1,
    'every trigger of the repository hears a merge',
  );
});

const slackEvent = (event: Record<string, unknown>) => ({
  type: 'event_callback',
  event_id: 'Ev1',
  team_id: 'T1',
  authorizations: [{ team_id: 'T1', user_id: 'UAPP', is_bot: true }],
  event: { channel: 'C1', user: 'U2', ts: '1700000001.000200', ...event },
});

test('Slack: a reply in a thread is a follow-up of that thread; one that mentions the app is its app_mention', () => {
  const reply = parseSlackDelivery(
    slackEvent({ type: 'message', text: 'and the <@U3> case', thread_ts: '1700000000.000100' }),
  );
  assert.ok(reply.kind === 'events');
  const [event] = reply.events;
  assert.equal(event!.kind, 'threadReply');
  assert.equal(event!.text, 'and the <@U3> case', "people's mentions stay");
  const slack = agentTrigger('slack', { command: '/shepherd' });
  assert.equal(followUpRequest(slack, event!), 'and the <@U3> case');
  // The thread is the one a session started by a mention replies in.
  const mention = parseSlackDelivery(
    slackEvent({ type: 'app_mention', text: '<@UAPP> fix it', ts: '1700000000.000100' }),
  );
  assert.ok(mention.kind === 'events');
  const started = triggeredSession(slack, mention.events[0]!);
  assert.equal(eventThread(event!), started.labels[THREAD_LABEL]);

  assert.equal(
    parseSlackDelivery(slackEvent({ type: 'message', text: '<@UAPP> go', thread_ts: '1700000000.000100' }))
      .kind,
    'ignored',
  );
  assert.equal(parseSlackDelivery(slackEvent({ type: 'message', text: 'top level' })).kind, 'ignored');
  const inThread = parseSlackDelivery(
    slackEvent({ type: 'app_mention', text: '<@UAPP> go on', thread_ts: '1700000000.000100' }),
  );
  assert.ok(inThread.kind === 'events');
  assert.equal(followUpRequest(slack, inThread.events[0]!), 'go on');
  assert.equal(
    followUpRequest(slack, mention.events[0]!),
    undefined,
    'a mention outside a thread starts anew',
  );
});
