/**
 * Reading a session's outcome in workflow tests: its conditions by type, and what its runtime
 * was asked to do, in the terms a user reads them in (`kubectl get ags -o yaml`).
 */
import type { Condition } from '../../../src/resources/types.js';
import type { SessionState } from '../../../src/workflows/session-contract.js';

/** The condition of `type` in the session's status, if it has one. */
export function conditionOf(state: SessionState, type: string): Condition | undefined {
  return state.status.conditions?.find((condition) => condition.type === type);
}

/** A condition's status and reason, e.g. `True/Succeeded`, or `absent`. */
export function statusOf(state: SessionState, type: string): string {
  const condition = conditionOf(state, type);
  return condition ? `${condition.status}/${condition.reason}` : 'absent';
}

/** How long the run took in workflow time, from the status's start to completion. */
export function runDurationMs(state: SessionState): number {
  const { startTime, completionTime } = state.status;
  if (!startTime || !completionTime) throw new Error('the session has not completed');
  return Date.parse(completionTime) - Date.parse(startTime);
}
