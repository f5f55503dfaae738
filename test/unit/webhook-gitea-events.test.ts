/**
 * Gitea deliveries through the parser and the matcher. The payloads are written field for field
 * from Gitea's own structs (modules/structs/hook.go IssuePayload and IssueCommentPayload, issue.go
 * Issue, repo.go Repository, user.go User: the JSON tags), as Gitea's notifier fills them for a
 * label change, an assignment and a comment. The real Gitea's deliveries are in the end-to-end test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGiteaDelivery } from '../../src/triggers/webhooks/gitea-events.js';
import { matchDelivery } from '../../src/triggers/trigger-match.js';
import { triggeredSession } from '../../src/triggers/trigger-session.js';
import { agentTrigger } from './support/trigger-fixtures.js';

const user = (login: string, id: number) => ({
  id,
  login,
  login_name: '',
  source_id: 0,
  full_name: '',
  email: `${login}@noreply.localhost`,
  avatar_url: `http://127.0.0.1:3000/avatars/${id}`,
  html_url: `http://127.0.0.1:3000/${login}`,
  language: '',
  is_admin: false,
  username: login,
});

const repository = {
  id: 1,
  owner: user('alice', 2),
  name: 'shop',
  full_name: 'alice/shop',
  description: '',
  private: false,
  fork: false,
  html_url: 'http://127.0.0.1:3000/alice/shop',
  ssh_url: 'git@127.0.0.1:alice/shop.git',
  clone_url: 'http://127.0.0.1:3000/alice/shop.git',
  default_branch: 'main',
};

function issue(labels: string[], assignees: string[] = []) {
  return {
    id: 7,
    url: 'http://127.0.0.1:3000/api/v1/repos/alice/shop/issues/3',
    html_url: 'http://127.0.0.1:3000/alice/shop/issues/3',
    number: 3,
    user: user('alice', 2),
    original_author: '',
    original_author_id: 0,
    title: 'Checkout test is flaky',
    body: 'It fails one run in ten.',
    ref: '',
    assets: [],
    labels: labels.map((name, i) => ({
      id: i + 1,
      name,
      exclusive: false,
      color: 'e11d21',
      description: '',
      url: '',
    })),
    milestone: null,
    assignee: assignees[0] ? user(assignees[0], 9) : null,
    assignees: assignees.length > 0 ? assignees.map((a, i) => user(a, 9 + i)) : null,
    state: 'open',
    is_locked: false,
    comments: 0,
    created_at: '2026-01-20T10:00:00Z',
    updated_at: '2026-01-20T10:05:00Z',
    closed_at: null,
    due_date: null,
    pull_request: null,
    repository: { id: 1, name: 'shop', owner: 'alice', full_name: 'alice/shop' },
    pin_order: 0,
  };
}

const issuePayload = (action: string, labels: string[], assignees: string[] = []) => ({
  action,
  number: 3,
  issue: issue(labels, assignees),
  repository,
  sender: user('alice', 2),
  commit_id: '',
});

const headers = (event: string, type: string, delivery = '3c1e0e7d-2b1b-4c77-9d5c-000000000001') => ({
  'x-gitea-event': event,
  'x-gitea-event-type': type,
  'x-gitea-delivery': delivery,
});

test('a label change yields one candidate per label the issue has; the trigger takes its own', () => {
  const parsed = parseGiteaDelivery(
    headers('issues', 'issue_label'),
    issuePayload('label_updated', ['bug', 'shepherd']),
  );
  assert.ok(parsed.kind === 'events');
  assert.deepEqual(
    parsed.events.map((e) => [e.kind, e.label, e.deliveryId]),
    [
      ['issueLabeled', 'bug', 'alice/shop#3/label/bug'],
      ['issueLabeled', 'shepherd', 'alice/shop#3/label/shepherd'],
    ],
  );
  const event = parsed.events[1]!;
  assert.equal(event.repository, 'alice/shop');
  assert.equal(event.cloneUrl, 'http://127.0.0.1:3000/alice/shop.git');
  assert.equal(event.defaultBranch, 'main');
  assert.deepEqual(event.subject, {
    title: 'Checkout test is flaky',
    body: 'It fails one run in ten.',
    url: 'http://127.0.0.1:3000/alice/shop/issues/3',
    number: 3,
    isPullRequest: false,
    labels: ['bug', 'shepherd'],
  });
  const trigger = agentTrigger('gitea', { label: 'shepherd' });
  const matched = matchDelivery([trigger], parsed.events);
  assert.deepEqual(
    matched.map((m) => m.event.label),
    ['shepherd'],
  );
  const session = triggeredSession(trigger, matched[0]!.event);
  assert.deepEqual(session.spec.pullRequest?.forge, { type: 'gitea', url: 'http://127.0.0.1:3000' });
  assert.equal(session.spec.repos?.[0]?.url, 'http://127.0.0.1:3000/alice/shop.git');
});

test('a redelivery (new X-Gitea-Delivery), a later label, or opened-then-labelled name the same session', () => {
  const trigger = agentTrigger('gitea', { label: 'shepherd' });
  const sessionOf = (delivery: ReturnType<typeof parseGiteaDelivery>) => {
    assert.ok(delivery.kind === 'events');
    return triggeredSession(trigger, matchDelivery([trigger], delivery.events)[0]!.event).name;
  };
  const first = sessionOf(
    parseGiteaDelivery(headers('issues', 'issue_label'), issuePayload('label_updated', ['shepherd'])),
  );
  const replayed = sessionOf(
    parseGiteaDelivery(
      headers('issues', 'issue_label', 'ffffffff-2b1b-4c77-9d5c-000000000002'),
      issuePayload('label_updated', ['shepherd']),
    ),
  );
  const another = sessionOf(
    parseGiteaDelivery(headers('issues', 'issue_label'), issuePayload('label_updated', ['shepherd', 'p1'])),
  );
  const opened = sessionOf(
    parseGiteaDelivery(headers('issues', 'issues'), issuePayload('opened', ['shepherd'])),
  );
  assert.equal(replayed, first);
  assert.equal(another, first);
  assert.equal(opened, first);
});

test("an assignment yields the issue's assignees; the bot's login takes it", () => {
  const parsed = parseGiteaDelivery(
    headers('issues', 'issue_assign'),
    issuePayload('assigned', [], ['bob', 'shepherd-bot']),
  );
  assert.ok(parsed.kind === 'events');
  assert.deepEqual(
    parsed.events.map((e) => [e.kind, e.assignee, e.deliveryId]),
    [
      ['issueAssigned', 'bob', 'alice/shop#3/assignee/bob'],
      ['issueAssigned', 'shepherd-bot', 'alice/shop#3/assignee/shepherd-bot'],
    ],
  );
  assert.equal(matchDelivery([agentTrigger('gitea', { assignee: 'shepherd-bot' })], parsed.events).length, 1);
  assert.equal(matchDelivery([agentTrigger('gitea', { assignee: 'carol' })], parsed.events).length, 0);
});

test('a comment starting with the command word is a request; the bot’s own comment is not', () => {
  const comment = (body: string, by = 'alice') => ({
    action: 'created',
    issue: issue(['bug']),
    comment: {
      id: 42,
      html_url: 'http://127.0.0.1:3000/alice/shop/issues/3#issuecomment-42',
      pull_request_url: '',
      issue_url: 'http://127.0.0.1:3000/alice/shop/issues/3',
      user: user(by, 2),
      original_author: '',
      original_author_id: 0,
      body,
      assets: [],
      created_at: '2026-01-20T10:06:00Z',
      updated_at: '2026-01-20T10:06:00Z',
    },
    repository,
    sender: user(by, 2),
    is_pull: false,
  });
  const trigger = agentTrigger('gitea', { command: '/shepherd', assignee: 'shepherd-bot' });
  const parsed = parseGiteaDelivery(
    headers('issue_comment', 'issue_comment'),
    comment('/shepherd fix the flaky test'),
  );
  assert.ok(parsed.kind === 'events');
  assert.equal(parsed.events[0]!.deliveryId, 'alice/shop#3/comment/42');
  assert.deepEqual(parsed.events[0]!.links, ['http://127.0.0.1:3000/alice/shop/issues/3#issuecomment-42']);
  const [matched] = matchDelivery([trigger], parsed.events);
  assert.equal(matched?.event.text, 'fix the flaky test');

  const byBot = parseGiteaDelivery(
    headers('issue_comment', 'issue_comment'),
    comment('/shepherd again', 'shepherd-bot'),
  );
  assert.ok(byBot.kind === 'events');
  assert.equal(matchDelivery([trigger], byBot.events).length, 0);
});

test('other events and actions start nothing; a payload without its repository or issue is invalid', () => {
  assert.equal(
    parseGiteaDelivery(headers('issues', 'issues'), issuePayload('closed', ['shepherd'])).kind,
    'ignored',
  );
  assert.equal(
    parseGiteaDelivery(headers('issues', 'issues'), issuePayload('label_cleared', [])).kind,
    'ignored',
  );
  assert.equal(
    parseGiteaDelivery(
      headers('pull_request', 'pull_request_label'),
      issuePayload('label_updated', ['shepherd']),
    ).kind,
    'ignored',
  );
  assert.equal(
    parseGiteaDelivery(headers('push', 'push'), { ref: 'refs/heads/main', repository }).kind,
    'ignored',
  );
  assert.equal(
    parseGiteaDelivery(headers('issues', 'issue_label'), issuePayload('label_updated', [])).kind,
    'ignored',
  );
  assert.equal(parseGiteaDelivery({}, issuePayload('label_updated', ['shepherd'])).kind, 'invalid');
  assert.equal(
    parseGiteaDelivery(headers('issues', 'issue_label'), { action: 'label_updated', repository }).kind,
    'invalid',
  );
  // Forgejo names its headers after itself.
  assert.equal(
    parseGiteaDelivery({ 'x-forgejo-event': 'issues' }, issuePayload('label_updated', ['shepherd'])).kind,
    'events',
  );
});
