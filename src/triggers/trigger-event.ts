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
  | 'jiraTicket'
  /** A reply in a Slack thread: a follow-up for the session of that thread, never a new session. */
  | 'threadReply'
  /** A pull request was merged or closed: ends the idle session whose output branch it is. */
  | 'pullRequestClosed';

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
  /**
   * A pull request's head branch, when the payload says it (GitHub's review events and
   * `pull_request`, Gitea's comments on pull requests); a GitHub `issue_comment` does not.
   */
  headBranch?: string;
  /** `owner/name` of the repository the head branch is in: another one for a fork's pull request. */
  headRepository?: string;
}

/** Where in a pull request's diff a review comment is. */
export interface DiffPosition {
  path: string;
  /** The line of the file the comment is on (the last of a range). */
  line?: number;
  /** The first line of a multi-line comment. */
  startLine?: number;
  /** The diff hunk up to the line, as the forge shows it above the comment. */
  diffHunk?: string;
  /** The commit the comment was written on. */
  commitId?: string;
}

/** A comment on a pull request's diff, or a review, as the payload tells it. */
export interface ReviewContext {
  /** `comment`: a comment on a line of the diff; `review`: a submitted review (its body is the text). */
  kind: 'comment' | 'review';
  /** The comment's diff position (a `comment`; Gitea's payloads carry none, the thread does). */
  position?: DiffPosition;
  /** The review's id (GitHub's review comments and reviews; Gitea's payloads name none). */
  reviewId?: number;
  /** The thread's first comment, when this comment replies to it (GitHub `in_reply_to_id`). */
  inReplyTo?: number;
  /** A review's verdict: `approved`, `changes_requested`, `commented`. */
  state?: string;
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
  /** The comment or message text (comment, slashCommand, appMention, threadReply). */
  text?: string;
  /** The comment's id on the forge, to read its review thread. */
  commentId?: number;
  /** A comment on the diff, or a review, of a pull request. */
  review?: ReviewContext;
  /** pullRequestClosed: merged, or closed without merging. */
  merged?: boolean;
  /** Links the prompt should mention (comment URL, message permalink). */
  links?: string[];
  /**
   * Slack: where to reply. `threadTs` is the thread the message is in, or for a message outside
   * any thread the message itself (where a reply starts its thread); `inThread` says which.
   */
  slack?: { teamId?: string; channel: string; threadTs?: string; responseUrl?: string; inThread?: boolean };
  /** Jira: which ticket on which site. */
  jira?: { site: string; key: string; status?: string };
}
