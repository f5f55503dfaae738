/**
 * The namespace workflow (id `shepherd-namespace/<namespace>`): the semaphore and the monthly
 * ledger of one namespace's sessions. Sessions signal it to take or give back a slot and to charge
 * what an attempt spent; it tells each waiting session its place, each holder when the month's
 * cap is reached, and writes the totals into the NamespacePolicy's status. Its state lives in
 * Temporal, so any worker may run it and a worker that dies loses nothing. It never ends by
 * itself: it continues as new when its history grows, carrying the state.
 */
import {
  type ActivityOptions,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  acquireSlotSignal,
  chargeUsageSignal,
  type MonthlyCapReached,
  monthlyCapReachedSignal,
  type NamespaceActivities,
  type NamespaceState,
  type NamespaceWorkflowInput,
  namespaceStateQuery,
  releaseSlotSignal,
  type SlotNotice,
  slotNoticeSignal,
} from './namespace-contract.js';
import {
  acquire,
  charge,
  emptyNamespace,
  type NamespaceStep,
  release,
  usageStatus,
} from './namespace-state.js';

/** Status writes and liveness checks are short; a failing one is tried again later, never fatal. */
const CALLS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
  },
};

/** At most one status write per this interval: a busy namespace does not flood the API server. */
const STATUS_INTERVAL_MS = 2_000;

/**
 * How often the slots of sessions whose workflows closed without giving them back (terminated by
 * an operator, say) are reclaimed.
 */
const SWEEP_INTERVAL_MS = 5 * 60_000;

/** Continue as new past this many events, if Temporal has not suggested it before. */
const MAX_HISTORY_EVENTS = 10_000;

/** The namespace workflow. */
export async function namespaceWorkflow(input: NamespaceWorkflowInput): Promise<void> {
  const { writeNamespaceStatus, closedSessions } = proxyActivities<NamespaceActivities>({
    ...CALLS,
    summary: `namespace ${input.namespace}`,
  });
  let state: NamespaceState = input.state ?? emptyNamespace(new Date(Date.now()));
  let dirty = true;
  // Signals in flight, awaited before the run continues as new.
  const outbox = new Set<Promise<void>>();
  const send = (signal: Promise<void>) => {
    outbox.add(signal);
    void signal.finally(() => outbox.delete(signal));
  };

  const notify = (sessionId: string, notice: SlotNotice) =>
    getExternalWorkflowHandle(sessionId)
      .signal(slotNoticeSignal, notice)
      .catch(() => {
        // The session's workflow is gone: it holds nothing any more.
        apply(release(state, [sessionId], new Date(Date.now())));
      });
  const tellCap = (sessionId: string, reached: MonthlyCapReached) =>
    getExternalWorkflowHandle(sessionId)
      .signal(monthlyCapReachedSignal, reached)
      .catch(() => undefined);
  const apply = (step: NamespaceStep) => {
    state = step.state;
    dirty = true;
    for (const [sessionId, notice] of step.notices) send(notify(sessionId, notice));
    if (step.capReached) {
      for (const holder of state.holders) send(tellCap(holder.sessionId, step.capReached));
    }
  };

  setHandler(namespaceStateQuery, () => state);
  setHandler(acquireSlotSignal, (request) => apply(acquire(state, request, new Date(Date.now()))));
  setHandler(releaseSlotSignal, ({ sessionId }) => apply(release(state, [sessionId], new Date(Date.now()))));
  setHandler(chargeUsageSignal, (usage) => apply(charge(state, usage, new Date(Date.now()))));

  let nextSweep = Date.now() + SWEEP_INTERVAL_MS;
  for (;;) {
    if (dirty) {
      dirty = false;
      // A write that keeps failing is given up: the next change writes the status again.
      await writeNamespaceStatus({ namespace: input.namespace, status: usageStatus(state) }).catch(
        () => undefined,
      );
      await sleep(STATUS_INTERVAL_MS);
    }
    if (Date.now() >= nextSweep) {
      nextSweep = Date.now() + SWEEP_INTERVAL_MS;
      const ids = [...state.holders, ...state.queue].map((e) => e.sessionId);
      if (ids.length > 0) {
        const closed = await closedSessions({ sessionIds: ids }).catch(() => []);
        if (closed.length > 0) apply(release(state, closed, new Date(Date.now())));
      }
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= MAX_HISTORY_EVENTS) {
      await Promise.all([...outbox]);
      await continueAsNew<typeof namespaceWorkflow>({ namespace: input.namespace, state });
    }
    await condition(() => dirty, Math.max(1, nextSweep - Date.now()));
  }
}
