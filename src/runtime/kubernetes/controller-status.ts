/**
 * The only statuses the AgentSession controller writes, for the two cases no workflow is there to
 * write one: a session held unstarted by desiredState Stopped, and a session whose run closed in
 * Temporal (terminated, timed out, cancelled, failed) without writing its final status. Pure, so
 * what the user reads in each case is checked without a cluster; every other status is the
 * workflow's.
 */
import { ConditionType, Reason, setStatusCondition } from '../../resources/conditions.js';
import type { AgentSessionStatus } from '../../resources/types.js';
import { finished } from '../../workflows/session-status.js';
import type { AbnormalClose } from './session-decision.js';

/** The status of a session created (or edited before it ever ran) with desiredState Stopped. */
export function heldStatus(generation: number, now: Date): AgentSessionStatus {
  const { conditions } = setStatusCondition(
    [],
    {
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.Held,
      message:
        'Created with spec.desiredState Stopped: nothing was started. Set spec.desiredState to ' +
        'Running (or run `shepherd restart`) to start it.',
      observedGeneration: generation,
    },
    now,
  );
  return { phase: 'Stopped', observedGeneration: generation, conditions };
}

const CLOSES: Record<AbnormalClose, { reason: Reason; what: string }> = {
  TERMINATED: { reason: Reason.WorkflowTerminated, what: 'was terminated in Temporal' },
  TIMED_OUT: { reason: Reason.WorkflowTimedOut, what: 'ran past its Temporal workflow timeout' },
  CANCELLED: { reason: Reason.WorkflowClosed, what: 'was cancelled in Temporal' },
  FAILED: { reason: Reason.WorkflowClosed, what: 'failed in Temporal' },
};

/**
 * The final status of a session whose run `runId` of `workflowId` closed without writing one:
 * phase Failed, the reason saying how it closed, the message how to run it again. The rest of the
 * status (attempt, runner, result) is kept, as the last the workflow wrote.
 */
export function closedRunStatus(
  status: AgentSessionStatus | undefined,
  closed: { workflowId: string; runId: string; close: AbnormalClose },
  now: Date,
): AgentSessionStatus {
  const { reason, what } = CLOSES[closed.close];
  const message =
    `The session's workflow ${closed.workflowId} (run ${closed.runId}) ${what} before the session ` +
    'finished, so no runner is working on it. Run `shepherd restart` (or set spec.desiredState ' +
    'to Stopped and then to Running) to run it again on the same workspace.';
  return finished(
    { ...status, workflowId: closed.workflowId, runId: closed.runId },
    'Failed',
    reason,
    message,
    now,
  );
}
