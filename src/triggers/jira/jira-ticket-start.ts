/**
 * Starts the workflow of one Jira ticket, id `jira/<site>/<key>`: the poller does it for every
 * ticket its JQL finds, the Jira webhook route for every matching delivery. While a run of that id
 * is open a second start fails and counts as done, so two pollers, a webhook and a poll meet one
 * run; a later run (the id may be reused once the run closed) re-reads the ticket and finds it
 * claimed. That, and the claim in Jira, is what keeps a ticket to one session.
 */
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { AgentTrigger } from '../../resources/types.js';
import type { TriggerEvent } from '../trigger-event.js';
import { jiraSite } from './jira-client.js';
import {
  canonicalJiraKey,
  JIRA_TICKET_WORKFLOW_TYPE,
  type JiraTicketInput,
  jiraTicketWorkflowId,
} from './jira-contract.js';
import { JiraConfigError } from './jira-errors.js';

/** What a start did. */
export type JiraTicketStartOutcome = 'started' | 'already-running';

/** What the webhook route hands over: the matched trigger and the parsed event. */
export interface StartJiraTicketArgs {
  trigger: AgentTrigger;
  event: TriggerEvent;
}

/** The function the webhook route is given. */
export type StartJiraTicket = (args: StartJiraTicketArgs) => Promise<JiraTicketStartOutcome>;

/**
 * A ticket run is short (a read, a claim, a create); a bound on it keeps a run that cannot end
 * (a worker that never comes) from holding the ticket's id for ever.
 */
const TICKET_RUN_TIMEOUT = '1 hour';

/** Starts the ticket's workflow unless a run of its id is open. */
export async function startJiraTicketWorkflow(
  client: Client,
  taskQueue: string,
  input: JiraTicketInput,
): Promise<JiraTicketStartOutcome> {
  try {
    await client.workflow.start(JIRA_TICKET_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: jiraTicketWorkflowId(input.site, input.key),
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowExecutionTimeout: TICKET_RUN_TIMEOUT,
      staticSummary: `Jira ticket ${input.key} on ${input.site}`,
      staticDetails: `From AgentTrigger \`${input.trigger}\` in namespace \`${input.namespace}\` (${input.origin})`,
    });
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already-running';
    throw error;
  }
}

/** The ticket input for a webhook's event. Throws JiraConfigError naming what is missing. */
export function webhookTicketInput(trigger: AgentTrigger, event: TriggerEvent): JiraTicketInput {
  const namespace = trigger.metadata.namespace ?? 'default';
  const url = trigger.spec.jira?.url;
  if (!url) {
    throw new JiraConfigError(
      `AgentTrigger ${trigger.metadata.name} in namespace ${namespace} has no spec.jira.url; set the Jira site's address`,
    );
  }
  const key = canonicalJiraKey(event.jira?.key ?? '');
  if (!key) {
    throw new JiraConfigError(
      `the Jira event ${event.deliveryId} names no ticket key (event.jira.key "${event.jira?.key ?? ''}")`,
    );
  }
  return {
    namespace,
    trigger: trigger.metadata.name,
    // The trigger's site, not the payload's: the poll uses it too, so both meet on one id.
    site: jiraSite(url),
    key,
    ...(event.jira?.status ? { seenStatus: event.jira.status } : {}),
    origin: 'webhook',
    webhookEvent: event,
  };
}

/** The `startJiraTicket` the webhook route calls. */
export function jiraTicketStarter(options: { client: Client; taskQueue: string }): StartJiraTicket {
  return ({ trigger, event }) =>
    startJiraTicketWorkflow(options.client, options.taskQueue, webhookTicketInput(trigger, event));
}
