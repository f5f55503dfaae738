/**
 * The FollowUpSignals on Temporal, the same in both runtimes: a prompt goes through
 * sendSessionPrompt (the one client command every source uses), the end of a pull request is the
 * `pullRequestClosed` signal to the session's workflow, and a workflow that is not running is left
 * alone.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { sendSessionPrompt } from '../../session-client/session-commands.js';
import { pullRequestClosedSignal, sessionWorkflowId } from '../../workflows/session-contract.js';
import type { FollowUpSignals } from './follow-up-ports.js';

/** The session workflows through `client`. */
export function temporalFollowUpSignals(client: Client): FollowUpSignals {
  return {
    sendPrompt: (namespace, name, input, updateId) =>
      sendSessionPrompt(client, namespace, name, input, 'prompt', updateId ? { updateId } : {}),
    async pullRequestClosed(namespace, name, closed) {
      try {
        await client.workflow
          .getHandle(sessionWorkflowId(namespace, name))
          .signal(pullRequestClosedSignal, closed);
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },
  };
}
