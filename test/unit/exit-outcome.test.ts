/**
 * The exit-code contract as a user meets it: what happens to a session after its runner ends,
 * whether Shepherd tries again, and what the status tells the user to do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reason } from '../../src/resources/conditions.js';
import { exitOutcome, type ExitOutcome, type RunnerTermination } from '../../src/session/exit-outcome.js';

/** Runs attempts one after another, as the workflow would, until the outcome is final. */
function runAttempts(retries: number, terminations: RunnerTermination[]): ExitOutcome[] {
  const outcomes: ExitOutcome[] = [];
  for (const [index, termination] of terminations.entries()) {
    const outcome = exitOutcome(termination, { attempt: index + 1, retries });
    outcomes.push(outcome);
    if (outcome.kind !== 'retry') break;
  }
  return outcomes;
}

describe('exit-code contract', () => {
  it('a runner that exits 0 makes the session Succeeded', () => {
    assert.deepEqual(exitOutcome({ exitCode: 0, reason: 'Completed' }, { attempt: 1, retries: 0 }), {
      kind: 'succeeded',
      reason: Reason.Succeeded,
      message: 'the runner finished successfully',
      exitCode: 0,
    });
  });

  it('a session with retries: 1 whose runner exits 1 twice ends Failed/RunnerExit after two attempts', () => {
    const outcomes = runAttempts(1, [
      { exitCode: 1, reason: 'Error' },
      { exitCode: 1, reason: 'Error' },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.kind, o.reason]),
      [
        ['retry', 'RunnerExit'],
        ['failed', 'RunnerExit'],
      ],
    );
    assert.match(outcomes[1]?.message ?? '', /no retries left \(attempt 2 of 2\)/);
    assert.equal(outcomes[1]?.exitCode, 1);
  });

  it('a session with retries: 1 whose runner exits 1 then 0 ends Succeeded', () => {
    const outcomes = runAttempts(1, [{ exitCode: 1 }, { exitCode: 0 }]);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['retry', 'succeeded'],
    );
  });

  it('a session without retries fails on the first exit 1', () => {
    assert.equal(exitOutcome({ exitCode: 1 }, { attempt: 1, retries: 0 }).kind, 'failed');
  });

  it('a session whose runner exits 2 is failed with PrerequisiteFailed and is not retried, even with retries left', () => {
    const outcome = exitOutcome({ exitCode: 2, message: 'git is not installed' }, { attempt: 1, retries: 3 });
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.reason, Reason.PrerequisiteFailed);
    assert.match(outcome.message, /git is not installed/);
  });

  it('an OOM-killed runner fails with OOMKilled and tells the user to raise the memory limit', () => {
    const outcome = exitOutcome({ exitCode: 137, reason: 'OOMKilled' }, { attempt: 1, retries: 2 });
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.reason, Reason.OOMKilled);
    assert.match(outcome.message, /raise spec\.resources\.limits\.memory/);
  });

  it('an image that cannot be pulled fails at once with ImagePullBackOff and points at spec.image', () => {
    for (const waitingReason of ['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName']) {
      const outcome = exitOutcome({ waitingReason, message: 'manifest unknown' }, { attempt: 1, retries: 5 });
      assert.equal(outcome.kind, 'failed');
      assert.equal(outcome.reason, Reason.ImagePullBackOff);
      assert.match(outcome.message, /spec\.image/);
      assert.match(outcome.message, /manifest unknown/);
    }
  });

  it('a runner whose Secret key is missing fails with ContainerConfigError, not retried', () => {
    const outcome = exitOutcome(
      { waitingReason: 'CreateContainerConfigError', message: 'secret "x" not found' },
      { attempt: 1, retries: 5 },
    );
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.reason, Reason.ContainerConfigError);
  });

  it('an evicted runner is retried like exit 1, then fails with Evicted', () => {
    const outcomes = runAttempts(1, [
      { reason: 'Evicted', message: 'The node was low on resource: ephemeral-storage.' },
      { reason: 'Evicted' },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.kind, o.reason]),
      [
        ['retry', 'Evicted'],
        ['failed', 'Evicted'],
      ],
    );
    assert.match(outcomes[0]?.message ?? '', /ephemeral-storage/);
  });

  it('an attempt ended by the Job deadline makes the session TimedOut, not retried', () => {
    const outcome = exitOutcome(
      { reason: 'DeadlineExceeded' },
      { attempt: 1, retries: 3, timeoutMs: 5_400_000 },
    );
    assert.equal(outcome.kind, 'timedOut');
    assert.equal(outcome.reason, Reason.DeadlineExceeded);
    assert.match(outcome.message, /timeout of 1h30m; raise spec\.timeout/);
  });

  it('a runner killed by a signal is a runtime failure whose message names the signal', () => {
    const outcome = exitOutcome({ exitCode: 143, reason: 'Error' }, { attempt: 1, retries: 0 });
    assert.equal(outcome.reason, Reason.RunnerExit);
    assert.match(outcome.message, /exit code 143 \(killed by signal 15\)/);
  });

  it('a runner that vanished without an exit code is retried as RunnerLost', () => {
    assert.deepEqual(
      [exitOutcome({}, { attempt: 1, retries: 1 }).kind, exitOutcome({}, { attempt: 2, retries: 1 }).reason],
      ['retry', Reason.RunnerLost],
    );
  });

  it('a restarted session gets a fresh retry budget while the attempt counter keeps growing', () => {
    const outcome = exitOutcome({ exitCode: 1 }, { attempt: 3, firstAttemptOfRun: 3, retries: 1 });
    assert.equal(outcome.kind, 'retry');
    assert.match(outcome.message, /attempt 1 of 2/);
  });

  it('a long log tail in the termination message is shortened to its end', () => {
    const message = `${'noise '.repeat(2000)}fatal: repository not found`;
    const outcome = exitOutcome({ exitCode: 1, message }, { attempt: 1, retries: 0 });
    assert.ok(outcome.message.length < 2300);
    assert.match(outcome.message, /fatal: repository not found\)/);
  });

  it("a runner's JSON result is never pasted into the message: its summary is quoted instead", () => {
    const result = JSON.stringify({
      summary: 'the tests still fail after the change',
      repos: [{ url: 'https://git.example/a.git', status: 'NotPushed' }],
      usage: { inputTokens: 12 },
    });
    for (const termination of [
      { exitCode: 1, message: result },
      { exitCode: 2, message: result },
      { reason: 'Evicted', message: result },
    ]) {
      const outcome = exitOutcome(termination, { attempt: 1, retries: 0 });
      assert.doesNotMatch(outcome.message, /[{}"]|repos|inputTokens/);
      assert.match(outcome.message, /the tests still fail after the change/);
    }
    const bare = exitOutcome(
      { exitCode: 1, message: JSON.stringify({ repos: [] }) },
      { attempt: 1, retries: 0 },
    );
    assert.doesNotMatch(bare.message, /[{}]/);
  });

  it('a pod the runtime refused to create fails the session at once, with the refusal quoted', () => {
    const message =
      'pods "s1-a1-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0';
    const outcome = exitOutcome({ reason: 'FailedCreate', message }, { attempt: 1, retries: 3 });
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.reason, Reason.Rejected);
    assert.match(outcome.message, /exceeded quota: q/);
  });
});
