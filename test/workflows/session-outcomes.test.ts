/**
 * How a session's run ends, on the time-skipping test server with a scripted runtime: the
 * exit-code contract (0, 1 with and without retries left, 2), the per-attempt timeout, a runner
 * end only the workflow's own 2-minute check finds, and a missing Secret. Each story asserts what
 * a user reads (phase, conditions, attempt, result) and what the runtime was asked to do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pushedResult, sessionsOfFile, sessionSpec } from './support/session-environment.js';
import { conditionOf, runDurationMs, statusOf } from './support/session-assertions.js';

const sessions = sessionsOfFile();

describe('the exit-code contract', () => {
  it('a runner that exits 0 ends the session Succeeded with what it pushed, and removes the workspace', async () => {
    const session = await sessions.startSession({ name: 'fix-checkout' });
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('fix-checkout'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.finished, true);
    assert.equal(done.status.attempt, 1);
    assert.equal(done.status.exitCode, 0);
    assert.equal(done.status.result, 'fixed the flaky test');
    assert.deepEqual(done.status.usage, { inputTokens: 1200, outputTokens: 340 });
    assert.equal(done.status.reconciledRepos?.[0]?.status, 'Pushed');
    assert.equal(statusOf(done, 'Validated'), 'True/Resolved');
    assert.equal(statusOf(done, 'PVCReady'), 'True/Bound');
    assert.equal(conditionOf(done, 'PVCReady')?.message, 'workspace PVC fix-checkout-workspace is Bound');
    assert.equal(statusOf(done, 'SecretsReady'), 'True/SecretFound');
    assert.equal(statusOf(done, 'JobCreated'), 'True/Created');
    assert.equal(
      conditionOf(done, 'JobCreated')?.message,
      'runner Job fix-checkout-a1 created for attempt 1',
    );
    assert.equal(statusOf(done, 'RunnerStarted'), 'True/Started');
    assert.equal(statusOf(done, 'ReposReconciled'), 'True/Reconciled');
    assert.equal(statusOf(done, 'Completed'), 'True/Succeeded');
    assert.equal(statusOf(done, 'Ready'), 'False/Succeeded');
    assert.equal(statusOf(done, 'Failed'), 'False/Succeeded');

    const [load, ...rest] = session.runtime.steps;
    assert.equal(load, 'loadSession');
    // The workspace and the secrets are made side by side, in either order.
    assert.deepEqual(rest.slice(0, 2).sort(), ['provisionSecrets', 'provisionWorkspace']);
    assert.deepEqual(rest.slice(2), ['launchRunner', 'cleanup']);
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
    assert.equal(session.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, true);
    assert.deepEqual(session.runtime.status, done.status, 'the CR holds the final status');
  });

  it('a runner that exits 1 is retried on the same workspace, and the second attempt succeeds', async () => {
    const session = await sessions.startSession({ name: 'flaky-agent', spec: sessionSpec({ retries: 1 }) });
    await session.runnerStarts(1);
    await session.runnerExits(1, 1);
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult('flaky-agent'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 2);
    assert.equal(done.status.runnerPodName, 'flaky-agent-a2-pod');
    assert.deepEqual(
      session.runtime.inputsOf('launchRunner').map((launch) => launch.attempt),
      [1, 2],
    );
    assert.equal(session.runtime.inputsOf('provisionWorkspace').length, 1, 'one workspace for both');
    assert.deepEqual(
      session.runtime.inputsOf('stopRunner').map((stop) => stop.attempt),
      [1],
      'the failed attempt is removed before the next',
    );
    const retrying = session.runtime
      .inputsOf('mirrorStatus')
      .map(({ status }) => status.conditions?.find((c) => c.type === 'Ready'))
      .find((ready) => ready?.reason === 'Retrying');
    assert.match(retrying?.message ?? '', /exit code 1; retrying \(attempt 1 of 2\)/);
  });

  it('when every attempt exits 1 the session ends Failed/RunnerExit and keeps the workspace', async () => {
    const session = await sessions.startSession({ name: 'always-fails', spec: sessionSpec({ retries: 1 }) });
    await session.runnerStarts(1);
    await session.runnerExits(1, 1);
    await session.runnerStarts(2);
    await session.runnerExits(2, 1);

    const done = await session.result();
    assert.equal(done.phase, 'Failed');
    assert.equal(done.status.attempt, 2);
    assert.equal(done.status.exitCode, 1);
    assert.equal(statusOf(done, 'Failed'), 'True/RunnerExit');
    assert.equal(statusOf(done, 'Completed'), 'False/RunnerExit');
    assert.match(conditionOf(done, 'Failed')?.message ?? '', /no retries left \(attempt 2 of 2\)/);
    const [cleanup] = session.runtime.inputsOf('cleanup');
    assert.deepEqual(cleanup?.attempts, [1, 2]);
    assert.equal(cleanup?.deleteWorkspace, false, 'a restart continues on the same workspace');
  });

  it('a runner that exits 2 fails the session PrerequisiteFailed without a retry', async () => {
    const session = await sessions.startSession({ name: 'no-toolchain', spec: sessionSpec({ retries: 2 }) });
    await session.runnerStarts(1);
    await session.runnerExits(1, 2);

    const done = await session.result();
    assert.equal(done.phase, 'Failed');
    assert.equal(statusOf(done, 'Failed'), 'True/PrerequisiteFailed');
    assert.equal(done.status.exitCode, 2);
    assert.equal(session.runtime.inputsOf('launchRunner').length, 1, 'never retried');
  });
});

describe('waiting for the runner', () => {
  it('a runner that outlives spec.timeout is stopped and the session ends TimedOut, hours later in workflow time', async () => {
    const session = await sessions.startSession({ name: 'endless', spec: sessionSpec({ timeout: '2h' }) });
    await session.runnerStarts(1);

    const done = await session.result();
    assert.equal(done.phase, 'TimedOut');
    assert.equal(statusOf(done, 'Failed'), 'True/TimedOut');
    assert.match(conditionOf(done, 'Failed')?.message ?? '', /did not finish within spec.timeout 2h/);
    assert.ok(runDurationMs(done) >= 2 * 3_600_000, `the run took ${runDurationMs(done)} ms`);
    // Every 10 minutes the workflow checked the runner itself; at the deadline it deleted it.
    const checks = session.runtime.inputsOf('observeRunner').length;
    assert.ok(checks >= 11 && checks <= 13, `${checks} checks in 2 hours`);
    assert.deepEqual(session.runtime.steps.slice(-3), ['stopRunner', 'observeRunner', 'cleanup']);
    assert.equal(session.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, false);
  });

  it('a runner whose end the watcher never reports is found by the 10-minute check', async () => {
    const session = await sessions.startSession({ name: 'lost-signal' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    session.runnerExitsUnseen(1, 0, pushedResult('lost-signal'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.result, 'fixed the flaky test');
    assert.deepEqual(
      session.runtime.inputsOf('observeRunner').map((check) => check.attempt),
      [1],
    );
    assert.ok(runDurationMs(done) >= 10 * 60_000, 'found by the check ten minutes in');
  });
});

describe('a session that waits long', () => {
  // The time-skipping server never suggests continuing as new; the input's threshold stands in.
  const longWait = { continueAsNewAfterEvents: 60 };

  it('continues as new while it waits, and ends Succeeded on the same attempt and runner', async () => {
    const session = sessions.session({
      name: 'weeks-long',
      spec: sessionSpec({ timeout: '24h' }),
      input: longWait,
    });
    const firstRunId = await session.start();
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.timePasses('2h');
    await session.runnerExits(1, 0, pushedResult('weeks-long'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 1);
    assert.equal(done.status.runnerPodName, 'weeks-long-a1-pod');
    assert.notEqual(done.status.runId, firstRunId, 'the run that ended is a later one');
    // Nothing was read, provisioned or launched again: the new runs only went on waiting.
    for (const step of ['loadSession', 'provisionWorkspace', 'provisionSecrets', 'launchRunner'] as const)
      assert.equal(session.runtime.inputsOf(step).length, 1, step);
    assert.ok(session.runtime.inputsOf('observeRunner').length >= 11, 'checked every 10 minutes throughout');
    assert.equal(session.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, true);
    const history = await session.handle.fetchHistory();
    assert.ok(
      (history.events?.length ?? 0) < 120,
      `the last run's history has ${history.events?.length} events`,
    );
  });

  it('continues as new and still times out when the attempt’s own spec.timeout runs out', async () => {
    const session = sessions.session({
      name: 'forever',
      spec: sessionSpec({ timeout: '1h' }),
      input: longWait,
    });
    const firstRunId = await session.start();
    await session.runnerStarts(1);

    const done = await session.result();
    assert.equal(done.phase, 'TimedOut');
    assert.notEqual(done.status.runId, firstRunId);
    const took = runDurationMs(done);
    assert.ok(took >= 3_600_000 && took < 3_600_000 + 5 * 60_000, `timed out after ${took} ms`);
    assert.deepEqual(session.runtime.steps.slice(-3), ['stopRunner', 'observeRunner', 'cleanup']);
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
  });
});

describe('provisioning', () => {
  it('a missing Secret fails the session CredentialsNotFound before any runner, and removes the workspace', async () => {
    const session = await sessions.startSession({ name: 'no-token', missingSecret: 'git-credentials' });

    const done = await session.result();
    assert.equal(done.phase, 'Failed');
    assert.equal(statusOf(done, 'SecretsReady'), 'False/CredentialsNotFound');
    assert.equal(statusOf(done, 'Failed'), 'True/CredentialsNotFound');
    assert.match(conditionOf(done, 'Failed')?.message ?? '', /Secret git-credentials does not exist/);
    assert.equal(done.status.attempt, 0);
    assert.equal(session.runtime.inputsOf('launchRunner').length, 0);
    const [cleanup] = session.runtime.inputsOf('cleanup');
    assert.deepEqual(cleanup?.attempts, []);
    assert.equal(cleanup?.deleteWorkspace, true, 'bad input leaves nothing behind');
  });
});
