/**
 * The Jira workflows. `jiraTicketWorkflow` (id `jira/<site>/<key>`, one run open per ticket at a
 * time) re-reads the ticket, claims it, and creates its session; `jiraPollWorkflow` is what a
 * trigger's Schedule runs: one poll of its JQL, starting a ticket workflow per ticket found.
 * Every activity has a bounded retry; the failure types in JIRA_NON_RETRYABLE are not retried.
 */
import {
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
} from '@temporalio/workflow';
import {
  JIRA_NON_RETRYABLE,
  type JiraActivities,
  type JiraPollInput,
  type JiraPollResult,
  type JiraTicketInput,
  type JiraTicketResult,
} from '../triggers/jira/jira-contract.js';

/** Jira and Kubernetes calls are short: a site down for minutes ends the run with its cause. */
const CALLS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: JIRA_NON_RETRYABLE,
  },
};

/** Telling the ticket about a failure is worth a few tries, not more. */
const REPORT: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { ...CALLS.retry, maximumAttempts: 3 },
};

/** A poll that fails is retried a little; the next one comes at the next interval anyway. */
const POLL: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { ...CALLS.retry, maximumAttempts: 3 },
};

const { checkJiraTicket, claimJiraTicket, createTriggeredSession } = proxyActivities<JiraActivities>(CALLS);
const { reportJiraStartFailure } = proxyActivities<JiraActivities>(REPORT);
const { pollJiraTrigger } = proxyActivities<JiraActivities>(POLL);

/** The message of an activity's failure, for the ticket. */
function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message;
  return String(cause);
}

/** One ticket: check, claim, session. */
export async function jiraTicketWorkflow(input: JiraTicketInput): Promise<JiraTicketResult> {
  const check = await checkJiraTicket(input);
  if (check.outcome === 'skip') return { outcome: 'skipped', reason: check.reason, message: check.message };
  if (check.claim) {
    const claimed = await claimJiraTicket({ ...input, claim: check.claim });
    if (claimed.outcome === 'skip') {
      return { outcome: 'skipped', reason: claimed.reason, message: claimed.message };
    }
  }
  try {
    const created = await createTriggeredSession({
      namespace: input.namespace,
      trigger: input.trigger,
      event: check.event,
    });
    return { outcome: created.outcome, session: { namespace: created.namespace, name: created.name } };
  } catch (error) {
    // The ticket is claimed, so no poll finds it again: say on it why nothing started.
    if (check.claim) {
      await reportJiraStartFailure({ ...input, message: failureMessage(error) }).catch(() => undefined);
    }
    throw error;
  }
}

/** One poll of a trigger's JQL. */
export async function jiraPollWorkflow(input: JiraPollInput): Promise<JiraPollResult> {
  return pollJiraTrigger(input);
}
