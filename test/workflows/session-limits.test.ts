/**
 * A NamespacePolicy's concurrency limit and budgets in the session workflow, on the time-skipping
 * test server with the real namespace workflow: a session beyond the limit waits Queued with its
 * place and nothing created, and starts when the one before it ends; a stopped queued session
 * leaves the queue; a session past its cap waits WaitingForApproval, refuses an approval that
 * does not raise the cap, and goes on as a new attempt after one that does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { approveUpdate } from '../../src/workflows/session-contract.js';
import { conditionOf } from './support/session-assertions.js';
import { pushedResult, sessionsOfFile } from './support/session-environment.js';

const sessions = sessionsOfFile();

describe('concurrency', () => {
  it('a session beyond the limit waits Queued, nothing made for it, and starts when the one before it ends', async () => {
    const policy = { maxConcurrentSessions: 1 };
    const first = await sessions.startSession({ name: 'limit-first', policy });
    await first.runnerStarts(1);
    await first.runtime.mirrored((status) => status.phase === 'Running');
    const second = await sessions.startSession({ name: 'limit-second', policy });
    await second.runtime.mirrored((status) => status.phase === 'Queued');
    const ready = second.runtime.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'Queued');
    assert.match(ready?.message ?? '', /number 1 in the namespace's queue; 1 of 1 sessions running/);
    assert.deepEqual(second.runtime.steps, ['loadSession'], 'a queued session has nothing made for it');

    await first.runnerExits(1, 0, pushedResult(first.name));
    assert.equal((await first.result()).phase, 'Succeeded');
    await second.runtime.called('launchRunner');
    await second.runnerStarts(1);
    await second.runnerExits(1, 0, pushedResult(second.name));
    assert.equal((await second.result()).phase, 'Succeeded');
  });

  it('a stopped queued session leaves the queue without a runner', async () => {
    const policy = { maxConcurrentSessions: 1 };
    const holder = await sessions.startSession({ name: 'queue-holder', policy });
    await holder.runnerStarts(1);
    const waiting = await sessions.startSession({ name: 'queue-stopped', policy });
    await waiting.runtime.mirrored((status) => status.phase === 'Queued');
    const behind = await sessions.startSession({ name: 'queue-behind', policy });
    await behind.runtime.mirrored((status) =>
      /number 2 in the namespace's queue/.test(
        status.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      ),
    );
    await waiting.stop('not needed');
    assert.equal((await waiting.result()).phase, 'Stopped');
    assert.equal(waiting.runtime.inputsOf('launchRunner').length, 0);
    await behind.runtime.mirrored((status) =>
      /number 1 in the namespace's queue/.test(
        status.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      ),
    );
    await holder.runnerExits(1, 0, pushedResult(holder.name));
    await behind.runnerStarts(1);
    await behind.runnerExits(1, 0, pushedResult(behind.name));
    assert.equal((await behind.result()).phase, 'Succeeded');
  });
});

describe('budgets', () => {
  it('past its cap a session waits WaitingForApproval, and an approve with a higher cap resumes it', async () => {
    const session = await sessions.startSession({
      name: 'budget-tiny',
      policy: { budget: { perSessionUsd: 0.05 } },
    });
    // The agent is told what it may spend, and stops there, failing its turn.
    await session.runtime.called('launchRunner');
    assert.equal(session.runtime.inputsOf('launchRunner')[0]?.session.policy?.budgetLeftUsd, 0.05);
    await session.runnerStarts(1);
    await session.runnerExits(1, 1, { repos: [], summary: 'budget spent', usage: { costUsd: 0.08 } });
    await session.runtime.mirrored((status) => status.phase === 'WaitingForApproval');
    const waiting = await session.state();
    assert.equal(conditionOf(waiting, 'Ready')?.reason, 'BudgetExceeded');

    await assert.rejects(
      session.handle.executeUpdate(approveUpdate, { args: [{ capUsd: 0.07 }] }),
      (error: unknown) => error instanceof WorkflowUpdateFailedError,
    );
    const accepted = await session.handle.executeUpdate(approveUpdate, {
      args: [{ capUsd: 1, author: 'alice' }],
    });
    assert.deepEqual(accepted, { cap: 'session', capUsd: 1 });
    // The turn goes on as attempt 2, with what is left under the new cap.
    await session.runnerStarts(2);
    assert.equal(session.runtime.inputsOf('launchRunner')[1]?.session.policy?.budgetLeftUsd, 0.92);
    await session.runnerExits(2, 0, pushedResult(session.name));
    const done = await session.result();
    assert.equal(done.phase, 'Succeeded');
    assert.equal(done.status.attempt, 2);
  });

  it('with onExceeded Stop the session ends Failed/BudgetExceeded at the cap', async () => {
    const session = await sessions.startSession({
      name: 'budget-stop',
      policy: { budget: { perSessionUsd: 0.05, onExceeded: 'Stop' } },
    });
    await session.runnerStarts(1);
    await session.runnerExits(1, 1, { repos: [], usage: { costUsd: 0.08 } });
    const done = await session.result();
    assert.equal(done.phase, 'Failed');
    assert.equal(conditionOf(done, 'Failed')?.reason, 'BudgetExceeded');
    assert.match(conditionOf(done, 'Failed')?.message ?? '', /budget\.onExceeded is Stop/);
  });
});
