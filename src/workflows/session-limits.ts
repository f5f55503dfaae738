/**
 * The pure rules of a session's NamespacePolicy limits while it runs: whether the namespace's
 * workflow is involved, which budget cap a session has reached, what it may still spend, and
 * what the status says while it waits Queued or WaitingForApproval. Unit-tested without Temporal.
 */
import { ConditionType, Reason } from '../resources/conditions.js';
import type { AgentSessionStatus, Phase } from '../resources/types.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import type { SlotNotice } from './namespace-contract.js';
import type { ApproveInput, SessionLimitsState } from './session-contract.js';
import { withCondition } from './session-status.js';

/** A cap the session has reached. */
export interface CapReached {
  cap: 'session' | 'monthly';
  spentUsd: number;
  capUsd: number;
}

/** What the caps are judged on: the session's spending and the caps approved above the policy's. */
export type Spending = Pick<SessionLimitsState, 'spentUsd' | 'sessionCapUsd' | 'monthlyCapUsd'>;

/** Whether the session's policy sets a limit that acts while it runs. */
export function isLimited(session: ResolvedSession): boolean {
  const { maxConcurrentSessions, budget } = session.policy ?? {};
  return (
    maxConcurrentSessions !== undefined ||
    budget?.perSessionUsd !== undefined ||
    budget?.monthlyUsd !== undefined
  );
}

/** Whether the session takes a slot of, and charges, its namespace's workflow. */
export function joinsNamespace(session: ResolvedSession): boolean {
  const { maxConcurrentSessions, budget } = session.policy ?? {};
  return maxConcurrentSessions !== undefined || budget?.monthlyUsd !== undefined;
}

/** The session's cap and the namespace's monthly cap, approvals applied. */
export function capsOf(
  session: ResolvedSession,
  limits: Spending,
): { sessionUsd?: number; monthlyUsd?: number } {
  const budget = session.policy?.budget;
  const sessionUsd = limits.sessionCapUsd ?? budget?.perSessionUsd;
  const monthlyUsd = limits.monthlyCapUsd ?? budget?.monthlyUsd;
  return {
    ...(sessionUsd === undefined ? {} : { sessionUsd }),
    ...(monthlyUsd === undefined ? {} : { monthlyUsd }),
  };
}

/**
 * The cap the session has reached, if any: its own spending against its cap, the namespace's
 * month (as last heard) against the monthly cap.
 */
export function capReached(
  session: ResolvedSession,
  limits: Spending,
  monthSpentUsd: number | undefined,
): CapReached | undefined {
  const caps = capsOf(session, limits);
  if (caps.sessionUsd !== undefined && limits.spentUsd >= caps.sessionUsd)
    return { cap: 'session', spentUsd: limits.spentUsd, capUsd: caps.sessionUsd };
  if (caps.monthlyUsd !== undefined && monthSpentUsd !== undefined && monthSpentUsd >= caps.monthlyUsd)
    return { cap: 'monthly', spentUsd: monthSpentUsd, capUsd: caps.monthlyUsd };
  return undefined;
}

/**
 * What the next runner may spend before its agent stops itself: the least that is left under
 * either cap, or undefined when neither is set.
 */
export function budgetLeft(
  session: ResolvedSession,
  limits: Spending,
  monthSpentUsd: number | undefined,
): number | undefined {
  const caps = capsOf(session, limits);
  const left = [
    ...(caps.sessionUsd === undefined ? [] : [caps.sessionUsd - limits.spentUsd]),
    ...(caps.monthlyUsd === undefined ? [] : [caps.monthlyUsd - (monthSpentUsd ?? 0)]),
  ];
  if (left.length === 0) return undefined;
  // Cents: the agent's own flag takes dollars, and a rounding error must not leave 0.
  return Math.max(0.01, Math.floor(Math.min(...left) * 100) / 100);
}

/** The session with what its runner may spend, for the runner's budget flag. */
export function withBudgetLeft(session: ResolvedSession, left: number | undefined): ResolvedSession {
  if (left === undefined || !session.policy) return session;
  return { ...session, policy: { ...session.policy, budgetLeftUsd: left } };
}

/** Why an approval is refused, or undefined when it is taken. */
export function approvalRefusal(
  name: string,
  phase: Phase,
  waiting: CapReached | undefined,
  input: ApproveInput | undefined,
): string | undefined {
  if (phase !== 'WaitingForApproval' || !waiting)
    return `session ${name} is ${phase}, not WaitingForApproval: only a session stopped at a budget cap takes an approval`;
  const cap = input?.capUsd;
  if (typeof cap !== 'number' || !Number.isFinite(cap))
    return 'capUsd must be a number of US dollars, e.g. {"capUsd": 5}';
  if (cap <= waiting.spentUsd)
    return `capUsd ${cap} is not above the ${usd(waiting.spentUsd)} already spent ${
      waiting.cap === 'session' ? 'by the session' : 'by the namespace this month'
    }: give a higher cap`;
  return undefined;
}

/** USD for messages. */
export function usd(value: number): string {
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

/** The session waits for a slot: phase Queued, with its place in the message. */
export function queued(status: AgentSessionStatus, notice: SlotNotice, now: Date): AgentSessionStatus {
  const limit = notice.limit === undefined ? '' : ` of ${notice.limit}`;
  const message = `waiting for a slot: number ${notice.position} in the namespace's queue; ${notice.running}${limit} sessions running (NamespacePolicy maxConcurrentSessions)`;
  return withCondition(
    { ...status, phase: 'Queued' },
    ConditionType.Ready,
    'False',
    Reason.Queued,
    message,
    now,
  );
}

/** The session got its slot: back to the phase it was queued from. */
export function slotGranted(status: AgentSessionStatus, phase: Phase, now: Date): AgentSessionStatus {
  return withCondition(
    { ...status, phase },
    ConditionType.Ready,
    'False',
    Reason.InProgress,
    'got a slot',
    now,
  );
}

/** The message saying which cap was reached, and how to go on. */
export function capMessage(name: string, reached: CapReached, onExceeded: 'Pause' | 'Stop'): string {
  const what =
    reached.cap === 'session'
      ? `the session spent ${usd(reached.spentUsd)} of its ${usd(reached.capUsd)} cap (NamespacePolicy budget.perSessionUsd)`
      : `the namespace spent ${usd(reached.spentUsd)} this month of its ${usd(reached.capUsd)} cap (NamespacePolicy budget.monthlyUsd)`;
  if (onExceeded === 'Stop') return `${what}; the policy's budget.onExceeded is Stop`;
  return `${what}: approve a higher cap to go on (shepherd approve ${name} --cap-usd <USD>)`;
}

/** The session stopped at a cap and waits for an approval: phase WaitingForApproval. */
export function waitingForApproval(
  status: AgentSessionStatus,
  name: string,
  reached: CapReached,
  now: Date,
): AgentSessionStatus {
  return withCondition(
    { ...status, phase: 'WaitingForApproval' },
    ConditionType.Ready,
    'False',
    Reason.BudgetExceeded,
    capMessage(name, reached, 'Pause'),
    now,
  );
}

/** An approval raised the cap: the session goes on to its next runner. */
export function approved(
  status: AgentSessionStatus,
  accepted: { cap: 'session' | 'monthly'; capUsd: number; author?: string },
  now: Date,
): AgentSessionStatus {
  const by = accepted.author ? ` by ${accepted.author}` : '';
  const message = `${accepted.cap === 'session' ? 'session' : 'monthly'} cap raised to ${usd(accepted.capUsd)}${by}; going on`;
  return withCondition(
    { ...status, phase: 'Provisioning' },
    ConditionType.Ready,
    'False',
    Reason.InProgress,
    message,
    now,
  );
}

/**
 * An attempt's usage could not be priced: BudgetTracked=False says so, naming the model, since
 * the caps cannot hold a spending nobody reports.
 */
export function unpriced(
  status: AgentSessionStatus,
  attempt: number,
  model: string | undefined,
  tokens: number,
  now: Date,
): AgentSessionStatus {
  const which = model
    ? `model ${model} has no price in Shepherd's table`
    : 'the session names no model to price';
  const message = `attempt ${attempt} reported ${tokens} tokens and no cost, and ${which}: its spending is not counted against the NamespacePolicy's budgets (its tokens are)`;
  return withCondition(status, ConditionType.BudgetTracked, 'False', Reason.Unpriced, message, now);
}
