/**
 * The matching rules on hand-made events: the command word, the source, the filters that narrow
 * every event, the field each kind of event needs, the loop guards, and one session per trigger
 * per delivery.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TriggerEvent } from '../../src/triggers/trigger-event.js';
import {
  commandRequest,
  FEEDBACK_MARKER,
  matchDelivery,
  matchTrigger,
} from '../../src/triggers/trigger-match.js';
import { agentTrigger } from './support/trigger-fixtures.js';

const comment = (text: string, actor = 'alice'): TriggerEvent => ({
  source: 'github',
  kind: 'comment',
  deliveryId: 'd-1',
  repository: 'acme/shop',
  actor,
  subject: { number: 3, title: 'Flaky test' },
  text,
});

test('the command word starts the comment, ignoring case; the rest, trimmed, is the request', () => {
  assert.equal(commandRequest('/shepherd fix the flaky test', '/shepherd'), 'fix the flaky test');
  assert.equal(commandRequest('  /Shepherd\n\nfix it\n', '/shepherd'), 'fix it');
  assert.equal(commandRequest('/shepherd', '/shepherd'), '');
  assert.equal(commandRequest('/shepherding now', '/shepherd'), undefined);
  assert.equal(commandRequest('please /shepherd fix', '/shepherd'), undefined);
  assert.equal(commandRequest('', '/shepherd'), undefined);
});

test('a comment matches only a trigger of its source with that command word', () => {
  const event = comment('/shepherd fix it');
  const result = matchTrigger(agentTrigger('github', { command: '/shepherd' }), event);
  assert.ok(result.matches);
  assert.equal(result.event.text, 'fix it');
  assert.equal(event.text, '/shepherd fix it', 'the event itself is not changed');
  assert.equal(matchTrigger(agentTrigger('gitea', { command: '/shepherd' }), event).matches, false);
  assert.equal(matchTrigger(agentTrigger('github', { label: 'shepherd' }), event).matches, false);
  assert.equal(matchTrigger(agentTrigger('github', { command: '/bot' }), event).matches, false);
});

test("comments by the trigger's bot, or with Shepherd's marker, never match", () => {
  const trigger = agentTrigger('github', { command: '/shepherd', assignee: 'Shepherd-Bot' });
  assert.equal(matchTrigger(trigger, comment('/shepherd again', 'shepherd-bot')).matches, false);
  assert.equal(matchTrigger(trigger, comment(`/shepherd done ${FEEDBACK_MARKER}`)).matches, false);
  const refused = matchTrigger(trigger, comment('/shepherd again', 'shepherd-bot'));
  assert.ok(!refused.matches);
  assert.match(refused.reason, /by the bot/);
});

test('labels and assignees compare without case; repositories narrow every event', () => {
  const labeled: TriggerEvent = {
    source: 'github',
    kind: 'issueLabeled',
    deliveryId: 'd-2',
    repository: 'acme/shop',
    label: 'Shepherd',
    subject: {},
  };
  assert.equal(matchTrigger(agentTrigger('github', { label: 'shepherd' }), labeled).matches, true);
  assert.equal(
    matchTrigger(agentTrigger('github', { label: 'shepherd', repositories: ['acme/other'] }), labeled)
      .matches,
    false,
  );
  assert.equal(matchTrigger(agentTrigger('github', { assignee: 'shepherd' }), labeled).matches, false);
});

test('a delivery starts each trigger once, for the first candidate it matches', () => {
  const candidates: TriggerEvent[] = ['bug', 'shepherd', 'SHEPHERD'].map((label) => ({
    source: 'gitea',
    kind: 'issueLabeled',
    deliveryId: `acme/shop#3/label/${label}`,
    repository: 'acme/shop',
    label,
    subject: {},
  }));
  const matched = matchDelivery(
    [
      agentTrigger('gitea', { label: 'shepherd' }, { name: 'a' }),
      agentTrigger('gitea', { label: 'bug' }, { name: 'b' }),
      agentTrigger('gitea', { label: 'docs' }, { name: 'c' }),
    ],
    candidates,
  );
  assert.deepEqual(
    matched.map((m) => [m.trigger.metadata.name, m.event.deliveryId]),
    [
      ['a', 'acme/shop#3/label/shepherd'],
      ['b', 'acme/shop#3/label/bug'],
    ],
  );
});
