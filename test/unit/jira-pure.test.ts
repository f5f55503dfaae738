/**
 * The pure parts of the Jira source: ADF to text and back, the bounds of JQL paging, the claim
 * decision on a re-read ticket, the ticket's event, which triggers get a poll Schedule, and how
 * jira.js failures are classified (retryable or not, never quoting a credential).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, NetworkError } from 'jira.js';
import type { AgentTrigger } from '../../src/resources/types.js';
import { adfToText, textToAdf } from '../../src/triggers/jira/adf.js';
import {
  collectPages,
  findTransition,
  type JiraTicket,
  jiraSite,
} from '../../src/triggers/jira/jira-client.js';
import {
  canonicalJiraKey,
  jiraPollScheduleId,
  jiraTicketWorkflowId,
} from '../../src/triggers/jira/jira-contract.js';
import {
  classifyJiraError,
  JiraConfigError,
  JiraRefusedError,
  JiraUnavailableError,
} from '../../src/triggers/jira/jira-errors.js';
import { desiredJiraSchedules } from '../../src/triggers/jira/jira-schedules.js';
import { claimDecision, jiraTicketEvent } from '../../src/triggers/jira/jira-ticket.js';
import { webhookTicketInput } from '../../src/triggers/jira/jira-ticket-start.js';
import { triggeredSession } from '../../src/triggers/trigger-session.js';

describe('ADF', () => {
  it('turns a description into text with its structure', () => {
    const doc = {
      type: 'doc',
      version: 1,
      content: [
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Steps' }] },
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'See ' },
            {
              type: 'text',
              text: 'the log',
              marks: [{ type: 'link', attrs: { href: 'https://ci.example/1' } }],
            },
            { type: 'text', text: ' and ' },
            { type: 'mention', attrs: { id: 'abc', text: '@Ann' } },
            { type: 'hardBreak' },
            { type: 'text', text: 'run ' },
            { type: 'text', text: 'make test', marks: [{ type: 'code' }] },
          ],
        },
        {
          type: 'orderedList',
          attrs: { order: 1 },
          content: [
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'one' }] }] },
            {
              type: 'listItem',
              content: [
                { type: 'paragraph', content: [{ type: 'text', text: 'two' }] },
                {
                  type: 'bulletList',
                  content: [
                    {
                      type: 'listItem',
                      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'nested' }] }],
                    },
                  ],
                },
              ],
            },
          ],
        },
        { type: 'codeBlock', attrs: { language: 'sh' }, content: [{ type: 'text', text: 'npm test' }] },
        { type: 'rule' },
        { type: 'blockquote', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'quoted' }] }] },
        { type: 'paragraph', content: [{ type: 'inlineCard', attrs: { url: 'https://x.example/y' } }] },
        { type: 'mediaSingle', content: [{ type: 'media', attrs: { id: 'm' } }] },
      ],
    };
    assert.equal(
      adfToText(doc),
      [
        '## Steps',
        'See the log (https://ci.example/1) and @Ann\nrun `make test`',
        '1. one\n2. two\n   - nested',
        '```sh\nnpm test\n```',
        '---',
        '> quoted',
        'https://x.example/y',
        '(attachment)',
      ].join('\n\n'),
    );
  });

  it('takes a string (wiki markup) as it is, and nothing as empty', () => {
    assert.equal(adfToText('h1. Title'), 'h1. Title');
    assert.equal(adfToText(null), '');
    assert.equal(adfToText(undefined), '');
    assert.equal(adfToText(42), '');
  });

  it('stops at a depth no real ticket reaches', () => {
    let node: Record<string, unknown> = { type: 'text', text: 'deep' };
    for (let i = 0; i < 200; i += 1) node = { type: 'blockquote', content: [node] };
    const text = adfToText({ type: 'doc', version: 1, content: [node] });
    assert.ok(!text.includes('deep'), 'past the bound nothing is rendered');
  });

  it('turns text into paragraphs, hard breaks and links, with no empty text node', () => {
    const doc = textToAdf('Started: https://shepherd.example/s/1.\nSecond line\n\n\nNew paragraph\n');
    assert.deepEqual(doc, {
      type: 'doc',
      version: 1,
      content: [
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Started: ' },
            {
              type: 'text',
              text: 'https://shepherd.example/s/1',
              marks: [{ type: 'link', attrs: { href: 'https://shepherd.example/s/1' } }],
            },
            { type: 'text', text: '.' },
            { type: 'hardBreak' },
            { type: 'text', text: 'Second line' },
          ],
        },
        { type: 'paragraph', content: [{ type: 'text', text: 'New paragraph' }] },
      ],
    });
    assert.equal(adfToText(doc), 'Started: https://shepherd.example/s/1.\nSecond line\n\nNew paragraph');
  });
});

describe('JQL paging', () => {
  const pages = (total: number, pageSize: number, sameToken = false) => {
    const asked: Array<{ token: string | undefined; size: number }> = [];
    const fetch = async (token: string | undefined, size: number) => {
      asked.push({ token, size });
      const offset = token ? Number(token) : 0;
      const n = Math.min(size, pageSize, total - offset);
      const items = Array.from({ length: Math.max(n, 0) }, (_, i) => offset + i);
      const more = offset + n < total;
      return {
        items,
        ...(more ? { nextPageToken: sameToken ? (token ?? '0') : String(offset + n) } : {}),
        isLast: !more,
      };
    };
    return { asked, fetch };
  };

  it('reads every page up to the last', async () => {
    const { asked, fetch } = pages(7, 3);
    const result = await collectPages(fetch, { max: 100, pageSize: 3, maxPages: 10 });
    assert.deepEqual(result.items, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(result.complete, true);
    assert.deepEqual(
      asked.map((a) => a.token),
      [undefined, '3', '6'],
    );
  });

  it('stops at max, asking only for what is left', async () => {
    const { asked, fetch } = pages(1000, 100);
    const result = await collectPages(fetch, { max: 150, pageSize: 100, maxPages: 10 });
    assert.equal(result.items.length, 150);
    assert.equal(result.complete, false);
    assert.deepEqual(
      asked.map((a) => a.size),
      [100, 50],
    );
  });

  it('stops at maxPages when the server pages smaller than asked', async () => {
    const { asked, fetch } = pages(1000, 2);
    const result = await collectPages(fetch, { max: 100, pageSize: 100, maxPages: 5 });
    assert.equal(asked.length, 5);
    assert.equal(result.items.length, 10);
    assert.equal(result.complete, false);
  });

  it('stops when the server hands back the token it was given', async () => {
    const { asked, fetch } = pages(1000, 10, true);
    const result = await collectPages(fetch, { max: 100, pageSize: 10, maxPages: 50 });
    assert.equal(asked.length, 2, 'the second page repeats the first token: no third request');
    assert.equal(result.complete, false);
  });

  it('stops on an empty page that claims more', async () => {
    let calls = 0;
    const result = await collectPages(
      async () => {
        calls += 1;
        return { items: [], nextPageToken: `t${calls}`, isLast: false };
      },
      { max: 100, pageSize: 10, maxPages: 50 },
    );
    assert.equal(calls, 1);
    assert.deepEqual(result.items, []);
  });
});

const ticket = (over: Partial<JiraTicket> = {}): JiraTicket => ({
  key: 'ABC-1',
  url: 'https://example.atlassian.net/browse/ABC-1',
  summary: 'Fix the flaky test',
  description: 'It fails on Tuesdays.',
  status: 'To Do',
  labels: ['shepherd'],
  ...over,
});

describe('the claim decision', () => {
  it('claims a ticket still where it was found and not claimed', () => {
    assert.deepEqual(claimDecision(ticket(), { transition: 'In Progress' }, 'To Do'), { action: 'claim' });
    assert.deepEqual(claimDecision(ticket(), { assignee: 'bot' }, 'to do'), { action: 'claim' });
    assert.deepEqual(claimDecision(ticket(), undefined, undefined), { action: 'claim' });
  });

  it('leaves a ticket already in the claim status, or assigned', () => {
    const inProgress = claimDecision(
      ticket({ status: 'In Progress' }),
      { transition: 'in progress' },
      'To Do',
    );
    assert.equal(inProgress.action === 'skip' && inProgress.reason, 'AlreadyClaimed');
    const ours = claimDecision(ticket({ assignee: 'bot' }), { assignee: 'bot' }, 'To Do');
    assert.ok(
      ours.action === 'skip' && ours.reason === 'AlreadyClaimed' && /claim's account/.test(ours.message),
    );
    const theirs = claimDecision(ticket({ assignee: 'ann' }), { assignee: 'bot' }, 'To Do');
    assert.ok(theirs.action === 'skip' && /someone else/.test(theirs.message));
  });

  it('leaves a ticket that moved since it was found', () => {
    const moved = claimDecision(ticket({ status: 'Done' }), { transition: 'In Progress' }, 'To Do');
    assert.ok(
      moved.action === 'skip' && moved.reason === 'TicketMoved' && /"To Do" to "Done"/.test(moved.message),
    );
  });

  it('finds a transition by its name, else by the status it leads to', () => {
    const offered = [
      { id: '11', name: 'Start Progress', to: 'In Progress' },
      { id: '21', name: 'In Progress', to: 'Doing' },
    ];
    assert.equal(findTransition(offered, 'start progress')?.id, '11');
    assert.equal(findTransition(offered, 'In Progress')?.id, '21', 'a name match comes first');
    assert.equal(findTransition(offered, 'doing')?.id, '21');
    assert.equal(findTransition(offered, 'Done'), undefined);
  });
});

const jiraTrigger = (over: Partial<AgentTrigger['spec']> = {}, name = 'tickets'): AgentTrigger => ({
  apiVersion: 'shepherd.dev/v1alpha1',
  kind: 'AgentTrigger',
  metadata: { name, namespace: 'team-a' },
  spec: {
    source: 'jira',
    match: { jql: 'project = ABC AND status = "To Do"' },
    sessionTemplate: { agent: 'claude', initialPrompt: 'Fix what the ticket asks.' },
    jira: {
      url: 'https://example.atlassian.net/',
      credentialsSecretRef: { name: 'jira' },
      pollInterval: '30s',
    },
    ...over,
  },
});

describe('the ticket event and ids', () => {
  it('builds the session from the ticket, with the delivery id of the claim', () => {
    const event = jiraTicketEvent({
      site: 'example.atlassian.net',
      ticket: ticket(),
      deliveryId: 'ABC-1/run-1',
      webhookEvent: {
        source: 'jira',
        kind: 'jiraTicket',
        deliveryId: 'wh-1',
        actor: 'ann',
        subject: {},
        links: ['https://example.atlassian.net/browse/ABC-1?focusedCommentId=5'],
      },
    });
    assert.equal(event.deliveryId, 'ABC-1/run-1');
    assert.equal(event.actor, 'ann');
    const session = triggeredSession(jiraTrigger(), event);
    assert.match(
      session.spec.initialPrompt ?? '',
      /^Fix what the ticket asks\.\n\nJira ticket ABC-1: Fix the flaky test\n\nIt fails on Tuesdays\./,
    );
    assert.deepEqual(session.spec.trigger?.ids, {
      deliveryId: 'ABC-1/run-1',
      site: 'example.atlassian.net',
      key: 'ABC-1',
    });
    const again = triggeredSession(jiraTrigger(), { ...event });
    assert.equal(again.name, session.name, 'a retried create meets the same session');
    assert.notEqual(
      triggeredSession(jiraTrigger(), { ...event, deliveryId: 'ABC-1/run-2' }).name,
      session.name,
    );
  });

  it('names one workflow per site and key, whatever case the key came in', () => {
    assert.equal(canonicalJiraKey('abc-12'), 'ABC-12');
    assert.equal(canonicalJiraKey('ABC-12/../x'), undefined);
    assert.equal(canonicalJiraKey('12-ABC'), undefined);
    assert.equal(
      jiraTicketWorkflowId('example.atlassian.net', 'ABC-12'),
      'jira/example.atlassian.net/ABC-12',
    );
    assert.equal(jiraPollScheduleId('team-a', 'tickets'), 'jira-poll/team-a/tickets');
    assert.equal(jiraSite('https://Example.atlassian.net/'), 'example.atlassian.net');
    assert.throws(() => jiraSite('example.atlassian.net'), JiraConfigError);
    assert.throws(() => jiraSite('ftp://example.atlassian.net'), JiraConfigError);
  });

  it('starts a webhook ticket on the trigger site, and refuses an event without a key', () => {
    const event = { source: 'jira' as const, kind: 'jiraTicket' as const, deliveryId: 'wh-1', subject: {} };
    const input = webhookTicketInput(jiraTrigger(), {
      ...event,
      jira: { site: 'other.example', key: 'abc-3', status: 'To Do' },
    });
    assert.deepEqual(
      { site: input.site, key: input.key, seenStatus: input.seenStatus, origin: input.origin },
      { site: 'example.atlassian.net', key: 'ABC-3', seenStatus: 'To Do', origin: 'webhook' },
    );
    assert.throws(() => webhookTicketInput(jiraTrigger(), event), /names no ticket key/);
  });
});

describe('poll Schedules wanted', () => {
  it('one per usable jira trigger with a JQL, at its interval', () => {
    const { schedules, problems } = desiredJiraSchedules([
      { trigger: jiraTrigger() },
      { trigger: jiraTrigger({ match: {} }, 'webhook-only') },
      { trigger: jiraTrigger({}, 'broken'), problem: 'Secret jira is missing' },
      { trigger: { ...jiraTrigger({}, 'forge'), spec: { ...jiraTrigger().spec, source: 'github' } } },
      {
        trigger: jiraTrigger(
          { jira: { url: 'https://x', credentialsSecretRef: { name: 'j' }, pollInterval: '5s' } },
          'too-fast',
        ),
      },
      {
        trigger: jiraTrigger(
          { jira: { url: 'https://x', credentialsSecretRef: { name: 'j' } } },
          'default-interval',
        ),
      },
    ]);
    assert.deepEqual(schedules, [
      { scheduleId: 'jira-poll/team-a/tickets', namespace: 'team-a', trigger: 'tickets', intervalMs: 30_000 },
      {
        scheduleId: 'jira-poll/team-a/default-interval',
        namespace: 'team-a',
        trigger: 'default-interval',
        intervalMs: 60_000,
      },
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /spec\.jira\.pollInterval "5s" is shorter than 10s/);
  });
});

describe('Jira failures', () => {
  const context = {
    site: 'example.atlassian.net',
    action: 'reading ticket ABC-1',
    credentialsSecret: 'jira',
  };

  it('retries outages and rate limits, not refusals, and quotes Jira but no credential', () => {
    const refused = classifyJiraError(
      new ApiError('Request failed: 401 - token s3cret', 401, 'Unauthorized', {
        errorMessages: ['You do not have permission'],
      }),
      context,
    );
    assert.ok(refused instanceof JiraRefusedError);
    assert.equal(refused.status, 401);
    assert.match(
      refused.message,
      /Jira at example\.atlassian\.net refused reading ticket ABC-1 \(HTTP 401\): You do not have permission; check the email and apiToken in Secret jira/,
    );
    assert.ok(
      !refused.message.includes('s3cret'),
      'jira.js message (with the raw response) is not passed on',
    );

    const down = classifyJiraError(new ApiError('x', 503, 'Unavailable', ''), context);
    assert.ok(down instanceof JiraUnavailableError);
    const network = classifyJiraError(
      new NetworkError('fetch failed', { cause: new Error('x'), code: 'ECONNREFUSED', transient: true }),
      context,
    );
    assert.ok(network instanceof JiraUnavailableError);
    assert.match(
      network.message,
      /could not reach Jira at example\.atlassian\.net while reading ticket ABC-1 \(ECONNREFUSED\)/,
    );
    const limited = classifyJiraError(new ApiError('x', 429, 'Too Many', ''), context);
    assert.ok(limited instanceof JiraUnavailableError, 'a 429 is retried');
  });
});
