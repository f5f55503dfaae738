/**
 * What a source said, once its webhook delivery (or a Jira poll) is verified and parsed: one shape
 * for every source, so matching a trigger, building the session and the feedback never look at a
 * source's own payload again. Pure data; the parsers per source build it.
 */
import type { TriggerSource } from '../resources/types.js';

/** The kinds of event that can start a session. */
export type TriggerEventKind =
  /** An issue got a label. */
  | 'issueLabeled'
  /** An issue was assigned to someone. */
  | 'issueAssigned'
  /** A comment on an issue or pull request. */
  | 'comment'
  /** A Slack slash command. */
  | 'slashCommand'
  /** A Slack message that mentions the app. */
  | 'appMention'
  /** A Jira ticket found by a poll, moved to a status, or labelled. */
  | 'jiraTicket';

/** The issue, ticket or message the event is about. */
export interface TriggerSubject {
  title?: string;
  body?: string;
  /** Its web page. */
  url?: string;
  /** Issue or pull request number (forges). */
  number?: number;
  /** Whether the forge issue is a pull request (comments on pull requests). */
  isPullRequest?: boolean;
  labels?: string[];
}

/** A verified, parsed event of a source. */
export interface TriggerEvent {
  source: TriggerSource;
  kind: TriggerEventKind;
  /**
   * What makes a redelivery recognisable: the webhook's delivery id (GitHub `X-GitHub-Delivery`,
   * Gitea `X-Gitea-Delivery`, Slack's event id or trigger id, Jira's webhook identifier), or for a
   * Jira poll `<key>`. Two events with the same source and delivery id start one session.
   */
  deliveryId: string;
  /** `owner/name` on a forge. */
  repository?: string;
  /** The repository's HTTP(S) clone URL (forges). */
  cloneUrl?: string;
  /** The repository's default branch (forges). */
  defaultBranch?: string;
  /** The label added (issueLabeled, Jira label). */
  label?: string;
  /** The login (or Jira accountId) the issue was assigned to (issueAssigned). */
  assignee?: string;
  /** Who did it: the login, Slack user id or Jira account. */
  actor?: string;
  subject: TriggerSubject;
  /** The comment or message text (comment, slashCommand, appMention). */
  text?: string;
  /** Links the prompt should mention (comment URL, message permalink). */
  links?: string[];
  /** Slack: where to reply. */
  slack?: { teamId?: string; channel: string; threadTs?: string; responseUrl?: string };
  /** Jira: which ticket on which site. */
  jira?: { site: string; key: string; status?: string };
}
