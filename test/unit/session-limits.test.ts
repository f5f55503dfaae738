/**
 * A session's limits while it runs, without Temporal: which cap it reached (its own, then the
 * namespace's month), what its next runner may spend, approvals refused unless they raise the cap
 * that was reached, and the status messages of Queued and WaitingForApproval; the price table
 * for runners that report tokens and no cost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptCost, priceOf } from '../../src/policy/usage-cost.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import {
  approvalRefusal,
  budgetLeft,
  capReached,
  isLimited,
  joinsNamespace,
  queued,
  unpriced,
  waitingForApproval,
} from '../../src/workflows/session-limits.js';

const session = (policy: ResolvedSession['policy']) => ({ name: 's', policy }) as unknown as ResolvedSession;
const now = new Date('2026-12-03T10:00:00Z');

test('which sessions the limits apply to, and which go through the namespace workflow', () => {
  assert.equal(isLimited(session(undefined)), false);
  assert.equal(isLimited(session({ tools: { denied: ['Bash'] } })), false);
  assert.equal(isLimited(session({ budget: { perSessionUsd: 1 } })), true);
  assert.equal(joinsNamespace(session({ budget: { perSessionUsd: 1 } })), false);
  assert.equal(joinsNamespace(session({ maxConcurrentSessions: 2 })), true);
  assert.equal(joinsNamespace(session({ budget: { monthlyUsd: 100 } })), true);
});

test('the session cap is judged on its own spending, the monthly cap on the month; approvals raise them', () => {
  const s = session({ budget: { perSessionUsd: 1, monthlyUsd: 10 } });
  assert.equal(capReached(s, { spentUsd: 0.5 }, 3), undefined);
  assert.deepEqual(capReached(s, { spentUsd: 1 }, 3), { cap: 'session', spentUsd: 1, capUsd: 1 });
  assert.deepEqual(capReached(s, { spentUsd: 0.5 }, 10), { cap: 'monthly', spentUsd: 10, capUsd: 10 });
  assert.equal(capReached(s, { spentUsd: 1, sessionCapUsd: 2 }, 3), undefined);
  assert.equal(capReached(s, { spentUsd: 0.5, monthlyCapUsd: 20 }, 10), undefined);
  // The month unknown yet (before the first slot notice): only the session's own cap counts.
  assert.equal(capReached(s, { spentUsd: 0.5 }, undefined), undefined);
});

test('the next runner may spend the least that is left under either cap, in cents, never 0', () => {
  const s = session({ budget: { perSessionUsd: 1, monthlyUsd: 10 } });
  assert.equal(budgetLeft(s, { spentUsd: 0.25 }, 3), 0.75);
  assert.equal(budgetLeft(s, { spentUsd: 0.25 }, 9.6), 0.4);
  assert.equal(budgetLeft(s, { spentUsd: 0.999 }, 0), 0.01);
  assert.equal(budgetLeft(session({ maxConcurrentSessions: 1 }), { spentUsd: 3 }, 3), undefined);
});

test('an approval is taken only while WaitingForApproval, and only with a cap above the spending', () => {
  const waiting = { cap: 'session' as const, spentUsd: 0.08, capUsd: 0.05 };
  assert.match(
    approvalRefusal('s', 'Running', undefined, { capUsd: 5 }) ?? '',
    /is Running, not WaitingForApproval/,
  );
  assert.match(
    approvalRefusal('s', 'WaitingForApproval', waiting, { capUsd: 0.05 }) ?? '',
    /not above the \$0\.0800 already spent by the session/,
  );
  assert.match(
    approvalRefusal('s', 'WaitingForApproval', waiting, { capUsd: Number.NaN }) ?? '',
    /capUsd must be a number/,
  );
  assert.equal(approvalRefusal('s', 'WaitingForApproval', waiting, { capUsd: 1 }), undefined);
});

test('Queued says the place and the limit; WaitingForApproval says which cap and how to go on', () => {
  const q = queued(
    { phase: 'Provisioning', conditions: [] },
    { position: 3, running: 2, limit: 2, month: '2026-12', spentUsd: 0 },
    now,
  );
  assert.equal(q.phase, 'Queued');
  const ready = q.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.reason, 'Queued');
  assert.match(ready?.message ?? '', /number 3 in the namespace's queue; 2 of 2 sessions running/);
  const w = waitingForApproval(
    { phase: 'Running', conditions: [] },
    'fix-bug',
    { cap: 'monthly', spentUsd: 12, capUsd: 10 },
    now,
  );
  assert.equal(w.phase, 'WaitingForApproval');
  const message = w.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
  assert.match(
    message,
    /namespace spent \$12\.00 this month of its \$10\.00 cap \(NamespacePolicy budget\.monthlyUsd\)/,
  );
  assert.match(message, /shepherd approve fix-bug --cap-usd/);
});

test('a reported cost is taken as it is; tokens alone are priced by the table, or left unpriced', () => {
  assert.deepEqual(attemptCost({ costUsd: 0.3, inputTokens: 10 }, undefined), {
    usd: 0.3,
    tokens: 10,
    source: 'reported',
  });
  const priced = attemptCost(
    { inputTokens: 1_000_000, outputTokens: 100_000 },
    'anthropic/claude-sonnet-4-5',
  );
  assert.equal(priced.source, 'priced');
  assert.ok(Math.abs((priced.usd ?? 0) - 4.5) < 1e-9, String(priced.usd));
  assert.deepEqual(attemptCost({ inputTokens: 5 }, 'gpt-4o'), { tokens: 5, source: 'unpriced' });
  assert.equal(priceOf('claude-opus-4-5-20251101')?.input, 5);
  assert.equal(priceOf('claude-opus-4-1')?.input, 15);
});

test('an attempt whose tokens cannot be priced says so on BudgetTracked, naming the model', () => {
  const status = unpriced({ phase: 'Running', conditions: [] }, 2, 'acme/secret-model', 900, now);
  const condition = status.conditions?.find((c) => c.type === 'BudgetTracked');
  assert.equal(condition?.status, 'False');
  assert.equal(condition?.reason, 'Unpriced');
  assert.match(
    condition?.message ?? '',
    /attempt 2 reported 900 tokens and no cost, and model acme\/secret-model has no price/,
  );
});
