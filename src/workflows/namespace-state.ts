/**
 * The pure state logic of the namespace workflow: who holds a slot, who waits and in what order,
 * and the month's ledger. Each step returns the new state and who must be told what, so the
 * workflow only sends signals and the rules are unit-tested without Temporal.
 */
import type {
  MonthlyCapReached,
  NamespaceState,
  NamespaceUsageStatus,
  SlotNotice,
  SlotRequest,
  UsageCharge,
} from './namespace-contract.js';

/** How many charge keys are kept to recognise a repeated signal. */
export const RECENT_CHARGES = 2_000;

/** What a step changed: the state, and the notices to send. */
export interface NamespaceStep {
  state: NamespaceState;
  /** Per session id: its new place (0: granted). Only sessions whose place changed. */
  notices: Map<string, SlotNotice>;
  /** Set when a charge took the month's spending to the cap: the holders are told. */
  capReached?: MonthlyCapReached;
}

/** The month (UTC) of `now`, as YYYY-MM. */
export function monthOf(now: Date): string {
  return now.toISOString().slice(0, 7);
}

/** A namespace nobody has used yet. */
export function emptyNamespace(now: Date): NamespaceState {
  return { holders: [], queue: [], month: monthOf(now), spentUsd: 0, tokens: 0, recentCharges: [] };
}

/** The ledger of `now`'s month: a new month starts from nothing. */
function inMonth(state: NamespaceState, now: Date): NamespaceState {
  const month = monthOf(now);
  return month === state.month ? state : { ...state, month, spentUsd: 0, tokens: 0, recentCharges: [] };
}

/** Where every session stands, keyed by id: 0 for holders, 1.. for the queue. */
function positions(state: NamespaceState): Map<string, number> {
  const all = new Map<string, number>();
  for (const h of state.holders) all.set(h.sessionId, 0);
  state.queue.forEach((q, i) => all.set(q.sessionId, i + 1));
  return all;
}

/** Moves sessions from the head of the queue into free slots. */
function promote(state: NamespaceState): NamespaceState {
  const free =
    state.limit === undefined ? state.queue.length : Math.max(0, state.limit - state.holders.length);
  if (free === 0 || state.queue.length === 0) return state;
  return {
    ...state,
    holders: [...state.holders, ...state.queue.slice(0, free)],
    queue: state.queue.slice(free),
  };
}

/** The notices for the sessions whose place differs between `before` and `after`, plus `always`. */
function noticesBetween(
  before: NamespaceState,
  after: NamespaceState,
  always?: string,
): Map<string, SlotNotice> {
  const was = positions(before);
  const notices = new Map<string, SlotNotice>();
  for (const [sessionId, position] of positions(after)) {
    if (was.get(sessionId) !== position || sessionId === always) {
      notices.set(sessionId, {
        position,
        running: after.holders.length,
        ...(after.limit === undefined ? {} : { limit: after.limit }),
        month: after.month,
        spentUsd: after.spentUsd,
      });
    }
  }
  return notices;
}

/**
 * A session asks for a slot. The limit it carries becomes the namespace's (a policy change
 * applies from the next request; holders keep their slots). Asking again only repeats its place.
 */
export function acquire(state: NamespaceState, request: SlotRequest, now: Date): NamespaceStep {
  const current = inMonth(state, now);
  const limited: NamespaceState = { ...current };
  if (request.limit === undefined) delete limited.limit;
  else limited.limit = request.limit;
  const known = positions(limited).has(request.sessionId);
  const queued = known
    ? limited
    : { ...limited, queue: [...limited.queue, { sessionId: request.sessionId }] };
  const next = promote(queued);
  return { state: next, notices: noticesBetween(state, next, request.sessionId) };
}

/** A session gives its slot back or leaves the queue; the next in line get the free slots. */
export function release(state: NamespaceState, sessionIds: readonly string[], now: Date): NamespaceStep {
  const gone = new Set(sessionIds);
  const left: NamespaceState = {
    ...inMonth(state, now),
    holders: state.holders.filter((h) => !gone.has(h.sessionId)),
    queue: state.queue.filter((q) => !gone.has(q.sessionId)),
  };
  const next = promote(left);
  return { state: next, notices: noticesBetween(state, next) };
}

/**
 * One attempt's spending into the month's ledger, once per key. When it takes the month to the
 * cap the charge carries, the step says so.
 */
export function charge(state: NamespaceState, usage: UsageCharge, now: Date): NamespaceStep {
  const current = inMonth(state, now);
  if (current.recentCharges.includes(usage.key)) return { state: current, notices: new Map() };
  const spentUsd = current.spentUsd + (usage.costUsd ?? 0);
  const next: NamespaceState = {
    ...current,
    spentUsd,
    tokens: current.tokens + usage.tokens,
    recentCharges: [...current.recentCharges, usage.key].slice(-RECENT_CHARGES),
  };
  if (usage.monthlyCapUsd === undefined) delete next.monthlyCapUsd;
  else next.monthlyCapUsd = usage.monthlyCapUsd;
  const cap = next.monthlyCapUsd;
  const step: NamespaceStep = { state: next, notices: new Map() };
  if (cap !== undefined && spentUsd >= cap) step.capReached = { month: next.month, spentUsd, capUsd: cap };
  return step;
}

/** The NamespacePolicy status for `state`. */
export function usageStatus(state: NamespaceState): NamespaceUsageStatus {
  return {
    month: state.month,
    spentUsd: Math.round(state.spentUsd * 1e6) / 1e6,
    tokens: state.tokens,
    runningSessions: state.holders.length,
    queuedSessions: state.queue.length,
  };
}
