/**
 * The activities that take a session's outcome back to where people are: the pull requests for
 * the pushed branches, and the feedback to the source that started the session (an issue comment,
 * a Jira comment and transition, a Slack thread reply). They run in the worker whatever the
 * runtime, and the workflow imports only this type. Both are idempotent and bounded; neither can
 * fail a session: the workflow records what they could not do.
 */
import type { Phase, ReconciledRepo, Usage } from '../resources/types.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import type { SessionRef } from '../runtime/session-activities.js';

/** What `publishPullRequests` works from. */
export interface PublishInput {
  session: SessionRef;
  /** The session's repositories, settings, pull request spec and trigger. */
  resolved: ResolvedSession;
  /** `status.reconciledRepos` as the runner reported them. */
  reported: ReconciledRepo[];
  /** The runner's summary, for the pull request's title and body. */
  result?: string;
  usage?: Usage;
}

/** What became of each repository: the reported entries, checked and with their pull requests. */
export interface PublishOutput {
  repos: ReconciledRepo[];
  /** What the forges refused, one line per repository (`<url>: <why>`); the branches are pushed. */
  refused: string[];
  /**
   * The repositories whose output branch is not on the forge at the reported commit, one line each
   * (`<url>: <what the forge shows>`): the session fails, as its work is not where it says.
   */
  notFound: string[];
}

/**
 * Which moment of the session the feedback is about: its start, its end, a conversation's turn
 * finished (the session now waits for the next prompt), or the agent's question.
 */
export type FeedbackMoment = 'started' | 'ended' | 'turn' | 'question';

/** What `sendFeedback` tells the source. */
export interface FeedbackInput {
  session: SessionRef;
  resolved: ResolvedSession;
  moment: FeedbackMoment;
  /** For `ended`: how the session ended. */
  phase?: Phase;
  reason?: string;
  message?: string;
  result?: string;
  usage?: Usage;
  repos?: ReconciledRepo[];
  /** For a failed session: the attempt whose runner log the tail is read from. */
  attempt?: number;
  /** For `turn` and `question`: the turn that finished or asked. */
  turn?: number;
  /** For `question`: what the agent asked. */
  question?: string;
  /** For `turn`: how long the session now waits for the next prompt, in milliseconds. */
  inactivityTimeoutMs?: number;
}

/** What `sendFeedback` did, for the workflow's history (no secrets, no log text). */
export interface FeedbackOutput {
  /** Where it went: a comment URL, a Slack message permalink, `jira:<key>`; empty when not asked for. */
  sent: string[];
  /** Why nothing was sent, when nothing was. */
  skipped?: string;
}

/** The outcome activities. */
export interface OutcomeActivities {
  /**
   * Checks each pushed output branch on its forge (the reported commit must be its tip) and opens
   * or updates one pull request per changed repository. A refusal by the forge is reported on the
   * repository; a forge that cannot be reached fails the activity, which is retried.
   */
  publishPullRequests(input: PublishInput): Promise<PublishOutput>;
  /** Reports the session's start or end to the source of its trigger, when it has one. */
  sendFeedback(input: FeedbackInput): Promise<FeedbackOutput>;
}
