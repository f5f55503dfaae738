/**
 * What a user does to a session, on the time-skipping test server with a scripted runtime: stop
 * it at each point of its life (provisioning, waiting for the runner, running, between attempts),
 * restart it while it runs and after it finished, and delete it. Each story asserts the phase and
 * conditions the user then reads, and what the runtime was asked to do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { gate } from './support/fake-runtime.js';
import { conditionOf, statusOf } from './support/session-assertions.js';
import { pushedResult, sessionsOfFile, sessionSpec } from './support/session-environment.js';

const sessions = sessionsOfFile();

describe('stopping a session', () => {
  it('a stop during provisioning ends it Stopped before any runner, keeping the workspace', async () => {
    const session = sessions.session({ name: 'stop-provisioning' });
    const provisioned = gate();
    session.runtime.hold('provisionWorkspace', provisioned.opened);
    await session.start();
    await session.runtime.called('provisionWorkspace');
    await session.onlyInFlight('provisionWorkspace');
    await session.stop('not needed any more');
    // The stop cancels provisioning; the time-skipping server stalls a run whose cancellation
    // races the activity's completion (a real server does not), so the activity returns only once
    // the cancellation is on record.
    await session.historyShows((events) => events.some((e) => e.activityTaskCancelRequestedEventAttributes));
    provisioned.open();

    const done = await session.result();
    assert.equal(done.phase, 'Stopped');
    assert.equal(statusOf(done, 'Completed'), 'False/UserStopped');
    assert.equal(conditionOf(done, 'Completed')?.message, 'not needed any more');
    assert.equal(statusOf(done, 'Failed'), 'absent', 'a stop is no failure');
    assert.equal(session.runtime.inputsOf('launchRunner').length, 0);
    const [cleanup] = session.runtime.inputsOf('cleanup');
    assert.deepEqual(cleanup?.attempts, []);
    assert.equal(cleanup?.deleteWorkspace, false);
  });

  it('a stop while the runner has not started yet deletes it and ends the session Stopped', async () => {
    const session = await sessions.startSession({ name: 'stop-pending' });
    await session.runtime.launched(1);
    await session.runtime.mirrored(
      (status) => status.conditions?.some((c) => c.type === 'JobCreated') ?? false,
    );
    await session.stop();

    const done = await session.result();
    assert.equal(done.phase, 'Stopped');
    assert.equal(statusOf(done, 'RunnerStarted'), 'False/Pending');
    assert.ok(
      session.runtime.inputsOf('mirrorStatus').some(({ status }) => status.phase === 'Stopping'),
      'the user saw it stopping',
    );
    assert.deepEqual(session.runtime.steps.slice(-3), ['stopRunner', 'observeRunner', 'cleanup']);
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
  });

  it('a stop while running deletes the runner, records the work it pushed on the way out, and ends Stopped', async () => {
    const session = await sessions.startSession({ name: 'stop-running' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    session.runtime.onStop(1, {
      exitCode: 143,
      reason: 'Error',
      message: JSON.stringify(pushedResult('stop-running', 'stopped half way; work in progress pushed')),
    });
    await session.stop();

    const done = await session.result();
    assert.equal(done.phase, 'Stopped');
    assert.equal(statusOf(done, 'Ready'), 'False/UserStopped');
    assert.equal(done.status.result, 'stopped half way; work in progress pushed');
    assert.equal(done.status.reconciledRepos?.[0]?.status, 'Pushed');
    assert.deepEqual(
      session.runtime.inputsOf('stopRunner').map((stop) => stop.attempt),
      [1],
    );
    assert.equal(session.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, false);
  });

  it('a stop between two attempts ends the session Stopped without launching the next', async () => {
    const session = await sessions.startSession({ name: 'stop-retrying', spec: sessionSpec({ retries: 1 }) });
    const removed = gate();
    session.runtime.hold('stopRunner', removed.opened);
    await session.runnerStarts(1);
    await session.runnerExits(1, 1);
    await session.runtime.called('stopRunner');
    await session.stop();
    removed.open();

    const done = await session.result();
    assert.equal(done.phase, 'Stopped');
    assert.equal(done.status.attempt, 1);
    assert.deepEqual(
      session.runtime.inputsOf('launchRunner').map((launch) => launch.attempt),
      [1],
    );
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
  });
});

describe('restarting a session', () => {
  it('a restart while running stops the attempt and runs a new one on the same workspace', async () => {
    const session = await sessions.startSession({ name: 'restart-running' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.restart();
    await session.runnerStarts(2);
    // The phase stays Running from attempt 1 until the next runner starts, so wait for its pod.
    await session.runtime.mirrored((status) => status.attempt === 2 && status.runnerPodName !== undefined);
    const running = await session.state();
    assert.equal(running.status.runnerPodName, 'restart-running-a2-pod');
    assert.equal(statusOf(running, 'RunnerStarted'), 'True/Started');
    await session.runnerExits(2, 0, pushedResult('restart-running'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 2);
    assert.ok(
      session.runtime
        .inputsOf('mirrorStatus')
        .some(({ status }) =>
          status.conditions?.some((c) => c.message === 'restart requested during attempt 1'),
        ),
      'the user saw the restart',
    );
    assert.deepEqual(
      session.runtime.inputsOf('stopRunner').map((stop) => stop.attempt),
      [1],
    );
    assert.equal(session.runtime.inputsOf('provisionWorkspace').length, 1, 'the same workspace');
    assert.equal(session.runtime.inputsOf('loadSession').length, 1, 'the same run');
  });

  it('a restart after the session finished starts a new run that continues the attempt count', async () => {
    const session = await sessions.startSession({ name: 'restart-finished' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.stop();
    const stopped = await session.result();
    assert.equal(stopped.phase, 'Stopped');

    await session.restart();
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult('restart-finished'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 2);
    assert.notEqual(done.status.runId, stopped.status.runId, 'a new run of the same workflow id');
    assert.deepEqual(
      session.runtime.inputsOf('launchRunner').map((launch) => launch.attempt),
      [1, 2],
    );
  });

  it('a restart that arrives while a finished run cleans up continues it as a new run', async () => {
    const session = await sessions.startSession({ name: 'restart-cleaning-up' });
    const cleaned = gate();
    session.runtime.hold('cleanup', cleaned.opened);
    await session.runnerStarts(1);
    await session.runnerExits(1, 1);
    await session.runtime.called('cleanup');
    await session.restart();
    cleaned.open();
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult('restart-cleaning-up'));

    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 2);
    assert.equal(session.runtime.inputsOf('loadSession').length, 2, 'a second run');
  });
});

describe('deleting a session', () => {
  it('cancels its workflow, which still deletes the runner and the secrets', async () => {
    const session = await sessions.startSession({ name: 'delete-running' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.settled();
    await session.delete();

    const error: unknown = await session.result().catch((e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError, `expected a cancelled run, got ${String(error)}`);
    assert.ok(error.cause instanceof CancelledFailure);
    const [cleanup] = session.runtime.inputsOf('cleanup');
    assert.deepEqual(cleanup?.attempts, [1]);
    assert.equal(cleanup?.deleteWorkspace, false, 'the workspace goes with the AgentSession');
  });
});
