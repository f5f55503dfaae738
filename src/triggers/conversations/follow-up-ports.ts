/**
 * What a follow-up needs from the rest of Shepherd, as three ports: the sessions (found by their
 * thread label, or by name), the session workflows (a prompt, the end of a pull request), and the
 * source (the forge's pull request and review threads, a reply). The webhook receiver takes them
 * as options; each runtime wires its own sessions (follow-up-sessions.ts) and the Temporal client
 * (follow-up-signals.ts), and the source is the same for both (follow-up-source.ts).
 */
import type { ForgeRepo, PullRequestInfo, ReviewComment } from '../../forges/forge.js';
import type { AgentSessionSpec, AgentTrigger, Phase } from '../../resources/types.js';
import type { PromptOutcome } from '../../session-client/session-commands.js';
import type { PromptInput, PullRequestClosed } from '../../workflows/session-contract.js';
import type { TriggerEvent } from '../trigger-event.js';

/** A session as a follow-up sees it. */
export interface FollowUpSession {
  namespace: string;
  name: string;
  spec: AgentSessionSpec;
  /** The phase last seen; absent when not known yet. */
  phase?: Phase;
  /** When it was created (RFC 3339), to prefer the newest of a thread. */
  created?: string;
}

/** The sessions, read after the answer. */
export interface FollowUpSessions {
  /** The sessions of `namespace` with the thread label `thread` (THREAD_LABEL). */
  inThread(namespace: string, thread: string): Promise<FollowUpSession[]>;
  /** The session, or undefined when there is none. */
  get(namespace: string, name: string): Promise<FollowUpSession | undefined>;
}

/** The session workflows. */
export interface FollowUpSignals {
  /**
   * Sends a prompt (sendSessionPrompt). `updateId` makes it idempotent: the same delivery again
   * is the same Update, never a second turn.
   */
  sendPrompt(namespace: string, name: string, input: PromptInput, updateId: string): Promise<PromptOutcome>;
  /** Signals that the session's pull request was merged or closed; false when its workflow is not running. */
  pullRequestClosed(namespace: string, name: string, closed: PullRequestClosed): Promise<boolean>;
}

/** The source of a follow-up, with the credentials of a trigger. */
export interface FollowUpSource {
  pullRequest(trigger: AgentTrigger, repo: ForgeRepo, number: number): Promise<PullRequestInfo>;
  reviewThread(
    trigger: AgentTrigger,
    repo: ForgeRepo,
    number: number,
    comment: { id: number; inReplyTo?: number },
  ): Promise<ReviewComment[] | undefined>;
  reviewComments(
    trigger: AgentTrigger,
    repo: ForgeRepo,
    number: number,
    review: { id?: number; author?: string; body?: string },
  ): Promise<ReviewComment[]>;
  /**
   * Replies where the event was written: a comment on its issue or pull request, a reply in its
   * Slack thread. `text` is given per markup.
   */
  reply(
    trigger: AgentTrigger,
    event: TriggerEvent,
    text: (markup: 'markdown' | 'slack') => string,
  ): Promise<void>;
}

/** Everything follow-ups need; without it the receiver only starts sessions, as before conversations. */
export interface FollowUpDeps {
  sessions: FollowUpSessions;
  signals: FollowUpSignals;
  source: FollowUpSource;
}
