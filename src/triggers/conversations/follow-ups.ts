/**
 * Runs a follow-up after the delivery was answered (in the receiver's start queue, so it is
 * bounded, retried while Kubernetes, Temporal or the forge is away, and one at a time per thread):
 *
 * 1. A comment on a pull request whose payload does not name the head branch (GitHub's
 *    `issue_comment`) has it read from the forge.
 * 2. The candidates: the session of the head branch (`shepherd/<name>`) and the sessions with the
 *    event's thread label, each kept only when {@link ownsFollowUp} says the follow-up may reach it.
 * 3. A closed pull request signals `pullRequestClosed` to the head branch's session when it is not
 *    finished. A prompt goes to the head branch's session when it is not finished, else to the
 *    newest unfinished session of the thread, with the thread and diff position read from the
 *    forge (follow-up-prompt.ts). It is sent with an Update id from the delivery, so a redelivery
 *    is the same Update. A refusal (a turn is running, the session is stopping) is replied on the
 *    source with the reason.
 * 4. No unfinished session: the delivery's new sessions, if a trigger starts one for it, are the
 *    caller's to start, as before conversations ({@link FollowUpResult} `none`). Without those, a
 *    comment that addressed a finished session gets a reply saying it is finished.
 */
import type { Logger } from '../../common/logger.js';
import { ForgeRefusedError, type ForgeRepo } from '../../forges/forge.js';
import { FINISHED_PHASES } from '../../resources/phases.js';
import { CredentialsNotFoundError } from '../../runtime/errors.js';
import { finishedRefusal } from '../../session-client/session-commands.js';
import { SlackReplyError } from '../slack/slack-reply.js';
import type { TriggerEvent } from '../trigger-event.js';
import { eventThread, type FollowUpPlan, headSessionName, ownsFollowUp } from './follow-up-match.js';
import type { FollowUpDeps, FollowUpSession } from './follow-up-ports.js';
import { type FollowUpContext, followUpPrompt, refusalReply } from './follow-up-prompt.js';

/** What became of a follow-up. */
export type FollowUpResult =
  /** A session took the prompt as turn `turn`. */
  | { outcome: 'prompted'; session: string; turn: number }
  /** The session refused it; the source got a reply saying why. */
  | { outcome: 'refused'; session: string; message: string }
  /** The head branch's session was told its pull request closed. */
  | { outcome: 'closed'; session: string }
  /** The follow-up was for a finished session only; the source got a reply saying so. */
  | { outcome: 'finished'; session: string }
  /** No session of the thread: new sessions, if any, start as before. */
  | { outcome: 'none' };

const isFinished = (session: FollowUpSession) =>
  session.phase !== undefined && FINISHED_PHASES.has(session.phase);

/** Newest first, then by name: the thread's most recent session answers. */
const newestFirst = (a: FollowUpSession, b: FollowUpSession) =>
  (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name);

function repoOf(event: TriggerEvent): ForgeRepo | undefined {
  const [owner, name, ...rest] = (event.repository ?? '').split('/');
  return owner && name && rest.length === 0 ? { owner, name } : undefined;
}

/**
 * Whether the error is a refusal no retry changes (no such pull request, no permission, no
 * credentials, a Slack channel the app is not in): the follow-up goes on without that call.
 */
const refused = (error: unknown) =>
  error instanceof ForgeRefusedError ||
  error instanceof CredentialsNotFoundError ||
  (error instanceof SlackReplyError && !error.retryable);

/** The follow-up runner. */
export interface FollowUps {
  /**
   * Routes the follow-up; `startsNew` says whether the delivery starts a new session when no
   * session of the thread takes it (then a finished session gets no reply: the new one answers).
   */
  run(plan: FollowUpPlan, startsNew: boolean): Promise<FollowUpResult>;
}

/** Creates the runner. */
export function createFollowUps(deps: FollowUpDeps & { logger: Logger }): FollowUps {
  const { sessions, signals, source, logger } = deps;

  /** The event with its pull request's head branch, read from the forge when the payload lacks it. */
  const withHead = async (plan: FollowUpPlan): Promise<TriggerEvent> => {
    const { event } = plan;
    const repo = repoOf(event);
    const number = event.subject.number;
    if (event.source === 'slack' || !event.subject.isPullRequest || event.subject.headBranch) return event;
    if (!repo || number === undefined) return event;
    try {
      const pull = await source.pullRequest(plan.via, repo, number);
      return {
        ...event,
        subject: {
          ...event.subject,
          headBranch: pull.head,
          ...(pull.headRepository ? { headRepository: pull.headRepository } : {}),
        },
      };
    } catch (error) {
      if (!refused(error)) throw error;
      logger.warn(
        { repository: event.repository, number, error: (error as Error).message },
        'could not read the pull request of a follow-up',
      );
      return event;
    }
  };

  /**
   * The thread on the diff, or the review's comments, when the forge has them; and the event as a
   * comment on the diff when the thread shows it is one.
   */
  const contextOf = async (
    plan: FollowUpPlan,
    event: TriggerEvent,
  ): Promise<{ event: TriggerEvent; context: FollowUpContext }> => {
    const none = { event, context: {} };
    const repo = repoOf(event);
    const number = event.subject.number;
    if (!repo || number === undefined || event.source === 'slack') return none;
    const { review, commentId } = event;
    try {
      // Gitea's comment payloads do not say whether a comment on a pull request is on its diff.
      const mayBeOnDiff =
        review?.kind === 'comment' ||
        (event.source === 'gitea' && !review && event.subject.isPullRequest === true);
      if (mayBeOnDiff && commentId !== undefined) {
        const thread = await source.reviewThread(plan.via, repo, number, {
          id: commentId,
          ...(review?.inReplyTo !== undefined ? { inReplyTo: review.inReplyTo } : {}),
        });
        if (!thread) return none;
        return { event: review ? event : { ...event, review: { kind: 'comment' } }, context: { thread } };
      }
      if (review?.kind === 'review') {
        const reviewComments = await source.reviewComments(plan.via, repo, number, {
          ...(review.reviewId !== undefined ? { id: review.reviewId } : {}),
          ...(event.actor ? { author: event.actor } : {}),
          ...(event.text !== undefined ? { body: event.text } : {}),
        });
        return { event, context: { reviewComments } };
      }
    } catch (error) {
      if (!refused(error)) throw error;
      logger.warn(
        { repository: event.repository, number, error: (error as Error).message },
        'could not read the review thread of a follow-up',
      );
    }
    return none;
  };

  /** Replies on the source with the credentials of the session's own trigger (else the addressed one). */
  const reply = async (
    plan: FollowUpPlan,
    event: TriggerEvent,
    session: FollowUpSession,
    message: string,
  ) => {
    const trigger = plan.triggers.find((t) => t.metadata.name === session.spec.trigger?.name) ?? plan.via;
    try {
      await source.reply(trigger, event, (markup) => refusalReply(markup, session, message));
    } catch (error) {
      // A reply the source refuses (no permission) is not worth a retry of the whole follow-up.
      if (!refused(error)) throw error;
      logger.warn(
        { session: `${session.namespace}/${session.name}`, error: (error as Error).message },
        'could not reply to a follow-up',
      );
    }
  };

  return {
    async run(planned, startsNew) {
      const event = await withHead(planned);
      // What the forge told is checked like the payload: the session must own the event as read.
      const plan = { ...planned, event };
      const { namespace } = plan;
      const headName = headSessionName(event);
      const headSession = headName ? await sessions.get(namespace, headName) : undefined;
      const head = headSession && ownsFollowUp(headSession, plan, 'head') ? headSession : undefined;

      if (event.kind === 'pullRequestClosed') {
        if (!head || isFinished(head)) return { outcome: 'none' };
        const url = event.links?.[0] ?? event.subject.url ?? '';
        const signalled = await signals.pullRequestClosed(namespace, head.name, {
          url,
          merged: event.merged === true,
        });
        if (!signalled) return { outcome: 'none' };
        logger.info(
          { session: `${namespace}/${head.name}`, url, merged: event.merged === true },
          'pull request closed: session told',
        );
        return { outcome: 'closed', session: head.name };
      }

      const thread = eventThread(event);
      const inThread = thread
        ? (await sessions.inThread(namespace, thread)).filter((s) => ownsFollowUp(s, plan, 'thread'))
        : [];
      const candidates = [...(head ? [head] : []), ...inThread.sort(newestFirst)];
      const target = candidates.find((s) => !isFinished(s));
      if (target) {
        const { event: told, context } = await contextOf(plan, event);
        const prompt = followUpPrompt(told, plan.request ?? event.text ?? '', context);
        const outcome = await signals.sendPrompt(
          namespace,
          target.name,
          { prompt, source: event.source, ...(event.actor ? { author: event.actor } : {}) },
          `follow-up/${event.source}/${event.deliveryId}`,
        );
        const where = {
          session: `${namespace}/${target.name}`,
          source: event.source,
          deliveryId: event.deliveryId,
        };
        if (outcome.outcome === 'accepted') {
          logger.info({ ...where, turn: outcome.turn }, 'follow-up prompt taken');
          return { outcome: 'prompted', session: target.name, turn: outcome.turn };
        }
        if (outcome.outcome === 'refused') {
          logger.info({ ...where, reason: outcome.message }, 'follow-up prompt refused');
          await reply(plan, event, target, outcome.message);
          return { outcome: 'refused', session: target.name, message: outcome.message };
        }
        // The worker did not answer in time: the delivery's queue tries again with the same
        // Update id, so the prompt is taken once however many tries it takes.
        if (outcome.outcome === 'unanswered') throw new Error(outcome.message);
        // The workflow is gone (its history removed): as if there were no session.
      }
      if (startsNew) return { outcome: 'none' };
      const finished = candidates.find(isFinished);
      if (!finished) return { outcome: 'none' };
      await reply(plan, event, finished, finishedRefusal(finished.name, finished.phase ?? 'finished'));
      return { outcome: 'finished', session: finished.name };
    },
  };
}
