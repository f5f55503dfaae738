/**
 * The `sendFeedback` activity: tells the source of a session's trigger that it started (with
 * links to follow it), how it ended (result, pull requests, usage and cost; for a failure the
 * reason and the end of the runner log), that a turn of its conversation finished (what changed,
 * how long it waits and how to send the next prompt; under `feedback.onEnd`), or the agent's
 * question (always: the session waits for its answer). GitHub and Gitea get an issue comment, Jira a comment and
 * the transition the trigger names, Slack a reply in the thread. What the source refuses, or a
 * trigger that is gone or says no feedback, is returned as `skipped` and logged; only a source that
 * cannot be reached fails the activity, for Temporal to retry within its budget.
 */
import { ForgeRefusedError } from '../forges/forge.js';
import { triggerForge } from '../forges/trigger-forge.js';
import { sessionLinks } from '../forges/pull-request-text.js';
import type { AgentTrigger } from '../resources/types.js';
import { Redactor } from '../runner/redact.js';
import { CredentialsNotFoundError } from '../runtime/errors.js';
import {
  readSlackBotToken,
  type SlackReply as SlackMessage,
  SlackReplyError,
} from '../triggers/slack/slack-reply.js';
import type { RunnerLogTail } from '../runtime/worker-runtime.js';
import { mentionLogin } from '../triggers/conversations/follow-up-match.js';
import {
  endedText,
  type FeedbackAddress,
  type FeedbackMarkup,
  type FeedbackSession,
  questionText,
  startedText,
  turnText,
} from './feedback-text.js';
import type { FeedbackInput, FeedbackOutput } from './outcome-activities.js';
import type { OutcomeDeps } from './publish-pull-requests.js';

/** Jira as feedback needs it, for one trigger's site and credentials. */
export interface JiraFeedback {
  comment(key: string, text: string): Promise<void>;
  transition(key: string, name: string): Promise<void>;
}

/** Posts a Slack reply with a bot token; resolves with where the message is. */
export type SlackReply = (token: string, reply: SlackMessage) => Promise<{ channel: string; ts: string }>;

/** What feedback needs besides the outcome's dependencies. */
export interface FeedbackDeps extends OutcomeDeps {
  logTail: RunnerLogTail;
  /** Jira for a trigger. */
  jira(trigger: AgentTrigger): Promise<JiraFeedback>;
  slackReply: SlackReply;
}

/** Default lines of the runner log a failure report quotes (the CRD's default). */
const LOG_TAIL_LINES = 20;

/** Errors that retrying cannot fix: reported as skipped. */
function isRefusal(error: unknown): error is Error {
  return (
    error instanceof ForgeRefusedError ||
    error instanceof CredentialsNotFoundError ||
    (error instanceof SlackReplyError && !error.retryable) ||
    (error instanceof Error && (error.name.endsWith('RefusedError') || error.name.endsWith('ConfigError')))
  );
}

/** Builds the `sendFeedback` activity. */
export function createSendFeedback(deps: FeedbackDeps) {
  return async function sendFeedback(input: FeedbackInput): Promise<FeedbackOutput> {
    const { resolved, moment } = input;
    const name = resolved.trigger?.name;
    if (!name) return { sent: [], skipped: 'the session has no trigger' };
    const trigger = await deps.readTrigger(resolved.namespace, name);
    if (!trigger) return { sent: [], skipped: `AgentTrigger ${resolved.namespace}/${name} does not exist` };
    const feedback = trigger.spec.feedback ?? {};
    // A question is always posted: without it nobody knows the session waits for an answer.
    const say =
      moment === 'question' || (moment === 'started' ? feedback.onStart !== false : feedback.onEnd !== false);
    const ids = resolved.trigger?.ids ?? {};
    const session: FeedbackSession = {
      namespace: resolved.namespace,
      name: resolved.name,
      agent: resolved.agent,
      links: sessionLinks(deps.links, resolved.namespace, resolved.name),
    };
    const mention = mentionLogin(trigger);
    const address: FeedbackAddress = {
      source: trigger.spec.source,
      ...(trigger.spec.match?.command ? { command: trigger.spec.match.command } : {}),
      ...(mention ? { mention } : {}),
    };
    const text = async (markup: FeedbackMarkup): Promise<string> => {
      if (moment === 'started') return startedText(markup, session);
      if (moment === 'question') {
        return questionText(
          markup,
          session,
          { turn: input.turn ?? 1, question: input.question ?? '' },
          address,
        );
      }
      if (moment === 'turn') {
        return turnText(
          markup,
          session,
          {
            turn: input.turn ?? 1,
            ...(input.result ? { result: input.result } : {}),
            ...(input.usage ? { usage: input.usage } : {}),
            ...(input.repos ? { repos: input.repos } : {}),
            ...(input.inactivityTimeoutMs !== undefined
              ? { inactivityTimeoutMs: input.inactivityTimeoutMs }
              : {}),
          },
          address,
        );
      }
      const failed = input.phase !== 'Succeeded';
      const lines = feedback.logTailLines ?? LOG_TAIL_LINES;
      const tail =
        failed && input.attempt !== undefined && lines > 0
          ? await deps.logTail(input.session, input.attempt, lines).catch(() => undefined)
          : undefined;
      return endedText(markup, session, {
        phase: input.phase ?? 'Failed',
        ...(input.reason ? { reason: input.reason } : {}),
        ...(input.message ? { message: input.message } : {}),
        ...(input.result ? { result: input.result } : {}),
        ...(input.usage ? { usage: input.usage } : {}),
        ...(input.repos ? { repos: input.repos } : {}),
        ...(tail ? { logTail: tail } : {}),
      });
    };
    try {
      const sent = await deliver(deps, trigger, ids, input, say, text);
      return sent.length > 0 || say
        ? { sent }
        : { sent, skipped: `AgentTrigger ${name} asks for no ${moment} feedback` };
    } catch (error) {
      if (!isRefusal(error)) throw error;
      deps.logger.warn(
        {
          namespace: resolved.namespace,
          session: resolved.name,
          trigger: name,
          moment,
          error: error.message,
        },
        'feedback refused by the source',
      );
      return { sent: [], skipped: error.message };
    }
  };
}

/** Sends the feedback to the trigger's source; returns where it went. */
async function deliver(
  deps: FeedbackDeps,
  trigger: AgentTrigger,
  ids: Record<string, string>,
  input: FeedbackInput,
  say: boolean,
  text: (markup: FeedbackMarkup) => Promise<string>,
): Promise<string[]> {
  const namespace = input.resolved.namespace;
  const { source } = trigger.spec;
  if (source === 'github' || source === 'gitea') {
    const [owner, repoName] = (ids.repository ?? '').split('/');
    const issue = Number(ids.issue);
    if (!say || !owner || !repoName || !Number.isSafeInteger(issue)) return [];
    const { forge, secretValues } = await triggerForge(deps, trigger);
    const body = new Redactor(secretValues).redact(await text('markdown'));
    const comment = await forge.comment({ owner, name: repoName }, issue, body);
    return [comment.url];
  }
  if (source === 'jira') {
    const key = ids.key;
    if (!key) return [];
    const jira = await deps.jira(trigger);
    const sent: string[] = [];
    if (say) {
      await jira.comment(key, await text('plain'));
      sent.push(`jira:${key}`);
    }
    const transitions = trigger.spec.feedback?.jira;
    const next =
      input.moment === 'ended'
        ? input.phase === 'Succeeded'
          ? transitions?.successTransition
          : transitions?.failureTransition
        : undefined;
    if (next) {
      await jira.transition(key, next);
      sent.push(`jira:${key}→${next}`);
    }
    return sent;
  }
  const channel = ids.channel;
  if (!say || !channel) return [];
  const token = await readSlackBotToken(deps.secrets, namespace, trigger);
  if (!token) return [];
  const reply = await deps.slackReply(token, {
    channel,
    ...(ids.threadTs ? { threadTs: ids.threadTs } : {}),
    text: new Redactor([token]).redact(await text('slack')),
  });
  return [`slack:${reply.channel}/${reply.ts}`];
}
