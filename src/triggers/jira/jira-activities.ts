/**
 * The activities of the Jira workflows: re-read a ticket and decide, claim it, create its session,
 * tell the ticket when a claimed one got no session, and poll a trigger's JQL. Each looks the
 * trigger up in the catalog when it runs, so a changed or deleted trigger takes effect at once,
 * and reads the Jira credentials from its Secret there and then, so they never enter a workflow's
 * history.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import type { AgentTrigger } from '../../resources/types.js';
import type { SecretSource } from '../secret-source.js';
import type { TriggerCatalog } from '../trigger-catalog.js';
import { triggeredSession } from '../trigger-session.js';
import {
  findTransition,
  jiraClientForTrigger,
  type JiraClient,
  jiraSite,
  type JiraTriggerClientOptions,
} from './jira-client.js';
import {
  canonicalJiraKey,
  type JiraActivities,
  type JiraCheckResult,
  type JiraClaimResult,
  type JiraPollResult,
  type JiraSkipReason,
  type ResolvedClaim,
} from './jira-contract.js';
import { JiraRefusedError } from './jira-errors.js';
import { startJiraTicketWorkflow } from './jira-ticket-start.js';
import { claimDecision, jiraTicketEvent } from './jira-ticket.js';
import { SessionRefusedError, type SessionCreator } from './session-creator.js';

/** What the Jira activities need. */
export interface JiraActivityDeps {
  /** The triggers, from memory. */
  triggers: Pick<TriggerCatalog, 'get' | 'ready'>;
  /** Where the Jira credentials are read. */
  secrets: SecretSource;
  /** Makes the session: the AgentSession CR, or the local session workflow. */
  createSession: SessionCreator;
  /** Temporal, for the poll to start ticket workflows. */
  client: Client;
  /** The task queue of the Jira workflows (the worker's). */
  taskQueue: string;
  logger: Logger;
  /**
   * Most tickets one poll starts; the rest wait for the next poll.
   * @default 50
   */
  maxTicketsPerPoll?: number;
  /** Options of the Jira clients (request timeout, schema checks). */
  jira?: JiraTriggerClientOptions;
}

/** How often a long poll says it is alive (its heartbeat timeout is a minute). */
const HEARTBEAT_MS = 15_000;

type Skip = { outcome: 'skip'; reason: JiraSkipReason; message: string };

const skip = (reason: JiraSkipReason, message: string): Skip => ({ outcome: 'skip', reason, message });

/** The Jira activities, for the worker to register. */
export function createJiraActivities(deps: JiraActivityDeps): JiraActivities {
  const { triggers, secrets, createSession, logger } = deps;
  const maxTickets = deps.maxTicketsPerPoll ?? 50;

  /** The trigger, or why it cannot be used. */
  const lookup = async (namespace: string, name: string): Promise<AgentTrigger | Skip> => {
    await triggers.ready();
    const entry = triggers.get(namespace, name);
    const what = `AgentTrigger ${name} in namespace ${namespace}`;
    if (!entry) return skip('TriggerUnavailable', `${what} no longer exists`);
    if (entry.problem) return skip('TriggerUnavailable', `${what} cannot be used: ${entry.problem}`);
    if (entry.trigger.spec.source !== 'jira' || !entry.trigger.spec.jira) {
      return skip('TriggerUnavailable', `${what} is no longer a jira trigger`);
    }
    return entry.trigger;
  };
  const isSkip = (value: AgentTrigger | Skip): value is Skip => 'outcome' in value;
  const jiraOf = (trigger: AgentTrigger): Promise<JiraClient> =>
    jiraClientForTrigger(trigger, secrets, deps.jira);

  return {
    async checkJiraTicket(input): Promise<JiraCheckResult> {
      const trigger = await lookup(input.namespace, input.trigger);
      if (isSkip(trigger)) return trigger;
      const jira = await jiraOf(trigger);
      const ticket = await jira.getTicket(input.key);
      if (!ticket) {
        return skip(
          'TicketGone',
          `ticket ${input.key} does not exist on ${input.site}, or the account cannot see it`,
        );
      }
      const claim = trigger.spec.jira?.claim;
      const decision = claimDecision(ticket, claim, input.seenStatus);
      if (decision.action === 'skip') return skip(decision.reason, decision.message);
      let resolved: ResolvedClaim | undefined;
      if (claim?.transition) {
        const offered = await jira.transitions(ticket.key);
        const chosen = findTransition(offered, claim.transition);
        if (!chosen) {
          return skip(
            'ClaimRefused',
            `the claim's transition "${claim.transition}" (spec.jira.claim.transition) is not offered for ticket ${ticket.key} in status "${ticket.status ?? 'unknown'}"` +
              (offered.length > 0 ? `; it offers: ${offered.map((t) => t.name).join(', ')}` : ''),
          );
        }
        resolved = { transition: chosen };
      } else if (claim?.assignee) {
        resolved = { assignee: claim.assignee };
      }
      // A claim makes each run's session its own (a ticket reopened later gets a new one); without
      // one the key alone names the session, so a ticket found again meets the session it has.
      const { info } = Context.current();
      const deliveryId = resolved
        ? `${ticket.key}/${info.workflowExecution?.runId ?? info.activityId}`
        : ticket.key;
      return {
        outcome: 'claimable',
        event: jiraTicketEvent({
          site: input.site,
          ticket,
          deliveryId,
          ...(input.webhookEvent ? { webhookEvent: input.webhookEvent } : {}),
        }),
        ...(resolved ? { claim: resolved } : {}),
      };
    },

    async claimJiraTicket(input): Promise<JiraClaimResult> {
      const trigger = await lookup(input.namespace, input.trigger);
      if (isSkip(trigger)) return trigger;
      const jira = await jiraOf(trigger);
      const where = { trigger: input.trigger, namespace: input.namespace, key: input.key };
      if ('assignee' in input.claim) {
        // Assigning again to the same account changes nothing, so a retry is harmless.
        await jira.assign(input.key, input.claim.assignee);
        logger.info({ ...where, how: 'assignee' }, 'Jira ticket claimed');
        return { outcome: 'claimed' };
      }
      const { id, name, to } = input.claim.transition;
      const ticket = await jira.getTicket(input.key);
      if (!ticket) return skip('TicketGone', `ticket ${input.key} is gone from ${input.site}`);
      // Already where the claim leads: an earlier attempt of this activity applied it.
      if (to !== undefined && ticket.status?.trim().toLowerCase() === to.trim().toLowerCase()) {
        return { outcome: 'claimed' };
      }
      try {
        await jira.applyTransition(input.key, id);
      } catch (error) {
        // Jira refuses a transition the ticket's status no longer offers: it changed meanwhile.
        if (error instanceof JiraRefusedError && (error.status === 400 || error.status === 409)) {
          return skip('ClaimRefused', `the claim's transition "${name}" was refused: ${error.message}`);
        }
        throw error;
      }
      logger.info({ ...where, how: 'transition', transition: name }, 'Jira ticket claimed');
      return { outcome: 'claimed' };
    },

    async createTriggeredSession(input) {
      const trigger = await lookup(input.namespace, input.trigger);
      if (isSkip(trigger)) {
        throw new SessionRefusedError(
          `no session for ticket ${input.event.jira?.key ?? ''}: ${trigger.message}`,
        );
      }
      const session = triggeredSession(trigger, input.event);
      const outcome = await createSession(session);
      logger.info(
        { trigger: input.trigger, namespace: session.namespace, session: session.name, outcome },
        outcome === 'created' ? 'triggered session created' : 'triggered session already exists',
      );
      return { outcome, namespace: session.namespace, name: session.name };
    },

    async reportJiraStartFailure(input) {
      const trigger = await lookup(input.namespace, input.trigger);
      if (isSkip(trigger)) return;
      const jira = await jiraOf(trigger);
      await jira.comment(
        input.key,
        `Shepherd claimed this ticket for AgentTrigger ${input.trigger} but could not start its session:\n${input.message}`,
      );
    },

    async pollJiraTrigger(input): Promise<JiraPollResult> {
      const trigger = await lookup(input.namespace, input.trigger);
      if (isSkip(trigger)) return { found: 0, started: 0, running: 0, skipped: trigger.message };
      const jql = trigger.spec.match?.jql;
      if (!jql) {
        return { found: 0, started: 0, running: 0, skipped: 'the trigger has no spec.match.jql to poll' };
      }
      const site = jiraSite(trigger.spec.jira?.url ?? '');
      const jira = await jiraOf(trigger);
      // A search of many pages outlasts the heartbeat timeout; beat while it runs.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      let tickets;
      try {
        tickets = await jira.search(jql, maxTickets);
      } finally {
        clearInterval(beat);
      }
      let started = 0;
      let running = 0;
      for (const ticket of tickets) {
        const key = canonicalJiraKey(ticket.key);
        if (!key) continue;
        const outcome = await startJiraTicketWorkflow(deps.client, deps.taskQueue, {
          namespace: input.namespace,
          trigger: input.trigger,
          site,
          key,
          ...(ticket.status ? { seenStatus: ticket.status } : {}),
          origin: 'poll',
        });
        if (outcome === 'started') started += 1;
        else running += 1;
        context.heartbeat();
      }
      logger.info(
        { trigger: input.trigger, namespace: input.namespace, site, found: tickets.length, started, running },
        'Jira poll done',
      );
      return { found: tickets.length, started, running };
    },
  };
}
