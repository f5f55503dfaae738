/**
 * Step 6 of the session workflow on the time-skipping test server: once the runner pushed, the
 * workflow has the pushed branches checked on their forges and their pull requests opened, and it
 * tells the trigger's source when the session starts and how it ended. What a user must be able
 * to rely on: the pull request link lands in the status, a branch the forge does not have fails
 * the session, a forge that stays down never loses the pushed work nor fails the session, and
 * feedback arrives in order and can never fail a session either.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pushedResult, SessionEnvironment, sessionSpec } from './support/session-environment.js';
import { conditionOf, statusOf } from './support/session-assertions.js';

let sessions: SessionEnvironment;
before(async () => {
  sessions = await SessionEnvironment.start();
});
after(async () => {
  await sessions.stop();
});

const PR_URL = 'https://git.example.com/team-a/shop/pulls/7';

/** An error as an activity throws it, with the class name Temporal reports as its type. */
function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('pull requests', () => {
  it('the pull request the forge opened is in reconciledRepos and ReposReconciled', async () => {
    const session = sessions.session({ name: 'pr-opened' });
    session.runtime.publishAs = (input) => ({
      repos: input.reported.map((r) => ({ ...r, pullRequestUrl: PR_URL, message: 'pull request #7 opened' })),
      refused: [],
      notFound: [],
    });
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('pr-opened'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.reconciledRepos?.[0]?.pullRequestUrl, PR_URL);
    assert.equal(statusOf(done, 'ReposReconciled'), 'True/Reconciled');
    assert.match(
      conditionOf(done, 'ReposReconciled')?.message ?? '',
      /pull requests: https:\/\/git\.example\.com/,
    );
    const [publish] = session.runtime.inputsOf('publishPullRequests');
    assert.equal(publish?.result, 'fixed the flaky test', 'the summary reaches the pull request');
    assert.equal(publish?.reported[0]?.commit, '3f2a9c1');
    assert.deepEqual(session.runtime.status, done.status, 'the CR holds the link');
  });

  it('a pushed branch the forge does not have fails the session PushNotFound', async () => {
    const session = sessions.session({ name: 'pr-not-found' });
    session.runtime.publishAs = (input) => ({
      repos: input.reported.map((r) => ({
        ...r,
        status: 'Failed',
        message: 'shepherd/pr-not-found is not on the forge',
      })),
      refused: [],
      notFound: ['https://git.example.com/team-a/shop.git: shepherd/pr-not-found is not on the forge'],
    });
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('pr-not-found'));

    const { state, failure } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    assert.equal(failure?.type, 'PushNotFound');
    assert.equal(statusOf(state, 'ReposReconciled'), 'False/PushNotFound');
    assert.equal(statusOf(state, 'Failed'), 'True/PushNotFound');
  });

  it('a forge that refuses the pull request leaves the session Succeeded, the branch pushed, and says why', async () => {
    const session = sessions.session({ name: 'pr-refused' });
    session.runtime.publishAs = (input) => ({
      repos: input.reported.map((r) => ({
        ...r,
        message: 'pull request not opened: the token may not write',
      })),
      refused: ['https://git.example.com/team-a/shop.git: the token may not write pull requests'],
      notFound: [],
    });
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('pr-refused'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.reconciledRepos?.[0]?.status, 'Pushed');
    assert.equal(statusOf(done, 'ReposReconciled'), 'False/PullRequestFailed');
    assert.match(
      conditionOf(done, 'ReposReconciled')?.message ?? '',
      /may not write.*the branches are pushed/,
    );
  });

  it('a forge that stays down is retried a bounded number of times, then reported; the session still succeeds', async () => {
    const session = sessions.session({ name: 'forge-down' });
    session.runtime.fail('publishPullRequests', () =>
      namedError('ForgeUnavailableError', 'git.example.com answered 502'),
    );
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('forge-down'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    const tries = session.runtime.inputsOf('publishPullRequests').length;
    assert.ok(tries > 1 && tries <= 10, `retried within its budget (${tries} tries)`);
    assert.equal(statusOf(done, 'ReposReconciled'), 'False/PullRequestFailed');
    assert.equal(done.status.reconciledRepos?.[0]?.status, 'Pushed', 'the pushed work is still recorded');
    assert.match(done.status.reconciledRepos?.[0]?.message ?? '', /502/);
    assert.equal(session.runtime.steps.at(-1), 'cleanup');
  });

  it('a session that pushed nothing asks no forge', async () => {
    const session = await sessions.startSession({ name: 'nothing-pushed' });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, {
      summary: 'nothing to change',
      repos: [{ url: 'https://git.example.com/team-a/shop.git', status: 'NoChanges' }],
    });
    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(session.runtime.inputsOf('publishPullRequests').length, 0);
  });
});

describe('feedback to the source', () => {
  // One turn: a triggered session would otherwise stay open for replies (see session-conversation).
  const triggered = sessionSpec({
    trigger: { name: 'shop-issues', source: 'gitea', url: 'https://git.example.com/team-a/shop/issues/3' },
    conversation: { stopOnTurnFinished: true },
  });

  it('a triggered session reports its start, then its end with the result and the pull requests', async () => {
    const session = sessions.session({ name: 'fb-order', spec: triggered });
    session.runtime.publishAs = (input) => ({
      repos: input.reported.map((r) => ({ ...r, pullRequestUrl: PR_URL })),
      refused: [],
      notFound: [],
    });
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('fb-order'));
    await session.result();

    const feedback = session.runtime.inputsOf('sendFeedback');
    assert.deepEqual(
      feedback.map((f) => f.moment),
      ['started', 'ended'],
    );
    const ended = feedback[1];
    assert.equal(ended?.phase, 'Succeeded');
    assert.equal(ended?.result, 'fixed the flaky test');
    assert.equal(ended?.repos?.[0]?.pullRequestUrl, PR_URL);
    const names = session.runtime.calls.map((c) => c.name);
    assert.ok(
      names.lastIndexOf('sendFeedback') < names.lastIndexOf('cleanup'),
      'the end is reported before cleanup',
    );
  });

  it('a failed triggered session reports the reason and the attempt whose log to quote', async () => {
    const session = sessions.session({ name: 'fb-failed', spec: triggered });
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 1);
    const { state } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    const ended = session.runtime.inputsOf('sendFeedback').find((f) => f.moment === 'ended');
    assert.equal(ended?.phase, 'Failed');
    assert.equal(ended?.reason, 'RunnerExit');
    assert.equal(ended?.attempt, 1);
  });

  it('feedback that keeps failing never fails the session', async () => {
    const session = sessions.session({ name: 'fb-down', spec: triggered });
    session.runtime.fail('sendFeedback', () =>
      namedError('ForgeUnavailableError', 'git.example.com answered 503'),
    );
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('fb-down'));
    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(session.runtime.steps.at(-1), 'cleanup');
  });

  it('a session without a trigger sends no feedback', async () => {
    const session = await sessions.startSession({ name: 'fb-none' });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('fb-none'));
    await session.result();
    assert.equal(session.runtime.inputsOf('sendFeedback').length, 0);
  });
});
