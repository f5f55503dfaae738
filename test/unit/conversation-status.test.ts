/**
 * The status of a conversation as pure functions: turns recorded and bounded, usage summed over
 * turns, the Idle and WaitingForInput phases with what they tell the user, and which prompts a
 * session refuses and how it says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import {
  addUsage,
  conversationIdle,
  firstTurnSource,
  MAX_TURNS,
  questionAsked,
  turnEnded,
  turnRecorded,
  turnStarted,
} from '../../src/workflows/conversation-status.js';
import { promptRefusal, type PromptTarget } from '../../src/workflows/prompt-refusal.js';
import { MAX_PROMPT_CHARS } from '../../src/workflows/session-contract.js';

const now = new Date('2026-12-02T10:00:00Z');
const base: AgentSessionStatus = { phase: 'Running', conditions: [] };

describe('turns', () => {
  it('a turn begins with its first attempt, drops an answered question, and from turn 2 on provisions again', () => {
    const first = turnStarted(base, { number: 1, source: 'spec' }, 1, now);
    assert.equal(first.phase, 'Running');
    assert.deepEqual(first.turns, [
      { number: 1, source: 'spec', startTime: '2026-12-02T10:00:00.000Z', firstAttempt: 1, lastAttempt: 1 },
    ]);
    const asked = { ...first, question: { text: 'which?', turn: 1, askedTime: now.toISOString() } };
    const second = turnStarted(asked, { number: 2, source: 'github', author: 'octocat' }, 3, now);
    assert.equal(second.phase, 'Provisioning');
    assert.equal(second.question, undefined);
    assert.equal(second.turns?.[1]?.author, 'octocat');
  });

  it("a run's first turn comes from the trigger's source, or from the spec", () => {
    assert.equal(firstTurnSource('gitea'), 'gitea');
    assert.equal(firstTurnSource('slack'), 'slack');
    assert.equal(firstTurnSource(undefined), 'spec');
    assert.equal(firstTurnSource('cron'), 'spec', 'a source that is no prompt source');
  });

  it('keeps the last MAX_TURNS turns', () => {
    let status = base;
    for (let n = 1; n <= MAX_TURNS + 5; n += 1)
      status = turnStarted(status, { number: n, source: 'api' }, n, now);
    assert.equal(status.turns?.length, MAX_TURNS);
    assert.equal(status.turns?.[0]?.number, 6);
  });

  it("records the runner's summary, commit and usage in the turn, and sums the session's usage", () => {
    const started = turnStarted(base, { number: 2, source: 'api' }, 2, now);
    const termination = {
      exitCode: 0,
      message: JSON.stringify({
        summary: 'x'.repeat(5000),
        repos: [{ url: 'https://git.example.com/a.git', commit: 'abc123', status: 'Pushed' }],
        usage: { inputTokens: 10, costUsd: 0.5 },
      }),
    };
    const recorded = turnRecorded(started, termination, { inputTokens: 90, outputTokens: 7, costUsd: 1 });
    const turn = recorded.turns?.[0];
    assert.equal(turn?.commit, 'abc123');
    assert.deepEqual(turn?.usage, { inputTokens: 10, costUsd: 0.5 });
    assert.ok((turn?.summary?.length ?? 0) <= 2048, 'the turn keeps a short summary');
    assert.deepEqual(recorded.usage, { inputTokens: 100, outputTokens: 7, costUsd: 1.5 });
    assert.deepEqual(turnRecorded(started, { exitCode: 1, message: 'not json' }, undefined), started);
  });

  it('a turn keeps the first result it ends with', () => {
    const started = turnStarted(base, { number: 1, source: 'spec' }, 1, now);
    const asked = turnEnded(started, 'Question', now);
    assert.equal(turnEnded(asked, 'Stopped', new Date()).turns?.[0]?.result, 'Question');
    assert.equal(asked.turns?.[0]?.completionTime, '2026-12-02T10:00:00.000Z');
  });

  it('addUsage sums field by field and keeps what only one side has', () => {
    assert.deepEqual(addUsage({ inputTokens: 1 }, { outputTokens: 2 }), { inputTokens: 1, outputTokens: 2 });
    assert.equal(addUsage(undefined, undefined), undefined);
  });
});

describe('waiting', () => {
  it('Idle says for how long the session waits and until when', () => {
    const idle = conversationIdle(base, 3, 30 * 60_000, now);
    assert.equal(idle.phase, 'Idle');
    const ready = idle.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'TurnFinished');
    assert.equal(
      ready?.message,
      'turn 3 finished; waiting for the next prompt for 30m (until 2026-12-02T10:30:00.000Z), then the session ends',
    );
  });

  it('WaitingForInput carries the question and the turn that asked it', () => {
    const waiting = questionAsked(base, 'Which database?', 2, 3_600_000, now);
    assert.equal(waiting.phase, 'WaitingForInput');
    assert.deepEqual(waiting.question, {
      text: 'Which database?',
      turn: 2,
      askedTime: '2026-12-02T10:00:00.000Z',
    });
    assert.equal(waiting.conditions?.find((c) => c.type === 'Ready')?.reason, 'QuestionAsked');
  });
});

describe('promptRefusal', () => {
  const idle: PromptTarget = {
    name: 's1',
    phase: 'Idle',
    converses: true,
    finished: false,
    stopping: false,
    waiting: 'idle',
    turn: 2,
  };
  const text = { prompt: 'go on', source: 'api' as const };

  it('takes a prompt when Idle, and a prompt or an answer when a question waits', () => {
    assert.equal(promptRefusal(idle, text, 'prompt'), undefined);
    const asking = { ...idle, phase: 'WaitingForInput' as const, waiting: 'question' as const };
    assert.equal(promptRefusal(asking, text, 'prompt'), undefined);
    assert.equal(promptRefusal(asking, text, 'answer'), undefined);
  });

  it('says why it refuses, and what to do', () => {
    const cases: Array<[Partial<PromptTarget>, string, 'prompt' | 'answer', RegExp]> = [
      [{}, '', 'prompt', /^prompt is empty: give the text/],
      [{}, 'x'.repeat(MAX_PROMPT_CHARS + 1), 'prompt', /more than the 65536 a turn takes: shorten it$/],
      [{ converses: false }, 'go', 'prompt', /earlier version of Shepherd.*start a new session$/],
      [
        { finished: true, phase: 'Succeeded' },
        'go',
        'prompt',
        /has finished \(Succeeded\).*restart this one$/,
      ],
      [{ stopping: true }, 'go', 'prompt', /is stopping/],
      [{ nextTurn: 3 }, 'go', 'prompt', /already took the prompt of turn 3/],
      [{}, 'go', 'answer', /no question waiting for an answer \(phase Idle\): send a prompt instead$/],
      [{ waiting: undefined, phase: 'Running' }, 'go', 'prompt', /is running turn 2 \(phase Running\)/],
    ];
    for (const [change, prompt, kind, expected] of cases) {
      const target: PromptTarget = { ...idle, ...change };
      if ('waiting' in change && change.waiting === undefined) delete target.waiting;
      assert.match(promptRefusal(target, { prompt, source: 'api' }, kind) ?? 'taken', expected);
    }
  });
});
