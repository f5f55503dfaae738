/**
 * The Temporal activity a runtime call runs in, when it runs in one. A wait inside an activity
 * heartbeats (so the workflow can give it a short heartbeat timeout) and ends when the activity is
 * cancelled; the same code called outside an activity (tests, the CLI) just waits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    // Not inside an activity.
    return undefined;
  }
}

/** Records progress for the activity's heartbeat timeout; a no-op outside an activity. */
export function heartbeat(details?: unknown): void {
  currentContext()?.heartbeat(details);
}

/**
 * Waits `ms`, or rejects with the activity's cancellation (a CancelledFailure) as soon as the
 * activity is cancelled. Cancellation reaches an activity only through its heartbeats, so call
 * `heartbeat` in the same loop.
 */
export async function pause(ms: number): Promise<void> {
  const context = currentContext();
  if (context) await context.sleep(ms);
  else await sleep(ms);
}
