/**
 * Step 7 of the session workflow on the time-skipping test server: a conversation. A session that
 * does not stop on a finished turn goes Idle with its runner removed and its workspace kept, takes
 * the next prompt through the `sendPrompt` Update as a new turn (a new attempt whose runner gets
 * the prompt and the turn number), records every turn and sums their usage; the agent's question
 * makes it wait for an answer; inactivity, a closed pull request or a stop end it. Prompts the
 * session cannot take are refused before they reach the history, with a message that says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approveSession } from '../../src/session-client/session-commands.js';
import { pullRequestClosedSignal } from '../../src/workflows/session-contract.js';
import {
  pushedResult,
  SESSION_NAMESPACE,
  SessionEnvironment,
  sessionSpec,
} from './support/session-environment.js';
import type { TestSession } from './support/session-environment.js';
import { statusOf } from './support/session-assertions.js';

let sessions: SessionEnvironment;
before(async () => {
  sessions = await SessionEnvironment.start();
});
after(async () => {
  await sessions.stop();
});

const conversation = sessionSpec({
  initialPrompt: 'fix the flaky test',
  conversation: { stopOnTurnFinished: false, inactivityTimeout: '2h' },
});

/** Waits until the session's phase is `phase`. */
async function untilPhase(session: TestSession, phase: string): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if ((await session.state()).phase === phase) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`session ${session.name} never reached ${phase}; it is ${(await session.state()).phase}`);
}

describe('a conversation', () => {
  it('goes Idle after a turn, takes the next prompt as turn 2 on the same workspace, and records both turns', async () => {
    const session = await sessions.startSession({ name: 'three-turns', spec: conversation });
    await session.runnerStarts(1);
    await untilPhase(session, 'Running');
    assert.deepEqual(await session.prompt('also fix the other test'), {
      outcome: 'refused',
      message:
        'session three-turns is running turn 1 (phase Running) and takes the next prompt when it is Idle',
    });
    await session.runnerExits(1, 0, pushedResult('three-turns'));
    await untilPhase(session, 'Idle');
    const idle = await session.state();
    assert.equal(statusOf(idle, 'Ready'), 'True/TurnFinished');
    assert.match(
      idle.status.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      /waiting for the next prompt for 2h/,
    );
    // The status says Idle before the runner is removed: the removal follows it.
    await session.runtime.called('cleanup');
    const between = session.runtime.inputsOf('cleanup').at(-1);
    assert.equal(between?.deleteWorkspace, false, 'the workspace stays between turns');
    assert.deepEqual(between?.attempts, [1], "turn 1's runner is removed");

    assert.deepEqual(await session.prompt('also fix the other test'), { outcome: 'accepted', turn: 2 });
    await session.runnerStarts(2);
    const launch = session.runtime.inputsOf('launchRunner').at(-1);
    assert.equal(launch?.attempt, 2);
    assert.equal(launch?.session.initialPrompt, 'also fix the other test');
    assert.equal(launch?.session.turn, 2);
    const secrets = session.runtime.inputsOf('provisionSecrets').at(-1);
    assert.equal(
      secrets?.initialPrompt,
      'also fix the other test',
      "the runner's Secret holds turn 2's prompt",
    );
    await session.runnerExits(2, 0, {
      ...pushedResult('three-turns', 'fixed the other test'),
      usage: { inputTokens: 100, outputTokens: 10 },
    });
    await untilPhase(session, 'Idle');

    assert.deepEqual(await session.prompt('and the third one', 'prompt'), { outcome: 'accepted', turn: 3 });
    await session.runnerStarts(3);
    await session.runnerExits(3, 0, pushedResult('three-turns', 'fixed the third'));
    await untilPhase(session, 'Idle');
    await session.stop('done, thanks');
    const done = await session.result();
    assert.equal(done.phase, 'Stopped');
    const turns = done.status.turns ?? [];
    assert.deepEqual(
      turns.map((t) => [t.number, t.source, t.author, t.firstAttempt, t.lastAttempt, t.result, t.summary]),
      [
        [1, 'spec', undefined, 1, 1, 'Succeeded', 'fixed the flaky test'],
        [2, 'api', 'alice', 2, 2, 'Succeeded', 'fixed the other test'],
        [3, 'api', 'alice', 3, 3, 'Succeeded', 'fixed the third'],
      ],
    );
    assert.equal(turns[1]?.commit, '3f2a9c1');
    assert.deepEqual(turns[1]?.usage, { inputTokens: 100, outputTokens: 10 });
    assert.deepEqual(done.status.usage, { inputTokens: 2500, outputTokens: 690 }, 'the usage of all turns');
    assert.deepEqual(await session.prompt('one more'), {
      outcome: 'refused',
      message:
        'session three-turns has finished (Stopped) and takes no more prompts: start a new session, or restart this one',
    });
  });

  it('refuses an approval, running or finished, since it waits at no budget cap', async () => {
    const session = await sessions.startSession({ name: 'no-cap', spec: conversation });
    const approve = (name = 'no-cap') =>
      approveSession(sessions.env.client, SESSION_NAMESPACE, name, { capUsd: 5, author: 'alice' });
    await session.runnerStarts(1);
    await untilPhase(session, 'Running');
    assert.deepEqual(await approve(), {
      outcome: 'refused',
      message:
        'session no-cap is Running, not WaitingForApproval: only a session stopped at a budget cap takes an approval',
    });
    await session.stop();
    assert.equal((await session.result()).phase, 'Stopped');
    // The closed run is refused in the validator's words all the same.
    assert.deepEqual(await approve(), {
      outcome: 'refused',
      message:
        'session no-cap is Stopped, not WaitingForApproval: only a session stopped at a budget cap takes an approval',
    });
    assert.deepEqual(await approve('never-ran'), { outcome: 'not-found' });
  });

  it('ends Succeeded/Inactive when no prompt comes within the inactivity timeout, deleting the workspace', async () => {
    const session = await sessions.startSession({ name: 'inactive', spec: conversation });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('inactive'));
    await untilPhase(session, 'Idle');
    await session.timePasses('3h');
    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(statusOf(done, 'Completed'), 'True/Inactive');
    assert.match(
      done.status.conditions?.find((c) => c.type === 'Completed')?.message ?? '',
      /no prompt came within 2h of turn 1/,
    );
    assert.equal(session.runtime.inputsOf('cleanup').at(-1)?.deleteWorkspace, true);
  });

  it('continues as new between turns when its history is long, and goes on waiting until the same deadline', async () => {
    // The time-skipping server never suggests continuing as new; the input's threshold stands in.
    const session = sessions.session({
      name: 'long-talk',
      spec: conversation,
      input: { continueAsNewAfterEvents: 40 },
    });
    const firstRunId = await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('long-talk'));
    await session.continuedAsNew(firstRunId);
    const continued = await session.state();
    assert.notEqual(continued.status.runId, firstRunId, 'a new run waits for the next prompt');
    assert.equal(continued.phase, 'Idle');
    assert.equal(statusOf(continued, 'Ready'), 'True/TurnFinished');

    assert.deepEqual(await session.prompt('also the docs'), { outcome: 'accepted', turn: 2 });
    await session.runnerStarts(2);
    const launch = session.runtime.inputsOf('launchRunner').at(-1);
    assert.equal(launch?.session.turn, 2);
    assert.equal(launch?.session.initialPrompt, 'also the docs');
    await session.runnerExits(2, 0, pushedResult('long-talk', 'documented it'));

    const done = await session.result();
    assert.equal(statusOf(done, 'Completed'), 'True/Inactive');
    assert.match(
      done.status.conditions?.find((c) => c.type === 'Completed')?.message ?? '',
      /no prompt came within 2h of turn 2/,
    );
    assert.deepEqual(
      done.status.turns?.map((turn) => [turn.number, turn.source, turn.result]),
      [
        [1, 'spec', 'Succeeded'],
        [2, 'api', 'Succeeded'],
      ],
    );
    const ended = Date.parse(
      done.status.conditions?.find((c) => c.type === 'Completed')?.lastTransitionTime ?? '',
    );
    const waited = ended - Date.parse(done.status.turns?.[1]?.completionTime ?? '');
    // Condition times are whole seconds.
    assert.ok(waited > 7_199_000 && waited < 7_200_000 + 60_000, `ended ${waited} ms after turn 2`);
    // Nothing was read again for the hand-overs: once per turn.
    assert.equal(session.runtime.inputsOf('loadSession').length, 2);
  });

  it('ends Succeeded/PullRequestClosed when its pull request is merged while it is idle', async () => {
    const session = await sessions.startSession({ name: 'merged', spec: conversation });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('merged'));
    await untilPhase(session, 'Idle');
    await session.handle.signal(pullRequestClosedSignal, {
      url: 'https://git.example.com/team-a/shop/pulls/7',
      merged: true,
    });
    const done = await session.result();
    assert.equal(statusOf(done, 'Completed'), 'True/PullRequestClosed');
    assert.match(
      done.status.conditions?.find((c) => c.type === 'Completed')?.message ?? '',
      /pulls\/7 was merged/,
    );
  });

  it('a session that stops on a finished turn ends after it and refuses a prompt', async () => {
    const session = await sessions.startSession({
      name: 'one-shot',
      spec: sessionSpec({ initialPrompt: 'go' }),
    });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('one-shot'));
    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.turns?.[0]?.result, 'Succeeded');
    const refused = await session.prompt('more');
    assert.equal(refused.outcome, 'refused');
    assert.match(refused.outcome === 'refused' ? refused.message : '', /has finished \(Succeeded\)/);
  });

  it('a restart of a finished conversation goes on as its next turn, keeping the earlier turns', async () => {
    const session = await sessions.startSession({ name: 'restarted-talk', spec: conversation });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('restarted-talk'));
    await untilPhase(session, 'Idle');
    assert.deepEqual(await session.prompt('also the docs'), { outcome: 'accepted', turn: 2 });
    await session.runnerStarts(2);
    await session.runnerExits(2, 1);
    const failed = await session.result();
    assert.equal(failed.phase, 'Failed');

    await session.restart();
    await session.runnerStarts(3);
    const launch = session.runtime.inputsOf('launchRunner').at(-1);
    assert.equal(launch?.session.turn, 3, 'the agent resumes its conversation');
    assert.equal(launch?.session.initialPrompt, 'fix the flaky test', "the spec's prompt");
    await session.runnerExits(3, 0, pushedResult('restarted-talk'));
    await untilPhase(session, 'Idle');
    const idle = await session.state();
    assert.notEqual(idle.status.runId, failed.status.runId, 'a new run');
    assert.deepEqual(
      idle.status.turns?.map((turn) => [
        turn.number,
        turn.source,
        turn.author,
        turn.firstAttempt,
        turn.result,
      ]),
      [
        [1, 'spec', undefined, 1, 'Succeeded'],
        [2, 'api', 'alice', 2, 'Failed'],
        [3, 'spec', undefined, 3, 'Succeeded'],
      ],
    );
    await session.stop();
    assert.equal((await session.result()).phase, 'Stopped');
  });

  it('refuses an empty prompt and an answer when no question waits, naming the fix', async () => {
    const session = await sessions.startSession({ name: 'refusals', spec: conversation });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('refusals'));
    await untilPhase(session, 'Idle');
    assert.deepEqual(await session.prompt('   '), {
      outcome: 'refused',
      message: "prompt is empty: give the text for session refusals's next turn",
    });
    assert.deepEqual(await session.prompt('yes', 'answer'), {
      outcome: 'refused',
      message: 'session refusals has no question waiting for an answer (phase Idle): send a prompt instead',
    });
    const history = await session.handle.fetchHistory();
    const updates = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
    assert.equal(updates.length, 0, 'a refused prompt never reaches the history');
    await session.stop();
    await session.result();
  });
});

describe('questions', () => {
  it('a question goes WaitingForInput with status.question; the answer is the next turn', async () => {
    const session = await sessions.startSession({
      name: 'asks',
      spec: sessionSpec({ initialPrompt: 'fix it' }),
    });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, { ...pushedResult('asks'), question: 'Which database should I use?' });
    await untilPhase(session, 'WaitingForInput');
    const waiting = await session.state();
    assert.equal(waiting.status.question?.text, 'Which database should I use?');
    assert.equal(waiting.status.question?.turn, 1);
    assert.equal(statusOf(waiting, 'Ready'), 'True/QuestionAsked');
    assert.equal(waiting.status.turns?.[0]?.result, 'Question');

    assert.deepEqual(await session.prompt('PostgreSQL', 'answer'), { outcome: 'accepted', turn: 2 });
    await session.runnerStarts(2);
    assert.equal((await session.state()).status.question, undefined, 'the question is answered');
    assert.equal(session.runtime.inputsOf('launchRunner').at(-1)?.session.initialPrompt, 'PostgreSQL');
    await session.runnerExits(2, 0, pushedResult('asks', 'used PostgreSQL'));
    const done = await session.result();
    assert.equal(
      done.phase,
      'Succeeded',
      'a session that stops on a finished turn ends after the answered one',
    );
    assert.deepEqual(
      done.status.turns?.map((t) => t.result),
      ['Question', 'Succeeded'],
    );
  });
});

describe('feedback in a conversation', () => {
  it('a triggered session stays open: the source hears of each finished turn and of a question, in order', async () => {
    const spec = sessionSpec({
      initialPrompt: 'fix issue 3',
      trigger: { name: 'shop-issues', source: 'gitea', url: 'https://git.example.com/team-a/shop/issues/3' },
    });
    const session = await sessions.startSession({ name: 'fb-turns', spec });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('fb-turns'));
    await untilPhase(session, 'Idle');
    assert.deepEqual(await session.prompt('also update the docs'), { outcome: 'accepted', turn: 2 });
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, { ...pushedResult('fb-turns'), question: 'Which docs page?' });
    await untilPhase(session, 'WaitingForInput');
    await session.stop();
    await session.result();
    const feedback = session.runtime.inputsOf('sendFeedback');
    assert.deepEqual(
      feedback.map((f) => [f.moment, f.turn]),
      [
        ['started', undefined],
        ['turn', 1],
        ['question', 2],
        ['ended', undefined],
      ],
    );
    assert.equal(
      feedback[1]?.inactivityTimeoutMs,
      24 * 3_600_000,
      'a triggered session waits 24h by default',
    );
    assert.equal(feedback[1]?.result, 'fixed the flaky test');
    assert.equal(feedback[2]?.question, 'Which docs page?');
  });
});
