/**
 * What a session's status says at each step of its run — the phase and conditions a user reads
 * with `kubectl get ags -o yaml` — computed without Temporal from the pure status functions the
 * workflow applies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import {
  attemptEnded,
  attemptStarting,
  finished,
  initialStatus,
  isNewRunnerStart,
  launchFailed,
  provisioned,
  provisioningFailed,
  provisioningFailureReason,
  reposReconciled,
  restartRequested,
  resultRecorded,
  retrying,
  runnerEnded,
  runnerLaunched,
  runDetails,
  runnerStarted,
  sessionLoaded,
  sessionReloaded,
  stopping,
  timedOut,
  validated,
  validationFailed,
  workspacePending,
} from '../../src/workflows/session-status.js';
import { resolvedSession } from './support/session-fixtures.js';

const t0 = new Date('2026-03-01T10:00:00.000Z');
const t1 = new Date('2026-03-01T10:05:00.000Z');
const session = resolvedSession({ generation: 4 });

/** A condition's `status/reason`, or `absent`. */
function condition(status: AgentSessionStatus, type: string): string {
  const found = status.conditions?.find((c) => c.type === type);
  return found ? `${found.status}/${found.reason}` : 'absent';
}

function messageOf(status: AgentSessionStatus, type: string): string | undefined {
  return status.conditions?.find((c) => c.type === type)?.message;
}

/** A session that has been validated and provisioned on a bound workspace. */
function provisionedStatus(): AgentSessionStatus {
  const loaded = sessionLoaded(initialStatus('agent-session/team-a/fix-flaky-test', 'run-1'), {
    generation: 4,
    previousAttempt: 0,
  });
  return provisioned(
    validated(loaded, session, t0),
    { name: 'fix-flaky-test-workspace', reason: 'Bound' },
    t0,
  );
}

/** The same session with its first runner started. */
function runningStatus(): AgentSessionStatus {
  const launched = runnerLaunched(
    attemptStarting(provisionedStatus(), 1),
    1,
    { name: 'fix-flaky-test-a1', created: true },
    t0,
  );
  return runnerStarted(
    launched,
    { attempt: 1, podName: 'fix-flaky-test-a1-x7k2p', workspaceWasPending: false },
    t1,
  );
}

describe('a session being set up', () => {
  it('starts Pending with no conditions, naming its workflow run', () => {
    assert.deepEqual(initialStatus('agent-session/team-a/fix', 'run-1'), {
      phase: 'Pending',
      workflowId: 'agent-session/team-a/fix',
      runId: 'run-1',
      conditions: [],
    });
  });

  it('once validated is Provisioning, says what it resolved, and observes the generation it read', () => {
    const loaded = sessionLoaded(initialStatus('w', 'r'), { generation: 4, previousAttempt: 2 });
    const status = validated(loaded, session, t0);
    assert.equal(status.phase, 'Provisioning');
    assert.equal(status.attempt, 2, 'a restarted session continues its attempt count');
    assert.equal(status.startTime, t0.toISOString());
    assert.equal(condition(status, 'Validated'), 'True/Resolved');
    assert.equal(messageOf(status, 'Validated'), 'agent claude, timeout 30m, retries 1');
    assert.equal(condition(status, 'Ready'), 'False/InProgress');
    assert.ok(status.conditions?.every((c) => c.observedGeneration === 4));
  });

  it('keeps the start time of an earlier run', () => {
    const earlier = { ...initialStatus('w', 'r'), startTime: '2026-02-01T00:00:00.000Z' };
    assert.equal(validated(earlier, session, t1).startTime, '2026-02-01T00:00:00.000Z');
  });

  it('with an invalid spec says so on Validated', () => {
    const status = validationFailed(
      initialStatus('w', 'r'),
      'InvalidSpec',
      'spec.timeout "1y" is not a duration',
      t0,
    );
    assert.equal(condition(status, 'Validated'), 'False/InvalidSpec');
    assert.match(messageOf(status, 'Validated') ?? '', /spec.timeout/);
  });

  it('reports a bound workspace and its secrets ready', () => {
    const status = provisionedStatus();
    assert.equal(condition(status, 'PVCReady'), 'True/Bound');
    assert.equal(messageOf(status, 'PVCReady'), 'workspace fix-flaky-test-workspace is Bound');
    assert.equal(condition(status, 'SecretsReady'), 'True/SecretFound');
  });

  it('names the workspace as the runtime describes it: a PVC on Kubernetes, a directory locally', () => {
    const base = validated(initialStatus('w', 'r'), session, t0);
    const pvc = provisioned(
      base,
      { name: 'fix-workspace', reason: 'Bound', description: 'PVC fix-workspace' },
      t0,
    );
    assert.equal(messageOf(pvc, 'PVCReady'), 'workspace PVC fix-workspace is Bound');
    const dir = { name: '/data/team-a/fix', reason: 'Bound', description: 'directory /data/team-a/fix' };
    assert.equal(
      messageOf(provisioned(base, dir, t0), 'PVCReady'),
      'workspace directory /data/team-a/fix is Bound',
    );
  });

  it('reports a workspace still waiting for its volume, which the first runner start then binds', () => {
    const workspace = { name: 'fix-flaky-test-workspace', reason: 'Pending' };
    assert.equal(workspacePending(workspace), true);
    const waiting = provisioned(validated(initialStatus('w', 'r'), session, t0), workspace, t0);
    assert.equal(condition(waiting, 'PVCReady'), 'False/Pending');
    assert.match(
      messageOf(waiting, 'PVCReady') ?? '',
      /waiting for a volume; the runner starts once it is bound/,
    );

    const started = runnerStarted(waiting, { attempt: 1, podName: 'p', workspaceWasPending: true }, t1);
    assert.equal(condition(started, 'PVCReady'), 'True/Bound');
    assert.equal(messageOf(started, 'PVCReady'), 'the workspace volume is bound');
  });

  it('blames a missing Secret on SecretsReady, and anything else on PVCReady', () => {
    const base = validated(initialStatus('w', 'r'), session, t0);
    const missing = provisioningFailureReason('CredentialsNotFoundError');
    assert.equal(missing, 'CredentialsNotFound');
    assert.equal(
      condition(provisioningFailed(base, missing, 'Secret git has no key token', t0), 'SecretsReady'),
      'False/CredentialsNotFound',
    );
    const other = provisioningFailureReason('Error');
    assert.equal(other, 'ProvisioningFailed');
    assert.equal(
      condition(provisioningFailed(base, other, 'quota exceeded', t0), 'PVCReady'),
      'False/ProvisioningFailed',
    );
  });
});

describe('refusals, conflicts and what the Web UI shows', () => {
  it('names a conflict or a refusal by its own reason, on the condition of the step that failed', () => {
    const base = validated(initialStatus('w', 'r'), session, t0);
    assert.equal(provisioningFailureReason('ObjectConflictError'), 'ObjectConflict');
    assert.equal(provisioningFailureReason('RejectedError'), 'Rejected');
    assert.equal(provisioningFailureReason(undefined), 'ProvisioningFailed');
    const conflict = provisioningFailed(
      base,
      'ObjectConflict',
      'Role s-runner is not ours',
      t0,
      'SecretsReady',
    );
    assert.equal(condition(conflict, 'SecretsReady'), 'False/ObjectConflict');
    assert.equal(condition(conflict, 'PVCReady'), 'absent');
    const launch = launchFailed(base, 2, 'Rejected', 'spec.template.labels: Invalid value', t0);
    assert.equal(condition(launch, 'JobCreated'), 'False/Rejected');
    assert.match(
      messageOf(launch, 'JobCreated') ?? '',
      /attempt 2 could not be created: spec\.template\.labels/,
    );
  });

  it('follows the generation a reload read', () => {
    const loaded = sessionLoaded(initialStatus('w', 'r'), { generation: 3, previousAttempt: 1 });
    assert.equal(sessionReloaded(loaded, 5).observedGeneration, 5);
    assert.equal(sessionReloaded(loaded, 5).attempt, 1, 'the attempt count is kept');
  });

  it('describes the run as the CR does: phase, attempt, and the Ready reason and message', () => {
    assert.equal(runDetails(initialStatus('w', 'r')), '**Pending**');
    const ended = finished(
      { ...runningStatus(), attempt: 2 },
      'Failed',
      'RunnerExit',
      'the runner failed',
      t1,
    );
    assert.equal(runDetails(ended), '**Failed** · attempt 2\n\nRunnerExit: the runner failed');
  });
});

describe('a session running its attempts', () => {
  it('forgets the previous runner when a new attempt begins', () => {
    const previous = { ...runningStatus(), exitCode: 1 };
    const next = attemptStarting(previous, 2);
    assert.equal(next.attempt, 2);
    assert.equal(next.runnerPodName, undefined);
    assert.equal(next.exitCode, undefined);
    assert.equal(previous.runnerPodName, 'fix-flaky-test-a1-x7k2p', 'the input is left alone');
  });

  it('names the runner it created and waits for it to start', () => {
    const status = runnerLaunched(
      attemptStarting(provisionedStatus(), 3),
      3,
      { name: 'fix-flaky-test-a3', created: true },
      t0,
    );
    assert.equal(condition(status, 'JobCreated'), 'True/Created');
    assert.equal(messageOf(status, 'JobCreated'), 'runner fix-flaky-test-a3 created for attempt 3');
    assert.equal(condition(status, 'RunnerStarted'), 'False/Pending');
    assert.equal(messageOf(status, 'RunnerStarted'), 'waiting for the runner of attempt 3 to start');
  });

  it('names the runner as the runtime describes it: a Job on Kubernetes, a process locally', () => {
    const base = attemptStarting(provisionedStatus(), 1);
    const job = runnerLaunched(base, 1, { name: 'fix-a1', created: true, description: 'Job fix-a1' }, t0);
    assert.equal(messageOf(job, 'JobCreated'), 'runner Job fix-a1 created for attempt 1');
    const process = runnerLaunched(
      base,
      1,
      { name: '/data/a1', created: true, description: 'process 4242' },
      t0,
    );
    assert.equal(messageOf(process, 'JobCreated'), 'runner process 4242 created for attempt 1');
  });

  it('is Running once the runner started, naming its pod', () => {
    const status = runningStatus();
    assert.equal(status.phase, 'Running');
    assert.equal(status.runnerPodName, 'fix-flaky-test-a1-x7k2p');
    assert.equal(condition(status, 'RunnerStarted'), 'True/Started');
    assert.equal(messageOf(status, 'RunnerStarted'), 'runner fix-flaky-test-a1-x7k2p started (attempt 1)');
    assert.equal(condition(status, 'Ready'), 'True/Progressing');
  });

  it('treats a repeated start of the same pod as old news', () => {
    const status = runningStatus();
    assert.equal(isNewRunnerStart(status, 'fix-flaky-test-a1-x7k2p'), false);
    assert.equal(isNewRunnerStart(status, 'fix-flaky-test-a1-other'), true);
    assert.equal(isNewRunnerStart(provisionedStatus(), 'fix-flaky-test-a1-x7k2p'), true);
    // Applying it again anyway changes nothing, down to the serialised form the workflow compares.
    const again = runnerStarted(
      status,
      { attempt: 1, podName: 'fix-flaky-test-a1-x7k2p', workspaceWasPending: false },
      t1,
    );
    assert.equal(JSON.stringify(again), JSON.stringify(status));
  });

  it('remembers the pod an ended runner ran in, when the watcher names it', () => {
    const status = attemptStarting(provisionedStatus(), 1);
    assert.equal(runnerEnded(status, 'fix-flaky-test-a1-x7k2p').runnerPodName, 'fix-flaky-test-a1-x7k2p');
    assert.equal(runnerEnded(status, undefined), status);
  });

  it('is Stopping while a stop deletes the runner', () => {
    assert.equal(stopping(runningStatus()).phase, 'Stopping');
  });

  it('says a restart or a retry is under way on Ready', () => {
    const restart = restartRequested(runningStatus(), 1, t1);
    assert.equal(condition(restart, 'Ready'), 'False/Retrying');
    assert.equal(messageOf(restart, 'Ready'), 'restart requested during attempt 1');
    const retry = retrying(
      runningStatus(),
      'the runner failed with exit code 1; retrying (attempt 1 of 2)',
      t1,
    );
    assert.equal(condition(retry, 'Ready'), 'False/Retrying');
    assert.match(messageOf(retry, 'Ready') ?? '', /retrying \(attempt 1 of 2\)/);
  });
});

describe('what the runner reported', () => {
  const report = JSON.stringify({
    summary: 'fixed the flaky checkout test',
    repos: [
      {
        url: 'https://git.example.com/team-a/shop.git',
        branch: 'shepherd/fix-flaky-test',
        commit: 'abc123',
        status: 'Pushed',
      },
    ],
    usage: { inputTokens: 100, outputTokens: 20 },
  });

  it('records its summary, usage and repositories, and the exit code of the attempt', () => {
    const status = attemptEnded(runningStatus(), { exitCode: 0, reason: 'Completed', message: report });
    assert.equal(status.exitCode, 0);
    assert.equal(status.result, 'fixed the flaky checkout test');
    assert.deepEqual(status.usage, { inputTokens: 100, outputTokens: 20 });
    assert.equal(status.reconciledRepos?.[0]?.commit, 'abc123');
  });

  it('keeps what it had when the runner wrote no result', () => {
    const before = resultRecorded(runningStatus(), { message: report });
    assert.equal(resultRecorded(before, { message: 'Killed' }), before);
    assert.equal(attemptEnded(before, {}).exitCode, undefined, 'no exit code from a vanished runner');
  });

  it('reconciles every repository of the session: pushed ones are done', () => {
    const status = reposReconciled(resultRecorded(runningStatus(), { message: report }), session.repos, t1);
    assert.equal(condition(status, 'ReposReconciled'), 'True/Reconciled');
    assert.equal(messageOf(status, 'ReposReconciled'), '1 repositories reconciled');
  });

  it('names a repository the runner reported nothing for as not pushed', () => {
    const status = reposReconciled(runningStatus(), session.repos, t1);
    assert.equal(condition(status, 'ReposReconciled'), 'False/PushMissing');
    assert.equal(messageOf(status, 'ReposReconciled'), 'not pushed: https://git.example.com/team-a/shop.git');
    assert.deepEqual(status.reconciledRepos, [
      {
        url: 'https://git.example.com/team-a/shop.git',
        branch: 'shepherd/fix-flaky-test',
        status: 'NotPushed',
        message: 'the runner reported nothing for this repository',
      },
    ]);
  });

  it('reconciles a session without repositories trivially', () => {
    const status = reposReconciled(runningStatus(), [], t1);
    assert.equal(messageOf(status, 'ReposReconciled'), 'the session has no repositories');
  });
});

describe('a finished session', () => {
  it('Succeeded: Completed, neither Ready nor Failed, at the completion time', () => {
    const status = finished(
      runningStatus(),
      'Succeeded',
      'Succeeded',
      'the runner finished successfully',
      t1,
    );
    assert.equal(status.phase, 'Succeeded');
    assert.equal(status.completionTime, t1.toISOString());
    assert.equal(condition(status, 'Ready'), 'False/Succeeded');
    assert.equal(condition(status, 'Completed'), 'True/Succeeded');
    assert.equal(condition(status, 'Failed'), 'False/Succeeded');
  });

  it('Failed and TimedOut: Failed=True with the reason and what to do', () => {
    for (const phase of ['Failed', 'TimedOut'] as const) {
      const status = finished(runningStatus(), phase, 'RunnerExit', 'read the runner logs', t1);
      assert.equal(status.phase, phase);
      assert.equal(condition(status, 'Completed'), 'False/RunnerExit');
      assert.equal(condition(status, 'Failed'), 'True/RunnerExit');
      assert.equal(messageOf(status, 'Failed'), 'read the runner logs');
    }
  });

  it('Stopped: not completed, and no failure either', () => {
    const status = finished(runningStatus(), 'Stopped', 'UserStopped', 'stopped by alice', t1);
    assert.equal(condition(status, 'Completed'), 'False/UserStopped');
    assert.equal(condition(status, 'Failed'), 'absent');
  });

  it('tells a timed-out runner that never started from one that ran out of time', () => {
    assert.match(timedOut('Running', 3_600_000).message, /did not finish within spec.timeout 1h/);
    assert.match(timedOut('Provisioning', 3_600_000).message, /never started within spec.timeout 1h/);
    assert.equal(timedOut('Running', 60_000).reason, 'TimedOut');
  });

  it('names what to check for a runner that never started, in the runtime’s terms when it has them', () => {
    const local = timedOut('Provisioning', 3_600_000, {
      workspace: { name: '/data/fix', reason: 'Bound', description: 'directory /data/fix' },
      launch: { name: '/data/fix/a1', created: true, description: 'process 4242' },
    });
    assert.equal(
      local.message,
      'the runner never started within spec.timeout 1h; check process 4242 and directory /data/fix',
    );
    // Results recorded by older workers have no descriptions: the Kubernetes wording of old.
    const old = timedOut('Provisioning', 3_600_000, {
      workspace: { name: 'fix-workspace', reason: 'Pending' },
      launch: { name: 'fix-a1', created: true },
    });
    assert.match(old.message, /check the pod's events and whether the workspace PVC is bound$/);
  });
});
