/**
 * The webhook receiver's decisions, with a scripted backend: only the triggers whose secret signed
 * a delivery may take it; duplicates queue nothing; starts are retried when Temporal or Kubernetes
 * is away and given up when the session is refused; a full queue answers 429 and forgets the
 * delivery so its redelivery is taken; nothing is answered before the catalog is read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../../src/api/errors.js';
import type { NewSession } from '../../src/api/session-backend.js';
import type { AgentTrigger } from '../../src/resources/types.js';
import { sessionSpecValidator } from '../../src/triggers/template-validation.js';
import type { CatalogTrigger, TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import { signDelivery } from '../../src/triggers/webhooks/signatures.js';
import {
  createWebhookReceiver,
  type WebhookReceiverOptions,
} from '../../src/triggers/webhooks/webhook-receiver.js';
import { agentTrigger } from './support/trigger-fixtures.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const validator = sessionSpecValidator();

function catalogOf(entries: CatalogTrigger[], ready: Promise<void> = Promise.resolve()): TriggerCatalog {
  return {
    bySource: (source) => entries.filter((e) => e.trigger.spec.source === source),
    get: (ns, name) =>
      entries.find((e) => e.trigger.metadata.namespace === ns && e.trigger.metadata.name === name),
    onChange: () => undefined,
    ready: () => ready,
    stop: () => Promise.resolve(),
  };
}

function labelled(issue: number, label = 'shepherd') {
  return JSON.stringify({
    action: 'labeled',
    label: { name: label },
    issue: {
      number: issue,
      title: `Issue ${issue}`,
      html_url: `https://github.com/acme/shop/issues/${issue}`,
      labels: [{ name: label }],
    },
    repository: {
      full_name: 'acme/shop',
      clone_url: 'https://github.com/acme/shop.git',
      default_branch: 'main',
    },
    sender: { login: 'alice', type: 'User' },
  });
}

const delivery = (body: string, secret: string, id: string) => ({
  headers: {
    'content-type': 'application/json',
    'x-github-event': 'issues',
    'x-github-delivery': id,
    ...signDelivery('github', secret, body, 0),
  },
  body: Buffer.from(body),
  remoteAddress: '192.0.2.1',
});

function receiver(
  entries: CatalogTrigger[],
  create: (s: NewSession) => Promise<unknown>,
  extra: Partial<WebhookReceiverOptions> = {},
) {
  return createWebhookReceiver({
    catalog: catalogOf(entries),
    backend: { create: create as never },
    validator,
    logger: silent,
    queue: { initialBackoffMs: 5, maxBackoffMs: 20 },
    ...extra,
  });
}

const entry = (trigger: AgentTrigger, webhookSecret: string, problem?: string): CatalogTrigger => ({
  trigger,
  webhookSecret,
  ...(problem ? { problem } : {}),
});

async function ready(): Promise<void> {
  // The receiver learns that the catalog is ready on the next turn.
  await sleep(0);
}

test('only the triggers whose secret signed the delivery may take it', async () => {
  const created: string[] = [];
  const teamA = agentTrigger('github', { label: 'shepherd' }, { name: 'team-a', namespace: 'a' });
  const teamB = agentTrigger('github', { label: 'shepherd' }, { name: 'team-b', namespace: 'b' });
  const r = receiver([entry(teamA, 'secret-a'), entry(teamB, 'secret-b')], (s) => {
    created.push(`${s.namespace}/${s.name}`);
    return Promise.resolve();
  });
  await ready();
  const answer = r.receive('github', delivery(labelled(1), 'secret-b', 'd-1'));
  assert.equal(answer.statusCode, 202);
  assert.deepEqual(
    answer.body.sessions?.map((s) => s.trigger),
    ['team-b'],
  );
  await r.idle();
  assert.equal(created.length, 1);
  assert.match(created[0]!, /^b\/team-b-/);
  // Signed with neither: refused, naming the reason.
  assert.throws(
    () => r.receive('github', delivery(labelled(1), 'secret-c', 'd-2')),
    (error: unknown) =>
      error instanceof ApiError && error.code === 'InvalidSignature' && error.details.reason === 'mismatch',
  );
  await r.stop();
});

test('a redelivery answers duplicate with the same names and queues nothing', async () => {
  let calls = 0;
  const r = receiver([entry(agentTrigger('github', { label: 'shepherd' }), 's')], () => {
    calls += 1;
    return Promise.resolve();
  });
  await ready();
  const first = r.receive('github', delivery(labelled(2), 's', 'd-10'));
  const again = r.receive('github', delivery(labelled(2), 's', 'd-10'));
  assert.equal(first.statusCode, 202);
  assert.equal(again.statusCode, 200);
  assert.equal(again.body.status, 'duplicate');
  assert.deepEqual(again.body.sessions, first.body.sessions);
  await r.idle();
  assert.equal(calls, 1);
  await r.stop();
});

test('a start is retried while Temporal is away, given up when refused; AlreadyExists is done', async () => {
  const outcomes: Array<ApiError | undefined> = [
    new ApiError('TemporalUnavailable', 'down'),
    new ApiError('TemporalUnavailable', 'down'),
    undefined,
    new ApiError('InvalidSession', 'bad'),
    new ApiError('AlreadyExists', 'exists'),
  ];
  const r = receiver([entry(agentTrigger('github', { label: 'shepherd' }), 's')], () => {
    const outcome = outcomes.shift();
    return outcome ? Promise.reject(outcome) : Promise.resolve();
  });
  await ready();
  r.receive('github', delivery(labelled(3), 's', 'd-20'));
  await r.idle();
  assert.deepEqual(
    { ...r.stats(), active: 0, queued: 0 },
    { active: 0, queued: 0, succeeded: 1, failed: 0, retries: 2, refused: 0 },
  );
  r.receive('github', delivery(labelled(4), 's', 'd-21'));
  await r.idle();
  assert.equal(r.stats().failed, 1, 'InvalidSession is not retried');
  r.receive('github', delivery(labelled(5), 's', 'd-22'));
  await r.idle();
  assert.equal(r.stats().succeeded, 2, 'AlreadyExists counts as done');
  await r.stop();
});

test('a full queue answers 429 and forgets the delivery, so its redelivery is taken', async () => {
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const r = receiver([entry(agentTrigger('github', { label: 'shepherd' }), 's')], () => blocked, {
    queue: { capacity: 1, concurrency: 1 },
  });
  await ready();
  assert.equal(r.receive('github', delivery(labelled(6), 's', 'd-30')).statusCode, 202);
  assert.throws(
    () => r.receive('github', delivery(labelled(7), 's', 'd-31')),
    (error: unknown) => error instanceof ApiError && error.code === 'TooManyRequests',
  );
  release();
  await r.idle();
  assert.equal(r.receive('github', delivery(labelled(7), 's', 'd-31')).statusCode, 202);
  await r.idle();
  await r.stop();
});

test('before the catalog is read, deliveries are answered 503; a trigger with a problem starts nothing', async () => {
  let markReady: () => void = () => undefined;
  const r = createWebhookReceiver({
    catalog: catalogOf(
      [
        entry(
          agentTrigger('github', { label: 'shepherd' }),
          's',
          'spec.sessionTemplate.retries must be >= 0',
        ),
      ],
      new Promise<void>((resolve) => (markReady = resolve)),
    ),
    backend: { create: () => Promise.reject(new Error('not called')) },
    validator,
    logger: silent,
  });
  assert.throws(
    () => r.receive('github', delivery(labelled(8), 's', 'd-40')),
    (error: unknown) => error instanceof ApiError && error.code === 'TriggersNotReady',
  );
  markReady();
  await ready();
  const answer = r.receive('github', delivery(labelled(8), 's', 'd-40'));
  assert.equal(answer.statusCode, 200);
  assert.equal(answer.body.status, 'ignored');
  await r.stop();
});

test('stopping ends the backoff waits of starts that keep failing', async () => {
  const r = receiver(
    [entry(agentTrigger('github', { label: 'shepherd' }), 's')],
    () => Promise.reject(new ApiError('TemporalUnavailable', 'down')),
    {
      queue: { initialBackoffMs: 60_000, maxAttempts: 5 },
    },
  );
  await ready();
  r.receive('github', delivery(labelled(9), 's', 'd-50'));
  await sleep(20);
  const started = Date.now();
  await r.stop(10);
  assert.ok(Date.now() - started < 1000, 'the minute-long backoff was cut short');
  assert.equal(r.stats().failed, 1);
});
