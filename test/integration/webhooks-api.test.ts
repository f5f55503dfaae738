/**
 * The webhook routes of the real app in local mode, with a real Temporal: triggers from a
 * triggers file, deliveries signed as the sources sign them, sessions started as workflows.
 * A signed Gitea delivery starts one session; the same delivery again — or Gitea's "Redeliver",
 * which sends it under a new delivery id — starts none; a forged signature and a stale Slack
 * timestamp are refused with 401, start nothing, and are logged without body or signature.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { localBackend } from '../../src/runtime/local/local-backend.js';
import type { AgentTrigger } from '../../src/resources/types.js';
import { startLocalTriggerCatalog } from '../../src/triggers/local-trigger-catalog.js';
import type { TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import type { TriggerEvent } from '../../src/triggers/trigger-event.js';
import { signDelivery } from '../../src/triggers/webhooks/signatures.js';
import { type SessionWorkflowInput, sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-webhooks-'));
const namespace = `wh-${randomSuffix()}`;
const GITEA_SECRET = 'gitea-webhook-secret-0f3c';
const SLACK_SECRET = 'slack-signing-secret-77aa';
const JIRA_SECRET = 'jira-webhook-secret-51de';
/** The API's clock: a fixed instant, so Slack's window is tested exactly. */
let nowMs = 1_767_225_600_000;
const logLines: string[] = [];
const jiraStarts: Array<{ trigger: AgentTrigger; event: TriggerEvent }> = [];
let connection: Connection;
let client: Client;
let catalog: TriggerCatalog;
let app: FastifyInstance;

const triggersFile = `
apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: labelled, namespace: ${namespace}}
spec:
  source: gitea
  match: {label: shepherd}
  forge: {url: "http://127.0.0.1:3000", credentialsSecretRef: {name: forge}}
  webhookSecretRef: {name: gitea-webhook}
  sessionTemplate: {agent: command, command: [sh, -c, "true"]}
---
apiVersion: v1
kind: Secret
metadata: {name: gitea-webhook, namespace: ${namespace}}
stringData: {secret: ${GITEA_SECRET}}
---
apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: chat, namespace: ${namespace}}
spec:
  source: slack
  match: {command: /shepherd}
  slack: {botTokenSecretRef: {name: slack}}
  webhookSecretRef: {name: slack-signing}
  sessionTemplate:
    agent: command
    command: [sh, -c, "true"]
    repos: [{url: "http://127.0.0.1:3000/alice/shop.git"}]
---
apiVersion: v1
kind: Secret
metadata: {name: slack-signing, namespace: ${namespace}}
stringData: {secret: ${SLACK_SECRET}}
---
apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: tickets, namespace: ${namespace}}
spec:
  source: jira
  match: {status: Ready for agent}
  jira: {url: "https://example.atlassian.net", credentialsSecretRef: {name: jira}}
  webhookSecretRef: {name: jira-webhook}
  sessionTemplate: {agent: command, command: [sh, -c, "true"]}
---
apiVersion: v1
kind: Secret
metadata: {name: jira-webhook, namespace: ${namespace}}
stringData: {secret: ${JIRA_SECRET}}
`;

before(async () => {
  const file = join(root, 'triggers.yaml');
  writeFileSync(file, triggersFile);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  catalog = startLocalTriggerCatalog({ file, logger: silent, env: {} });
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  app = await buildApp(
    {
      // No worker polls this task queue: the sessions only need to be started.
      backend: localBackend({ client, taskQueue: `webhooks-${randomSuffix()}`, dataDir: join(root, 'data') }),
      auth: localAuthenticator(undefined),
      metrics: createApiMetrics(false),
      webhooks: {
        catalog,
        now: () => nowMs,
        startJiraTicket: (request) => {
          jiraStarts.push(request);
          return Promise.resolve('started' as const);
        },
      },
    },
    { loggerInstance: pino({ level: 'info' }, logStream) },
  );
});

after(async () => {
  await app?.close();
  await catalog?.stop();
  await connection?.close();
  rmSync(root, { recursive: true, force: true });
});

function giteaLabelled(issue: number) {
  const repository = {
    id: 1,
    name: 'shop',
    full_name: 'alice/shop',
    html_url: 'http://127.0.0.1:3000/alice/shop',
    clone_url: 'http://127.0.0.1:3000/alice/shop.git',
    default_branch: 'main',
    owner: { id: 2, login: 'alice', username: 'alice' },
  };
  return JSON.stringify({
    action: 'label_updated',
    number: issue,
    issue: {
      id: 100 + issue,
      html_url: `http://127.0.0.1:3000/alice/shop/issues/${issue}`,
      number: issue,
      title: `Checkout test is flaky (#${issue})`,
      body: 'It fails one run in ten.',
      labels: [{ id: 1, name: 'shepherd' }],
      assignees: null,
      state: 'open',
      pull_request: null,
      repository: { id: 1, name: 'shop', owner: 'alice', full_name: 'alice/shop' },
    },
    repository,
    sender: { id: 2, login: 'alice', username: 'alice' },
    commit_id: '',
  });
}

const post = (source: string, payload: string, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url: `/api/v1/webhooks/${source}`, payload, headers });

const giteaHeaders = (body: string, delivery: string, secret = GITEA_SECRET): Record<string, string> => ({
  'content-type': 'application/json',
  'x-gitea-event': 'issues',
  'x-gitea-event-type': 'issue_label',
  'x-gitea-delivery': delivery,
  ...signDelivery('gitea', secret, body, nowMs),
});

interface Ack {
  status?: string;
  message?: string;
  sessions?: Array<{ namespace: string; name: string; trigger: string }>;
  challenge?: string;
  response_type?: string;
  text?: string;
}

async function workflowExists(name: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(sessionWorkflowId(namespace, name)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Sessions of the test's namespace, as Temporal's visibility counts them. */
async function sessionCount(): Promise<number> {
  const { count } = await client.workflow.count(`ShepherdNamespace = '${namespace}'`);
  return count;
}

test('a signed Gitea delivery starts one session; the same delivery again, or redelivered, starts none', async () => {
  const body = giteaLabelled(3);
  const first = await post('gitea', body, giteaHeaders(body, '6a0e3f0c-0000-4000-8000-000000000001'));
  assert.equal(first.statusCode, 202, first.body);
  const ack = first.json<Ack>();
  assert.equal(ack.status, 'accepted');
  assert.equal(ack.sessions?.length, 1);
  const [session] = ack.sessions;
  assert.equal(session!.namespace, namespace);
  assert.equal(session!.trigger, 'labelled');
  assert.match(session!.name, /^labelled-[0-9a-f]{10}$/);

  await app.webhookStarts.idle();
  assert.equal(await workflowExists(session!.name), true);
  // The session's spec is the trigger's template with the issue filled in.
  const history = await client.workflow.getHandle(sessionWorkflowId(namespace, session!.name)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload<SessionWorkflowInput>(
    payload!,
  );
  assert.equal(input.spec?.trigger?.name, 'labelled');
  assert.equal(input.spec?.trigger?.source, 'gitea');
  assert.equal(input.spec?.trigger?.url, 'http://127.0.0.1:3000/alice/shop/issues/3');
  assert.equal(input.spec?.repos?.[0]?.url, 'http://127.0.0.1:3000/alice/shop.git');
  assert.deepEqual(input.spec?.pullRequest?.forge, { type: 'gitea', url: 'http://127.0.0.1:3000' });
  assert.match(input.spec?.initialPrompt ?? '', /Issue #3 in alice\/shop: Checkout test is flaky/);
  assert.equal(input.labels?.['shepherd.dev/trigger'], 'labelled');

  const again = await post('gitea', body, giteaHeaders(body, '6a0e3f0c-0000-4000-8000-000000000001'));
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(again.json<Ack>().status, 'duplicate');
  assert.deepEqual(again.json<Ack>().sessions, ack.sessions);
  const redelivered = await post('gitea', body, giteaHeaders(body, '6a0e3f0c-0000-4000-8000-00000000ffff'));
  assert.equal(redelivered.statusCode, 200, redelivered.body);
  assert.equal(redelivered.json<Ack>().status, 'duplicate');
  assert.equal(app.webhookStarts.stats().succeeded, 1, 'one start was made');

  await eventually('Temporal to list the session', sessionCount, (count) => count >= 1);
  await sleep(1000);
  assert.equal(await sessionCount(), 1, 'one session in the namespace');
});

test('a forged signature is refused with 401, starts nothing, and is logged without body or signature', async () => {
  const body = giteaLabelled(4);
  const headers = giteaHeaders(body, '6a0e3f0c-0000-4000-8000-000000000004', 'not-the-secret');
  const forged = await post('gitea', body, headers);
  assert.equal(forged.statusCode, 401, forged.body);
  const error = forged.json<{ code: string; message: string; details: { reason: string } }>();
  assert.equal(error.code, 'InvalidSignature');
  assert.equal(error.details.reason, 'mismatch');
  assert.match(error.message, /X-Gitea-Signature signature does not verify/);

  const unsigned = await post('gitea', body, {
    'content-type': 'application/json',
    'x-gitea-event': 'issues',
  });
  assert.equal(unsigned.statusCode, 401);
  assert.equal(unsigned.json<{ details: { reason: string } }>().details.reason, 'missing');

  await app.webhookStarts.idle();
  const line = logLines.find((l) => l.includes('6a0e3f0c-0000-4000-8000-000000000004'));
  assert.ok(line, 'the refusal is logged with its delivery id');
  const entry = JSON.parse(line) as Record<string, unknown>;
  assert.equal(entry.msg, 'webhook delivery refused');
  assert.equal(entry.source, 'gitea');
  assert.equal(entry.reason, 'mismatch');
  assert.equal(entry.remoteAddress, '127.0.0.1');
  const everything = logLines.join('');
  assert.ok(!everything.includes('Checkout test is flaky (#4)'), 'no body in the log');
  assert.ok(!everything.includes(headers['x-gitea-signature']!), 'no signature in the log');
  assert.ok(!everything.includes(GITEA_SECRET), 'no secret in the log');
  assert.equal(await sessionCount(), 1, 'still the one session of the first test');
});

test("a stale Slack timestamp is refused with 401; a fresh slash command is answered for Slack's user", async () => {
  const form = new URLSearchParams({
    team_id: 'T1DC2JH3J',
    channel_id: 'C0LAN2Q65',
    user_id: 'U2CERLKJA',
    command: '/shepherd',
    text: 'fix the flaky test',
    response_url: 'https://hooks.slack.com/commands/T1DC2JH3J/1/abc',
    trigger_id: `398738663015.47445629121.${randomSuffix()}`,
  }).toString();
  const signedAt = nowMs;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    ...signDelivery('slack', SLACK_SECRET, form, signedAt),
  };
  nowMs = signedAt + 301_000;
  try {
    const stale = await post('slack', form, headers);
    assert.equal(stale.statusCode, 401, stale.body);
    assert.equal(stale.json<{ details: { reason: string } }>().details.reason, 'stale');
  } finally {
    nowMs = signedAt;
  }
  const fresh = await post('slack', form, headers);
  assert.equal(fresh.statusCode, 200, fresh.body);
  const ack = fresh.json<Ack>();
  assert.equal(ack.response_type, 'ephemeral');
  assert.equal(ack.status, 'accepted');
  assert.match(ack.text ?? '', new RegExp(`${namespace}/chat-`));
  // Slack's retry of the same request (X-Slack-Retry-Num) is a duplicate.
  const retried = await post('slack', form, {
    ...headers,
    'x-slack-retry-num': '1',
    'x-slack-retry-reason': 'http_timeout',
  });
  assert.equal(retried.json<Ack>().status, 'duplicate');
  await app.webhookStarts.idle();
  assert.equal(await workflowExists(ack.sessions![0]!.name), true);
});

test("Slack's URL check is answered with its challenge", async () => {
  const body = JSON.stringify({
    token: 'x',
    challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    type: 'url_verification',
  });
  const response = await post('slack', body, {
    'content-type': 'application/json',
    ...signDelivery('slack', SLACK_SECRET, body, nowMs),
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(response.json(), { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
});

test('a Jira delivery goes to the Jira starter, with no session name in the answer', async () => {
  const body = JSON.stringify({
    timestamp: 1,
    webhookEvent: 'jira:issue_updated',
    user: { accountId: 'u-1' },
    issue: {
      self: 'https://example.atlassian.net/rest/api/2/10001',
      key: 'SHOP-7',
      fields: { summary: 'Flaky', labels: [], status: { name: 'Ready for agent' } },
    },
    changelog: { id: '1', items: [{ field: 'status', fromString: 'To Do', toString: 'Ready for agent' }] },
  });
  const response = await post('jira', body, {
    'content-type': 'application/json',
    'x-atlassian-webhook-identifier': `jira-${randomSuffix()}`,
    ...signDelivery('jira', JIRA_SECRET, body, nowMs),
  });
  assert.equal(response.statusCode, 202, response.body);
  assert.deepEqual(response.json<Ack>().sessions, []);
  await app.webhookStarts.idle();
  assert.equal(jiraStarts.length, 1);
  assert.equal(jiraStarts[0]!.trigger.metadata.name, 'tickets');
  assert.deepEqual(jiraStarts[0]!.event.jira, {
    site: 'example.atlassian.net',
    key: 'SHOP-7',
    status: 'Ready for agent',
  });
});

test('an authentic body that is not JSON is 400; over 1 MiB is 413; another media type is 415', async () => {
  const notJson = '{"action": "label_updated",';
  const bad = await post('gitea', notJson, giteaHeaders(notJson, 'd-bad'));
  assert.equal(bad.statusCode, 400, bad.body);
  assert.equal(bad.json<{ code: string }>().code, 'InvalidRequest');

  const huge = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
  const tooLarge = await post('gitea', huge, giteaHeaders(huge, 'd-huge'));
  assert.equal(tooLarge.statusCode, 413, tooLarge.body);
  assert.equal(tooLarge.json<{ code: string }>().code, 'PayloadTooLarge');

  const text = await post('gitea', 'hello', { 'content-type': 'text/plain' });
  assert.equal(text.statusCode, 415, text.body);

  // An event no trigger takes is acknowledged, and starts nothing.
  const closed = giteaLabelled(5).replace('"label_updated"', '"closed"');
  const ignored = await post('gitea', closed, giteaHeaders(closed, 'd-closed'));
  assert.equal(ignored.statusCode, 200, ignored.body);
  assert.equal(ignored.json<Ack>().status, 'ignored');
});

test('the webhook routes are in the OpenAPI document, without a bearer token', async () => {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  const document = response.json<{
    paths: Record<string, { post?: { security?: unknown[]; responses: Record<string, unknown> } }>;
  }>();
  for (const source of ['github', 'gitea', 'jira', 'slack']) {
    const operation = document.paths[`/api/v1/webhooks/${source}`]?.post;
    assert.ok(operation, source);
    assert.deepEqual(operation.security, []);
    for (const status of ['200', '202', '400', '401', '413', '415', '503']) {
      assert.ok(operation.responses[status], `${source} documents ${status}`);
    }
  }
});
