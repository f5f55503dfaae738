/**
 * Follow-ups through the webhook receiver, from GitHub's own example payloads (validated against
 * GitHub's schemas, then signed as GitHub signs them) to the session port, with the forge reached
 * through the real GitHub adapter on a server that allows only what GitHub's published OpenAPI
 * description allows (test/support/openapi-server.ts). A comment on the diff of a session's pull
 * request reaches the session's prompt with the whole thread and its position; the same comment on
 * another repository's pull request reaches nothing; a refusal is replied on the pull request with
 * the marker; a comment on the conversation tab has its head branch read from the forge; a closed
 * pull request is signalled; a redelivery is one prompt; a finished session is replied to, or a
 * command word starts a new session as before; a Slack thread reply is a prompt and its refusal a
 * reply in the thread.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NewSession } from '../../src/api/session-backend.js';
import type { AgentSessionSpec, AgentTrigger, Phase } from '../../src/resources/types.js';
import type { PromptOutcome } from '../../src/session-client/session-commands.js';
import type { FollowUpDeps, FollowUpSession } from '../../src/triggers/conversations/follow-up-ports.js';
import { followUpSource } from '../../src/triggers/conversations/follow-up-source.js';
import type { SlackReply } from '../../src/triggers/slack/slack-reply.js';
import { sessionSpecValidator } from '../../src/triggers/template-validation.js';
import type { CatalogTrigger, TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import { FEEDBACK_MARKER } from '../../src/triggers/trigger-match.js';
import { THREAD_LABEL } from '../../src/triggers/trigger-session.js';
import { signDelivery } from '../../src/triggers/webhooks/signatures.js';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/triggers/webhooks/webhook-receiver.js';
import type { PromptInput, PullRequestClosed } from '../../src/workflows/session-contract.js';
import {
  type ApiRequest,
  type OpenApiServer,
  type OperationHandler,
  startOpenApiServer,
} from '../support/openapi-server.js';
import { assertGitHubShape, gitHubExamples } from './support/github-webhooks.js';
import { agentTrigger } from './support/trigger-fixtures.js';

type ReviewCommentCreated = import('@octokit/webhooks-types').PullRequestReviewCommentCreatedEvent;
type IssueCommentCreated = import('@octokit/webhooks-types').IssueCommentCreatedEvent;
type PullRequestClosedEvent = import('@octokit/webhooks-types').PullRequestClosedEvent;

const TOKEN = 'ghp_FollowUpTokenThatMustNeverShowUp0123';
const SECRET = 'github-webhook-secret-7d1e';
const REPO = 'Codertocat/Hello-World';
const SESSION = 'shop-0a1b2c3d4e';
const NAMESPACE = 'team-a';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A payload from GitHub's examples, changed by the test and checked against GitHub's schema again. */
function example<T>(
  event: string,
  action: string,
  change: (p: T) => void,
  pick = (_: Record<string, unknown>) => true,
): string {
  const found = gitHubExamples(event).valid.find((e) => e.action === action && pick(e.payload));
  assert.ok(found, `an example of ${event}.${action}`);
  const payload = structuredClone(found.payload) as unknown as T;
  change(payload);
  assertGitHubShape(event, payload as unknown as Record<string, unknown>);
  return JSON.stringify(payload);
}

/** A comment on line 265 of README.md, replying to the thread's first comment (id 1). */
const reviewReply = (body: string, repository = REPO, head = `shepherd/${SESSION}`) =>
  example<ReviewCommentCreated>(
    'pull_request_review_comment',
    'created',
    (p) => {
      p.comment.body = body;
      p.comment.id = 3;
      p.comment.in_reply_to_id = 1;
      p.comment.user.login = 'bob';
      p.sender.login = 'bob';
      p.repository.full_name = repository;
      p.pull_request.head.ref = head;
      p.pull_request.head.repo.full_name = repository;
    },
    (p) => (p.comment as { line?: number }).line === 265,
  );

const delivery = (event: string, body: string, id: string) => ({
  headers: {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': id,
    ...signDelivery('github', SECRET, body, 0),
  },
  body: Buffer.from(body),
  remoteAddress: '192.0.2.1',
});

/** GitHub's state: the pull request #2 of the examples, its review thread, the comments written. */
function fakeGitHub(server: () => OpenApiServer) {
  const comments: Array<{ issue: number; body: string }> = [];
  const thread = [
    { id: 1, body: 'Maybe you should use more emoji on this line.', login: 'alice' },
    { id: 2, body: 'Which ones?', login: 'carol', replyTo: 1 },
    { id: 3, body: '@shepherd-bot add a rocket and a sparkle', login: 'bob', replyTo: 1 },
    { id: 4, body: 'Unrelated thread on another line', login: 'dave' },
  ];
  let head = `shepherd/${SESSION}`;
  const reviewComment = (c: (typeof thread)[number]) => {
    const [first] = server().example('pulls/list-review-comments') as unknown as Array<
      Record<string, unknown>
    >;
    const user = first!.user as Record<string, unknown>;
    return {
      ...first,
      id: c.id,
      body: c.body,
      user: { ...user, login: c.login },
      path: 'README.md',
      line: 265,
      diff_hunk: '@@ -260,6 +260,7 @@\n # Hello-World\n+Hello there',
      ...(c.replyTo ? { in_reply_to_id: c.replyTo } : {}),
    };
  };
  const handlers: Record<string, OperationHandler> = {
    'pulls/list-review-comments': (request: ApiRequest) => ({
      status: 200,
      body: Number(request.query.page ?? 1) === 1 ? thread.map(reviewComment) : [],
    }),
    'pulls/get': () => {
      const pr = server().example('pulls/get');
      const headObject = pr.head as Record<string, unknown>;
      const repo = headObject.repo as Record<string, unknown>;
      return {
        status: 200,
        body: {
          ...pr,
          number: 2,
          requested_teams: [],
          head: { ...headObject, ref: head, repo: { ...repo, full_name: REPO } },
        },
      };
    },
    'issues/create-comment': (request: ApiRequest) => {
      const issue = Number(request.params.issue_number);
      comments.push({ issue, body: (request.body as { body: string }).body });
      const created = server().example('issues/create-comment', 201);
      return {
        status: 201,
        body: { ...created, html_url: `https://github.com/${REPO}/pull/${issue}#c${comments.length}` },
      };
    },
  };
  return {
    comments,
    handlers,
    setHead(branch: string) {
      head = branch;
    },
  };
}

/** A session of the `shop` trigger working on the examples' repository. */
function session(
  name: string,
  phase: Phase,
  spec: Partial<AgentSessionSpec> = {},
): FollowUpSession & { labels: Record<string, string> } {
  return {
    namespace: NAMESPACE,
    name,
    phase,
    created: '2026-01-01T00:00:00Z',
    labels: {},
    spec: {
      repos: [{ url: `https://github.com/${REPO}.git` }],
      trigger: { name: 'shop', source: 'github', ids: { repository: REPO, issue: '1' } },
      ...spec,
    },
  };
}

describe('follow-ups from GitHub', () => {
  let server: OpenApiServer;
  let github: ReturnType<typeof fakeGitHub>;
  let receiver: WebhookReceiver;
  let sessions: Array<ReturnType<typeof session>>;
  let prompts: Array<{ namespace: string; name: string; input: PromptInput; updateId: string }>;
  let closed: Array<{ name: string; closed: PullRequestClosed }>;
  let created: NewSession[];
  let outcome: PromptOutcome;
  const trigger: AgentTrigger = agentTrigger(
    'github',
    { command: '/shepherd', mention: 'shepherd-bot' },
    { name: 'shop', namespace: NAMESPACE },
  );

  before(async () => {
    github = fakeGitHub(() => server);
    server = await startOpenApiServer({
      handlers: github.handlers,
      authenticate: (request) =>
        request.headers.authorization === `token ${TOKEN}` ? undefined : 'Bad credentials',
    });
  });
  after(() => server.close());

  beforeEach(() => {
    sessions = [session(SESSION, 'Idle')];
    prompts = [];
    closed = [];
    created = [];
    outcome = { outcome: 'accepted', turn: 2 };
    github.comments.splice(0);
    github.setHead(`shepherd/${SESSION}`);
    const followUps: FollowUpDeps = {
      sessions: {
        inThread: (ns, thread) =>
          Promise.resolve(sessions.filter((s) => s.namespace === ns && s.labels[THREAD_LABEL] === thread)),
        get: (ns, name) => Promise.resolve(sessions.find((s) => s.namespace === ns && s.name === name)),
      },
      signals: {
        sendPrompt(namespace, name, input, updateId) {
          prompts.push({ namespace, name, input, updateId });
          return Promise.resolve(outcome);
        },
        pullRequestClosed(_ns, name, c) {
          closed.push({ name, closed: c });
          return Promise.resolve(true);
        },
      },
      source: followUpSource({
        secrets: {
          read: (ns, ref) => Promise.resolve(ns === NAMESPACE && ref.key === 'token' ? TOKEN : undefined),
        },
        forges: [{ type: 'github', url: 'https://github.com', apiUrl: server.url }],
      }),
    };
    const entries: CatalogTrigger[] = [{ trigger, webhookSecret: SECRET }];
    const catalog: TriggerCatalog = {
      bySource: (source) => entries.filter((e) => e.trigger.spec.source === source),
      get: () => undefined,
      onChange: () => undefined,
      ready: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
    receiver = createWebhookReceiver({
      catalog,
      backend: {
        create: (s) => {
          created.push(s);
          return Promise.resolve(undefined as never);
        },
      },
      validator: sessionSpecValidator(),
      logger: silent,
      queue: { initialBackoffMs: 5, maxBackoffMs: 20 },
      followUps,
    });
  });

  const receive = async (event: string, body: string, id: string) => {
    await sleep(0); // the receiver learns on the next turn that the catalog is ready
    const answer = receiver.receive('github', delivery(event, body, id));
    await receiver.idle();
    return answer;
  };
  const noRefusals = () => assert.deepEqual(server.refusals, []);

  it('a comment on the diff of the session’s pull request is its prompt, with the thread and the position', async () => {
    const answer = await receive(
      'pull_request_review_comment',
      reviewReply('@shepherd-bot add a rocket and a sparkle'),
      'g-1',
    );
    assert.equal(answer.statusCode, 202);
    assert.match(answer.body.message ?? '', /passing this on to the session/);
    assert.equal(prompts.length, 1);
    const [sent] = prompts;
    assert.equal(sent!.name, SESSION);
    assert.equal(sent!.namespace, NAMESPACE);
    assert.deepEqual(
      { source: sent!.input.source, author: sent!.input.author },
      { source: 'github', author: 'bob' },
    );
    const prompt = sent!.input.prompt;
    assert.match(prompt, /^A comment on the diff from bob on pull request #2 in Codertocat\/Hello-World/);
    assert.match(prompt, /@shepherd-bot add a rocket and a sparkle/);
    assert.match(
      prompt,
      /On README\.md, line 265:\n```diff\n@@ -1 \+1 @@/,
      'the position and hunk from the payload',
    );
    assert.match(
      prompt,
      /The whole thread on this line, oldest first:\n- alice: Maybe you should use more emoji on this line\.\n- carol: Which ones\?\n- bob: @shepherd-bot add a rocket/,
    );
    assert.doesNotMatch(prompt, /Unrelated thread/);
    assert.equal(sent!.updateId, 'follow-up/github/g-1');
    assert.equal(created.length, 0, 'no new session');
    assert.deepEqual(github.comments, [], 'an accepted prompt is not replied to');
    noRefusals();
  });

  it('the same comment on another repository’s pull request reaches no session', async () => {
    const answer = await receive(
      'pull_request_review_comment',
      reviewReply('@shepherd-bot add a rocket', 'acme/other'),
      'g-2',
    );
    assert.equal(answer.statusCode, 202);
    assert.deepEqual(prompts, []);
    assert.deepEqual(github.comments, []);
    assert.equal(created.length, 0);
  });

  it('a comment that addresses nobody is not a prompt, and is answered as ignored', async () => {
    const answer = await receive('pull_request_review_comment', reviewReply('looks good to me'), 'g-3');
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.body.status, 'ignored');
    assert.deepEqual(prompts, []);
  });

  it('a refused prompt is replied on the pull request with the reason and the marker', async () => {
    outcome = {
      outcome: 'refused',
      message: `session ${SESSION} is running turn 2: send the prompt when it is Idle`,
    };
    await receive('pull_request_review_comment', reviewReply('/shepherd add a rocket'), 'g-4');
    assert.equal(prompts.length, 1);
    assert.equal(
      prompts[0]!.input.prompt.includes('\nadd a rocket\n'),
      true,
      'the command word is taken off',
    );
    assert.equal(github.comments.length, 1);
    const [reply] = github.comments;
    assert.equal(reply!.issue, 2);
    assert.match(
      reply!.body,
      new RegExp(
        `could not pass this on to session \`${NAMESPACE}/${SESSION}\`: session ${SESSION} is running turn 2`,
      ),
    );
    assert.ok(reply!.body.endsWith(FEEDBACK_MARKER), 'the reply starts nothing');
    assert.doesNotMatch(reply!.body, new RegExp(TOKEN));
    assert.equal(created.length, 0, 'the command word went to the session, not to a new one');
    noRefusals();
  });

  it('a comment on the conversation tab has its head branch read from GitHub', async () => {
    // GitHub's examples comment on issues; on a pull request the issue names it (issue.pull_request).
    const body = example<IssueCommentCreated>('issue_comment', 'created', (p) => {
      p.comment.body = '@shepherd-bot also update the changelog';
      p.repository.full_name = REPO;
      p.issue.number = 2;
      p.issue.pull_request = {
        url: `https://api.github.com/repos/${REPO}/pulls/2`,
        html_url: `https://github.com/${REPO}/pull/2`,
        diff_url: `https://github.com/${REPO}/pull/2.diff`,
        patch_url: `https://github.com/${REPO}/pull/2.patch`,
        merged_at: null,
      };
    });
    await receive('issue_comment', body, 'g-5');
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]!.name, SESSION);
    assert.match(
      prompts[0]!.input.prompt,
      /^A comment from \S+ on pull request #2 in Codertocat\/Hello-World/,
    );
    assert.ok(server.requests.some((r) => r.operationId === 'pulls/get'));
    noRefusals();
  });

  it('a redelivery is answered duplicate and prompts nothing again', async () => {
    await receive('pull_request_review_comment', reviewReply('@shepherd-bot add a rocket'), 'g-6');
    const again = await receive(
      'pull_request_review_comment',
      reviewReply('@shepherd-bot add a rocket'),
      'g-6',
    );
    assert.equal(again.body.status, 'duplicate');
    assert.equal(prompts.length, 1);
  });

  it('a merged pull request is signalled to its session; one of a finished session is not', async () => {
    const closedPr = (merged: boolean) =>
      example<PullRequestClosedEvent>('pull_request', 'closed', (p) => {
        p.repository.full_name = REPO;
        p.pull_request.head.ref = `shepherd/${SESSION}`;
        p.pull_request.head.repo!.full_name = REPO;
        p.pull_request.merged = merged;
      });
    const answer = await receive('pull_request', closedPr(true), 'g-7');
    assert.equal(answer.statusCode, 202);
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.name, SESSION);
    assert.equal(closed[0]!.closed.merged, true);
    assert.match(closed[0]!.closed.url, /^https:\/\/github\.com\//);
    sessions[0]!.phase = 'Succeeded';
    await receive('pull_request', closedPr(false), 'g-8');
    assert.equal(closed.length, 1);
    assert.deepEqual(github.comments, []);
  });

  it('a finished session: a mention is told so; a command word starts a new session as before', async () => {
    sessions[0]!.phase = 'Succeeded';
    await receive('pull_request_review_comment', reviewReply('@shepherd-bot add a rocket'), 'g-9');
    assert.deepEqual(prompts, []);
    assert.equal(github.comments.length, 1);
    assert.match(github.comments[0]!.body, /has finished \(Succeeded\) and takes no more prompts/);
    assert.equal(created.length, 0);

    const answer = await receive(
      'pull_request_review_comment',
      reviewReply('/shepherd add a rocket'),
      'g-10',
    );
    assert.equal(
      answer.body.sessions?.length,
      1,
      'the answer names the session that starts when none takes it',
    );
    assert.equal(created.length, 1);
    assert.equal(github.comments.length, 1, 'no reply: the new session answers');
    assert.match(created[0]!.spec.initialPrompt ?? '', /On README\.md, line 265/);
  });
});

describe('follow-ups from Slack', () => {
  const SLACK_SECRET = 'slack-signing-secret-f00d';
  const slack = agentTrigger('slack', { command: '/shepherd' }, { name: 'chat', namespace: NAMESPACE });
  const thread = { channel: 'C1', ts: '1700000000.000100' };

  it('a reply in the session’s thread is a prompt; a refusal is a reply in the thread', async () => {
    const prompts: PromptInput[] = [];
    const replies: SlackReply[] = [];
    const mine = session('chat-1a2b3c4d5e', 'Running', {
      trigger: { name: 'chat', source: 'slack', ids: { channel: thread.channel, threadTs: thread.ts } },
    });
    const { threadKey } = await import('../../src/triggers/trigger-session.js');
    mine.labels[THREAD_LABEL] = threadKey('slack', { channel: thread.channel, threadTs: thread.ts })!;
    const receiver = createWebhookReceiver({
      catalog: {
        bySource: (source) => (source === 'slack' ? [{ trigger: slack, webhookSecret: SLACK_SECRET }] : []),
        get: () => undefined,
        onChange: () => undefined,
        ready: () => Promise.resolve(),
        stop: () => Promise.resolve(),
      },
      backend: { create: () => Promise.reject(new Error('no new session')) },
      validator: sessionSpecValidator(),
      logger: silent,
      now: () => 1_700_000_000_000,
      followUps: {
        sessions: {
          inThread: (_ns, key) => Promise.resolve(mine.labels[THREAD_LABEL] === key ? [mine] : []),
          get: () => Promise.resolve(undefined),
        },
        signals: {
          sendPrompt: (_ns, _name, input) => {
            prompts.push(input);
            return Promise.resolve({
              outcome: 'refused',
              message: 'session chat-1a2b3c4d5e is running turn 1',
            });
          },
          pullRequestClosed: () => Promise.resolve(false),
        },
        source: followUpSource({
          secrets: {
            read: (_ns, ref) => Promise.resolve(ref.key === 'botToken' ? 'xoxb-follow-up-token' : undefined),
          },
          slackReply: (_token, reply) => {
            replies.push(reply);
            return Promise.resolve();
          },
        }),
      },
    });
    await sleep(0);
    const body = JSON.stringify({
      type: 'event_callback',
      event_id: 'Ev42',
      team_id: 'T1',
      authorizations: [{ user_id: 'UAPP' }],
      event: {
        type: 'message',
        channel: thread.channel,
        user: 'U7',
        text: 'also the footer',
        ts: '1700000050.000300',
        thread_ts: thread.ts,
      },
    });
    const answer = receiver.receive('slack', {
      headers: {
        'content-type': 'application/json',
        ...signDelivery('slack', SLACK_SECRET, body, 1_700_000_000_000),
      },
      body: Buffer.from(body),
      remoteAddress: '192.0.2.1',
    });
    assert.equal(answer.statusCode, 202);
    await receiver.idle();
    assert.equal(prompts.length, 1);
    assert.deepEqual(
      { source: prompts[0]!.source, author: prompts[0]!.author },
      { source: 'slack', author: 'U7' },
    );
    assert.match(
      prompts[0]!.prompt,
      /^A reply from U7 on the Slack thread of this session:\n\nalso the footer/,
    );
    assert.equal(replies.length, 1);
    assert.deepEqual(
      { channel: replies[0]!.channel, threadTs: replies[0]!.threadTs },
      { channel: 'C1', threadTs: thread.ts },
    );
    assert.match(
      replies[0]!.text,
      /could not pass this on to session `team-a\/chat-1a2b3c4d5e`: session chat-1a2b3c4d5e is running turn 1/,
    );
    await receiver.stop();
  });
});
