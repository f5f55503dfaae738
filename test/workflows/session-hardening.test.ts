/**
 * The session workflow under what goes wrong on a shared cluster, on the time-skipping test server
 * with a scripted runtime: refusals and conflicts end the session at once with the reason, a stop
 * is honoured while an activity is retried, every retry has a bound, a workspace of earlier turns
 * is never deleted, status writes never go backwards, spec edits reach the next attempt, and a
 * session that ends Failed or TimedOut closes its workflow run as failed — what an operator sees
 * in the Web UI matches what `kubectl get ags` says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import { ObjectConflictError, RejectedError, StatusRejectedError } from '../../src/runtime/errors.js';
import { gate } from './support/fake-runtime.js';
import { conditionOf, statusOf } from './support/session-assertions.js';
import { pushedResult, sessionsOfFile, sessionSpec } from './support/session-environment.js';

const sessions = sessionsOfFile();

/** What an API server that cannot be reached makes an activity throw: retryable. */
const unreachable = () => new Error('connect ECONNREFUSED 10.0.0.1:6443');

/** The Web UI's view of a run: its current details (Temporal's user metadata). */
async function currentDetails(session: { handle: { query: (name: string) => Promise<unknown> } }) {
  const metadata = (await session.handle.query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  return metadata.currentDetails ?? '';
}

describe('every view tells the same story', () => {
  it('a session that fails after two attempts closes its run as failed, with the reason as failure type', async () => {
    const session = await sessions.startSession({ name: 'fails-twice', spec: sessionSpec({ retries: 1 }) });
    await session.runnerStarts(1);
    await session.runnerExits(1, 1, pushedResult('fails-twice', 'the tests still fail'));
    await session.runnerStarts(2);
    await session.runnerExits(2, 1, pushedResult('fails-twice', 'the tests still fail'));

    const { state, failure } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    assert.equal(failure?.type, 'RunnerExit');
    assert.match(failure?.message ?? '', /exit code 1/);
    assert.equal((await session.handle.describe()).status.name, 'FAILED');
    const message = conditionOf(state, 'Failed')?.message ?? '';
    assert.match(message, /exit code 1: the tests still fail|exit code 1 \(the tests still fail\)/);
    assert.doesNotMatch(message, /[{}"]/, 'the JSON result is never pasted into a condition');
    assert.equal(state.status.result, 'the tests still fail', 'the result goes into its own field');
    assert.equal(state.status.reconciledRepos?.[0]?.status, 'Pushed');
    const details = await currentDetails(session);
    assert.match(details, /Failed/);
    assert.match(details, /attempt 2/);
    assert.match(details, /RunnerExit/);
  });

  it('a session that times out closes as failed with type TimedOut; a succeeded or stopped one completes', async () => {
    const slow = await sessions.startSession({ name: 'too-slow', spec: sessionSpec({ timeout: '30m' }) });
    await slow.runnerStarts(1);
    const timedOut = await slow.outcome();
    assert.equal(timedOut.state.phase, 'TimedOut');
    assert.equal(timedOut.failure?.type, 'TimedOut');

    const ok = await sessions.startSession({ name: 'all-good' });
    await ok.runnerStarts(1);
    await ok.runtime.mirrored((status) => status.phase === 'Running');
    assert.match(await currentDetails(ok), /Running/);
    await ok.runnerExits(1, 0, pushedResult('all-good'));
    const succeeded = await ok.outcome();
    assert.equal(succeeded.state.phase, 'Succeeded');
    assert.equal(succeeded.failure, undefined);
    assert.equal((await ok.handle.describe()).status.name, 'COMPLETED');

    const stopped = await sessions.startSession({ name: 'stopped-one' });
    await stopped.runnerStarts(1);
    await stopped.stop();
    const outcome = await stopped.outcome();
    assert.equal(outcome.state.phase, 'Stopped');
    assert.equal(outcome.failure, undefined);
  });

  it('a failed session can still be restarted, as a new run', async () => {
    const session = await sessions.startSession({ name: 'fail-then-restart' });
    await session.runnerStarts(1);
    await session.runnerExits(1, 2);
    assert.equal((await session.outcome()).failure?.type, 'PrerequisiteFailed');
    await session.restart();
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult('fail-then-restart'));
    const done = await session.outcome();
    assert.equal(done.state.phase, 'Succeeded');
    assert.equal(done.state.status.attempt, 2);
  });
});

describe('refusals and conflicts end the session at once', () => {
  it('a runner the runtime refuses ends the session Failed/Rejected after one try, naming the field', async () => {
    const session = sessions.session({ name: 'refused-job' });
    session.runtime.fail(
      'launchRunner',
      () =>
        new RejectedError(
          'Kubernetes refused Job refused-job-a1: spec.template.labels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters',
        ),
    );
    await session.start();
    const { state, failure } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    assert.equal(failure?.type, 'Rejected');
    assert.equal(statusOf(state, 'Failed'), 'True/Rejected');
    assert.equal(statusOf(state, 'JobCreated'), 'False/Rejected');
    assert.match(conditionOf(state, 'JobCreated')?.message ?? '', /spec\.template\.labels/);
    assert.equal(session.runtime.inputsOf('launchRunner').length, 1, 'a refusal is not retried');
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
  });

  it('an object of the same name someone else owns ends provisioning Failed/ObjectConflict on its own condition', async () => {
    const secrets = sessions.session({ name: 'foreign-identity' });
    secrets.runtime.fail(
      'provisionSecrets',
      () =>
        new ObjectConflictError(
          'ServiceAccount foreign-identity-runner exists and is not owned by this session',
        ),
    );
    await secrets.start();
    const conflicted = await secrets.outcome();
    assert.equal(conflicted.failure?.type, 'ObjectConflict');
    assert.equal(statusOf(conflicted.state, 'SecretsReady'), 'False/ObjectConflict');
    assert.match(
      conditionOf(conflicted.state, 'SecretsReady')?.message ?? '',
      /ServiceAccount foreign-identity-runner/,
    );
    assert.equal(secrets.runtime.inputsOf('launchRunner').length, 0);
    assert.equal(secrets.runtime.inputsOf('provisionSecrets').length, 1);

    const workspace = sessions.session({ name: 'quota-workspace' });
    workspace.runtime.fail(
      'provisionWorkspace',
      () => new RejectedError('Kubernetes refused PVC quota-workspace-workspace: exceeded quota: storage'),
    );
    await workspace.start();
    const refused = await workspace.outcome();
    assert.equal(refused.failure?.type, 'Rejected');
    assert.equal(statusOf(refused.state, 'PVCReady'), 'False/Rejected');
  });
});

describe('a stop is honoured at every step, and every retry has a bound', () => {
  it('a stop while the workspace cannot be provisioned ends the session Stopped, not after the retries', async () => {
    const session = sessions.session({ name: 'stop-while-retrying' });
    session.runtime.fail('provisionWorkspace', unreachable);
    await session.start();
    await session.runtime.until(() => session.runtime.inputsOf('provisionWorkspace').length >= 2);
    await session.stop('giving up on this one');
    const { state, failure } = await session.outcome();
    assert.equal(state.phase, 'Stopped');
    assert.equal(failure, undefined);
    assert.equal(conditionOf(state, 'Completed')?.message, 'giving up on this one');
    assert.equal(session.runtime.inputsOf('launchRunner').length, 0);
  });

  it('a stop while the runner cannot be launched ends the session Stopped and removes that attempt', async () => {
    const session = sessions.session({ name: 'stop-while-launching' });
    session.runtime.fail('launchRunner', unreachable);
    await session.start();
    await session.runtime.until(() => session.runtime.inputsOf('launchRunner').length >= 2);
    await session.stop();
    const { state } = await session.outcome();
    assert.equal(state.phase, 'Stopped');
    assert.deepEqual(session.runtime.inputsOf('cleanup')[0]?.attempts, [1]);
  });

  it('a runner that can never be launched ends the session Failed once the retry budget is spent', async () => {
    const session = sessions.session({ name: 'never-launches' });
    session.runtime.fail('launchRunner', unreachable);
    await session.start();
    const { state, failure } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    assert.equal(failure?.type, 'ProvisioningFailed');
    assert.equal(statusOf(state, 'JobCreated'), 'False/ProvisioningFailed');
    const tries = session.runtime.inputsOf('launchRunner').length;
    assert.ok(tries > 1 && tries <= 20, `launched ${tries} times`);
  });
});

describe('workspaces and status', () => {
  it("a restart whose provisioning fails keeps the earlier turns' workspace; so does a retained one", async () => {
    const restarted = await sessions.startSession({
      name: 'restart-no-secret',
      input: { restart: true, previousAttempt: 2 },
      missingSecret: 'git-token',
    });
    assert.equal((await restarted.outcome()).state.phase, 'Failed');
    assert.equal(restarted.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, false);

    const retained = await sessions.startSession({
      name: 'retained-no-secret',
      spec: sessionSpec({ workspace: { retain: true } }),
      missingSecret: 'git-token',
    });
    assert.equal((await retained.outcome()).state.phase, 'Failed');
    assert.equal(retained.runtime.inputsOf('cleanup')[0]?.deleteWorkspace, false);
  });

  it('a restart stops the running runner first and records the work it pushed on the way out', async () => {
    const session = await sessions.startSession({ name: 'restart-records' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    session.runtime.onStop(1, {
      exitCode: 143,
      reason: 'Error',
      message: JSON.stringify(pushedResult('restart-records', 'work in progress pushed')),
    });
    await session.restart();
    await session.runtime.launched(2);
    const steps = session.runtime.steps;
    assert.ok(steps.indexOf('stopRunner') < steps.lastIndexOf('launchRunner'), 'the old runner goes first');
    await session.runtime.mirrored((status) => status.result === 'work in progress pushed');
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult('restart-records'));
    assert.equal((await session.outcome()).state.phase, 'Succeeded');
  });

  it('a status write that lands late never overwrites the final status', async () => {
    const session = sessions.session({ name: 'late-write', missingSecret: 'git-token' });
    const firstWrite = gate();
    session.runtime.hold('mirrorStatus', firstWrite.opened);
    await session.start();
    await session.runtime.called('provisionSecrets');
    // The workflow has heard of the failure; a run that does not serialise its writes issues the
    // final one now, while the first is still held.
    await session.historyShows((events) =>
      events.some(
        (e, i) =>
          e.activityTaskFailedEventAttributes &&
          events.slice(i).some((l) => l.workflowTaskCompletedEventAttributes),
      ),
    );
    await Promise.race([
      session.runtime.until(() => session.runtime.inputsOf('mirrorStatus').length >= 2),
      sleep(1000),
    ]);
    firstWrite.open();
    const { state } = await session.outcome();
    assert.equal(state.phase, 'Failed');
    assert.equal(session.runtime.status?.phase, 'Failed', 'the CR ends with the final status');
  });

  it('a spec edit takes effect at the next attempt, and observedGeneration follows it', async () => {
    const session = await sessions.startSession({ name: 'edited-spec', spec: sessionSpec({ retries: 1 }) });
    await session.runnerStarts(1);
    session.runtime.editSpec((spec) => ({ ...spec, command: ['make', 'fix', 'V=1'] }));
    await session.runnerExits(1, 1);
    await session.runnerStarts(2);
    const [first, second] = session.runtime.inputsOf('launchRunner');
    assert.deepEqual(first?.session.command, ['make', 'fix']);
    assert.deepEqual(second?.session.command, ['make', 'fix', 'V=1']);
    await session.runnerExits(2, 0, pushedResult('edited-spec'));
    const { state } = await session.outcome();
    assert.equal(state.status.observedGeneration, 2);
  });

  it('a status the AgentSession refuses is written without the runner report, and the session still ends', async () => {
    const session = sessions.session({ name: 'refused-status' });
    session.runtime.fail(
      'mirrorStatus',
      () =>
        new StatusRejectedError(
          'AgentSession.shepherd.dev "refused-status" is invalid: status.result: Too long',
        ),
      Number.POSITIVE_INFINITY,
      (input) => (input as { status: AgentSessionStatus }).status.result !== undefined,
    );
    await session.start();
    await session.runnerStarts(1);
    await session.runnerExits(1, 0, pushedResult('refused-status'));
    const { state } = await session.outcome();
    assert.equal(state.phase, 'Succeeded');
    const written = session.runtime.status;
    assert.equal(written?.phase, 'Succeeded', 'the CR still gets the final phase');
    assert.equal(written?.result, undefined);
    const repos = written?.conditions?.find((c) => c.type === 'ReposReconciled');
    assert.equal(repos?.reason, 'StatusRejected');
    assert.match(repos?.message ?? '', /status\.result: Too long/);
  });
});

describe('the way to the first Job is short', () => {
  it('a new session is read in its first workflow task and its first status write already names its Job', async () => {
    const session = await sessions.startSession({ name: 'quick-start' });
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    const events = (await session.handle.fetchHistory()).events ?? [];
    // Read by a local activity: a marker in the history, no activity task through the server.
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.ok(!scheduled.includes('loadSession'), `scheduled: ${scheduled.join(', ')}`);
    assert.ok(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'));
    assert.deepEqual(scheduled.slice(0, 3), ['provisionWorkspace', 'provisionSecrets', 'launchRunner']);
    // One status write for provisioning and launch: the first already says the Job was created.
    const [first] = session.runtime.inputsOf('mirrorStatus');
    assert.equal(first?.status.phase, 'Provisioning');
    const condition = (type: string) => first?.status.conditions?.find((c) => c.type === type)?.status;
    assert.equal(condition('JobCreated'), 'True');
    assert.equal(condition('SecretsReady'), 'True');
    await session.runnerExits(1, 0, pushedResult('quick-start'));
    assert.equal((await session.outcome()).state.phase, 'Succeeded');
  });
});
