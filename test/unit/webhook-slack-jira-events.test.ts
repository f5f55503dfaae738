/**
 * Slack and Jira deliveries through the parsers and the matcher. Slack's payloads are the shapes
 * its documentation shows: the slash command form of "Verifying requests from Slack" (the same body
 * as the signing example), the Events API `url_verification` and `app_mention` envelopes. Jira's
 * are Jira Cloud's webhook bodies for `jira:issue_updated` (with `changelog.items`) and
 * `jira:issue_created`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody } from '../../src/triggers/webhooks/delivery.js';
import { parseJiraDelivery, plainText } from '../../src/triggers/webhooks/jira-events.js';
import { parseSlackDelivery } from '../../src/triggers/webhooks/slack-events.js';
import { FEEDBACK_MARKER, matchDelivery, matchTrigger } from '../../src/triggers/trigger-match.js';
import { agentTrigger } from './support/trigger-fixtures.js';

// The slash command body of Slack's signing example, with text filled in.
const SLASH_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fshepherd&text=fix+the+flaky+test%0Aplease&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

const slashPayload = (body = SLASH_BODY) => {
  const decoded = decodeBody('application/x-www-form-urlencoded', Buffer.from(body), true);
  assert.ok(decoded.ok);
  return decoded.payload;
};

const mention = (text: string, extra: Record<string, unknown> = {}) => ({
  token: 'ZZZZZZWSxiZZZ2yIvs3peJ',
  team_id: 'T061EG9R6',
  api_app_id: 'A0MDYCDME',
  event: {
    type: 'app_mention',
    user: 'W021FGA1Z',
    text,
    ts: '1515449438.000011',
    channel: 'C0LAN2Q65',
    event_ts: '1515449438000011',
    ...extra,
  },
  type: 'event_callback',
  event_id: 'Ev0MDYGDKJ',
  event_time: 1515449438000011,
  authed_users: ['U0LAN0Z89'],
});

test('a slash command is an event whose request is its text; the delivery id is its trigger_id', () => {
  const parsed = parseSlackDelivery(slashPayload());
  assert.ok(parsed.kind === 'events');
  const [event] = parsed.events;
  assert.equal(event!.kind, 'slashCommand');
  assert.equal(event!.deliveryId, '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c');
  assert.equal(event!.actor, 'U2CERLKJA');
  assert.deepEqual(event!.slack, {
    channel: 'G8PSS9T3V',
    teamId: 'T1DC2JH3J',
    responseUrl: 'https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
  });
  const result = matchTrigger(agentTrigger('slack', { command: '/shepherd' }), event!);
  assert.ok(result.matches);
  assert.equal(result.event.text, 'fix the flaky test\nplease');
  assert.equal(
    matchTrigger(agentTrigger('slack', {}), event!).matches,
    true,
    'no command: any slash command',
  );
  assert.equal(matchTrigger(agentTrigger('slack', { command: '/deploy' }), event!).matches, false);
  assert.equal(matchTrigger(agentTrigger('slack', { channels: ['C999'] }), event!).matches, false);
  assert.equal(matchTrigger(agentTrigger('slack', { channels: ['G8PSS9T3V'] }), event!).matches, true);
});

test('url_verification is answered with its challenge', () => {
  assert.deepEqual(
    parseSlackDelivery({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    }),
    { kind: 'challenge', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' },
  );
});

test('an app mention is a request without the mention, replied to in its thread', () => {
  const parsed = parseSlackDelivery(mention('<@U0LAN0Z89> fix the flaky test'));
  assert.ok(parsed.kind === 'events');
  const [event] = parsed.events;
  assert.deepEqual(
    { kind: event!.kind, deliveryId: event!.deliveryId, text: event!.text, slack: event!.slack },
    {
      kind: 'appMention',
      deliveryId: 'Ev0MDYGDKJ',
      text: 'fix the flaky test',
      slack: { channel: 'C0LAN2Q65', threadTs: '1515449438.000011', inThread: false, teamId: 'T061EG9R6' },
    },
  );
  const inThread = parseSlackDelivery(mention('<@U0LAN0Z89> again', { thread_ts: '1515449000.000001' }));
  assert.ok(inThread.kind === 'events');
  assert.equal(inThread.events[0]!.slack?.threadTs, '1515449000.000001');
  assert.equal(inThread.events[0]!.slack?.inThread, true);
  // A mention needs no command word; a leading one is taken off the request.
  assert.equal(matchTrigger(agentTrigger('slack', {}), event!).matches, true);
  const withWord = parseSlackDelivery(mention('<@U0LAN0Z89> /shepherd fix it'));
  assert.ok(withWord.kind === 'events');
  const result = matchTrigger(agentTrigger('slack', { command: '/shepherd' }), withWord.events[0]!);
  assert.ok(result.matches);
  assert.equal(result.event.text, 'fix it');
});

test("bots' messages, edits, other events and Shepherd's own replies start nothing", () => {
  assert.equal(parseSlackDelivery(mention('<@U0LAN0Z89> hi', { bot_id: 'B123' })).kind, 'ignored');
  assert.equal(
    parseSlackDelivery(mention('<@U0LAN0Z89> hi', { subtype: 'message_changed' })).kind,
    'ignored',
  );
  const message = mention('hello');
  (message.event as Record<string, unknown>).type = 'message';
  assert.equal(parseSlackDelivery(message).kind, 'ignored');
  assert.equal(parseSlackDelivery({ type: 'app_rate_limited' }).kind, 'ignored');
  const echo = parseSlackDelivery(mention(`<@U0LAN0Z89> done ${FEEDBACK_MARKER}`));
  assert.ok(echo.kind === 'events');
  assert.equal(matchTrigger(agentTrigger('slack', {}), echo.events[0]!).matches, false);
  assert.equal(parseSlackDelivery(slashPayload('command=%2Fshepherd&text=x')).kind, 'invalid');
});

const SITE = 'https://example.atlassian.net';

function jiraPayload(
  webhookEvent: string,
  fields: { status: string; labels: string[] },
  items: Array<Record<string, unknown>> = [],
  accountId = '5b10ac8d82e05b22cc7d4ef5',
) {
  return {
    timestamp: 1700000000000,
    webhookEvent,
    issue_event_type_name: webhookEvent === 'jira:issue_created' ? 'issue_created' : 'issue_generic',
    user: { self: `${SITE}/rest/api/2/user?accountId=${accountId}`, accountId, displayName: 'Mia' },
    issue: {
      id: '10001',
      self: `${SITE}/rest/api/2/10001`,
      key: 'SHOP-7',
      fields: {
        summary: 'Checkout test is flaky',
        description: {
          type: 'doc',
          version: 1,
          content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Fails one run in ten.' }] }],
        },
        labels: fields.labels,
        status: { self: `${SITE}/rest/api/2/status/10001`, name: fields.status, id: '10001' },
      },
    },
    ...(items.length > 0 ? { changelog: { id: '10500', items } } : {}),
  };
}

const jiraHeaders = { 'x-atlassian-webhook-identifier': '1700000000000-abc' };

test('a ticket moved to the trigger’s status starts it; moved elsewhere, it does not', () => {
  const moved = parseJiraDelivery(
    jiraHeaders,
    jiraPayload('jira:issue_updated', { status: 'Ready for agent', labels: ['backend'] }, [
      {
        field: 'status',
        fieldtype: 'jira',
        from: '1',
        fromString: 'To Do',
        to: '10001',
        toString: 'Ready for agent',
      },
    ]),
  );
  assert.ok(moved.kind === 'events');
  assert.equal(moved.events.length, 1);
  const [event] = moved.events;
  assert.deepEqual(event!.jira, { site: 'example.atlassian.net', key: 'SHOP-7', status: 'Ready for agent' });
  assert.equal(event!.deliveryId, '1700000000000-abc');
  assert.deepEqual(event!.subject, {
    title: 'Checkout test is flaky',
    body: 'Fails one run in ten.',
    url: `${SITE}/browse/SHOP-7`,
    labels: ['backend'],
  });
  assert.equal(matchDelivery([agentTrigger('jira', { status: 'Ready for agent' })], moved.events).length, 1);
  assert.equal(matchDelivery([agentTrigger('jira', { status: 'In Review' })], moved.events).length, 0);
  assert.equal(
    matchDelivery([agentTrigger('jira', { status: 'Ready for agent', label: 'backend' })], moved.events)
      .length,
    1,
    'both set: the ticket has the label and this delivery moved it',
  );
  assert.equal(
    matchDelivery([agentTrigger('jira', { status: 'Ready for agent', label: 'frontend' })], moved.events)
      .length,
    0,
  );
  // A trigger on another Jira site, or with only a JQL, never takes it.
  assert.equal(
    matchDelivery(
      [
        agentTrigger(
          'jira',
          { status: 'Ready for agent' },
          { spec: { jira: { url: 'https://other.atlassian.net', credentialsSecretRef: { name: 'j' } } } },
        ),
      ],
      moved.events,
    ).length,
    0,
  );
  assert.equal(matchDelivery([agentTrigger('jira', { jql: 'project = SHOP' })], moved.events).length, 0);
});

test('a label added starts a label trigger; a label already there, or a status trigger, does not', () => {
  const labelled = parseJiraDelivery(
    jiraHeaders,
    jiraPayload('jira:issue_updated', { status: 'To Do', labels: ['backend', 'shepherd'] }, [
      {
        field: 'labels',
        fieldtype: 'jira',
        from: null,
        fromString: 'backend',
        to: null,
        toString: 'backend shepherd',
      },
    ]),
  );
  assert.ok(labelled.kind === 'events');
  assert.deepEqual(
    labelled.events.map((e) => [e.label, e.jira?.status]),
    [['shepherd', 'To Do']],
  );
  assert.equal(matchDelivery([agentTrigger('jira', { label: 'shepherd' })], labelled.events).length, 1);
  assert.equal(matchDelivery([agentTrigger('jira', { label: 'backend' })], labelled.events).length, 0);
  assert.equal(matchDelivery([agentTrigger('jira', { status: 'To Do' })], labelled.events).length, 0);
});

test('a created ticket counts as moved to its status and given its labels; the claiming account starts nothing', () => {
  const created = parseJiraDelivery(
    jiraHeaders,
    jiraPayload('jira:issue_created', { status: 'Ready for agent', labels: ['shepherd'] }),
  );
  assert.ok(created.kind === 'events');
  assert.equal(matchDelivery([agentTrigger('jira', { label: 'shepherd' })], created.events).length, 1);
  assert.equal(
    matchDelivery([agentTrigger('jira', { status: 'Ready for agent', label: 'shepherd' })], created.events)
      .length,
    1,
    'one delivery starts a trigger once',
  );
  const byBot = parseJiraDelivery(
    jiraHeaders,
    jiraPayload('jira:issue_created', { status: 'Ready for agent', labels: ['shepherd'] }, [], 'bot-account'),
  );
  assert.ok(byBot.kind === 'events');
  assert.equal(matchDelivery([agentTrigger('jira', { label: 'shepherd' })], byBot.events).length, 0);
});

test('other Jira events and changes start nothing; the changelog id stands in for a missing identifier', () => {
  assert.equal(parseJiraDelivery(jiraHeaders, { webhookEvent: 'comment_created' }).kind, 'ignored');
  const summaryOnly = parseJiraDelivery(
    jiraHeaders,
    jiraPayload('jira:issue_updated', { status: 'To Do', labels: [] }, [
      { field: 'summary', fieldtype: 'jira', fromString: 'a', toString: 'b' },
    ]),
  );
  assert.equal(summaryOnly.kind, 'ignored');
  const noHeader = parseJiraDelivery(
    {},
    jiraPayload('jira:issue_updated', { status: 'Done', labels: [] }, [
      { field: 'status', toString: 'Done' },
    ]),
  );
  assert.ok(noHeader.kind === 'events');
  assert.equal(noHeader.events[0]!.deliveryId, 'SHOP-7/changelog/10500');
  assert.equal(
    parseJiraDelivery({}, jiraPayload('jira:issue_created', { status: 'Done', labels: [] })).kind,
    'invalid',
  );
  assert.equal(plainText('wiki *markup*'), 'wiki *markup*');
});
