/**
 * The contract between the Jira workflows and everything that starts or runs them: workflow types,
 * the ids that make "one session per ticket" hold (`jira/<site>/<key>` for a ticket, and
 * `jira-poll/<namespace>/<trigger>` for a trigger's Schedule), inputs, results and the activities'
 * shapes. Imported by workflow code, so it stays free of Node built-ins.
 */
import type { TriggerEvent } from '../trigger-event.js';

/** Name of the ticket workflow, for clients that start it by name. */
export const JIRA_TICKET_WORKFLOW_TYPE = 'jiraTicketWorkflow';

/** Name of the poll workflow a trigger's Schedule runs. */
export const JIRA_POLL_WORKFLOW_TYPE = 'jiraPollWorkflow';

/** Prefix of every Schedule id the reconciler makes; it deletes nothing outside it. */
export const JIRA_POLL_SCHEDULE_PREFIX = 'jira-poll/';

/**
 * Failure types retrying cannot fix: Jira refused the request (bad credentials, no permission,
 * an unknown ticket or transition), the trigger is unusable (no Secret, bad URL), or the session
 * was refused (a template the AgentSession schema does not take, a namespace that does not exist).
 */
export const JIRA_NON_RETRYABLE = ['JiraRefusedError', 'JiraConfigError', 'SessionRefusedError'];

/** The project key and number of a ticket, upper-cased, as Jira's keys compare case-insensitively. */
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/;

/** The ticket key in its canonical (upper-case) form, or undefined when it is not a Jira key. */
export function canonicalJiraKey(key: string): string | undefined {
  return KEY_PATTERN.test(key) ? key.toUpperCase() : undefined;
}

/** The workflow id of a ticket: one per site and key, whichever poller or webhook starts it. */
export function jiraTicketWorkflowId(site: string, key: string): string {
  return `jira/${site}/${key}`;
}

/** The Schedule id of a trigger's poll. */
export function jiraPollScheduleId(namespace: string, trigger: string): string {
  return `${JIRA_POLL_SCHEDULE_PREFIX}${namespace}/${trigger}`;
}

/** Input of the ticket workflow. */
export interface JiraTicketInput {
  /** The trigger's namespace. */
  namespace: string;
  /** The AgentTrigger's name. */
  trigger: string;
  /** The host of the trigger's `spec.jira.url`. */
  site: string;
  /** The ticket key, canonical. */
  key: string;
  /**
   * The status the poll or the webhook saw the ticket in; a ticket since moved to another status
   * is left alone.
   */
  seenStatus?: string;
  /** Who started it. */
  origin: 'poll' | 'webhook';
  /** The webhook's parsed event: its actor, label and links go into the session's event. */
  webhookEvent?: TriggerEvent;
}

/** Why a ticket got no session. */
export type JiraSkipReason =
  /** The trigger was deleted, or cannot be used now (its catalog entry says why). */
  | 'TriggerUnavailable'
  /** The ticket no longer exists, or the account can no longer see it. */
  | 'TicketGone'
  /** The ticket left the status it was found in. */
  | 'TicketMoved'
  /** The ticket is already in the claim's status, or already assigned. */
  | 'AlreadyClaimed'
  /** The claim's transition is not offered from the ticket's status, or Jira refused it. */
  | 'ClaimRefused';

/**
 * The trigger's claim as the check found it applicable: the transition Jira offers for the
 * ticket now (and the status it leads to, by which a retried claim knows it already applied), or
 * the account to assign.
 */
export type ResolvedClaim = { transition: { id: string; name: string; to?: string } } | { assignee: string };

/** What the check of a ticket found. */
export type JiraCheckResult =
  | { outcome: 'skip'; reason: JiraSkipReason; message: string }
  /**
   * Claimable: the event the session is built from (with a delivery id unique to this run), and
   * the claim to apply, when the trigger has one.
   */
  | { outcome: 'claimable'; event: TriggerEvent; claim?: ResolvedClaim };

/** Input of the claim. */
export type JiraClaimInput = JiraTicketInput & { claim: ResolvedClaim };

/** What applying the claim did. */
export type JiraClaimResult =
  { outcome: 'claimed' } | { outcome: 'skip'; reason: JiraSkipReason; message: string };

/** Input of the activity that creates the session. */
export interface CreateTriggeredSessionInput {
  namespace: string;
  trigger: string;
  event: TriggerEvent;
}

/** What creating the session did. */
export interface CreateTriggeredSessionResult {
  outcome: 'created' | 'exists';
  namespace: string;
  name: string;
}

/** What a ticket workflow did. */
export type JiraTicketResult =
  | { outcome: 'created' | 'exists'; session: { namespace: string; name: string } }
  | { outcome: 'skipped'; reason: JiraSkipReason; message: string };

/** Input of the poll workflow: the trigger, looked up fresh at every poll. */
export interface JiraPollInput {
  namespace: string;
  trigger: string;
}

/** What one poll did. */
export interface JiraPollResult {
  /** Tickets the JQL returned (at most the poll's limit). */
  found: number;
  /** Ticket workflows started. */
  started: number;
  /** Tickets whose workflow was already running. */
  running: number;
  /** Why nothing was searched, when nothing was. */
  skipped?: string;
}

/** The Jira activities, as the workflows call them. */
export interface JiraActivities {
  /** Re-reads the ticket and decides whether it can still be claimed. */
  checkJiraTicket(input: JiraTicketInput): Promise<JiraCheckResult>;
  /** Applies the claim; idempotent (a ticket already in the claim's status is claimed). */
  claimJiraTicket(input: JiraClaimInput): Promise<JiraClaimResult>;
  /** Creates the trigger's session for the event; a session of that name already there is `exists`. */
  createTriggeredSession(input: CreateTriggeredSessionInput): Promise<CreateTriggeredSessionResult>;
  /** Tells the ticket that it was claimed but no session could be started. Best effort. */
  reportJiraStartFailure(input: JiraTicketInput & { message: string }): Promise<void>;
  /** Runs the trigger's JQL and starts a ticket workflow per ticket found. */
  pollJiraTrigger(input: JiraPollInput): Promise<JiraPollResult>;
}
