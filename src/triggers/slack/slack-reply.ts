/**
 * A reply in the Slack thread a session came from, through Slack's own Web API client
 * (@slack/web-api `WebClient`, `chat.postMessage`): the session's feedback on start and end.
 * Transport failures (a 5xx, a dropped connection, a timeout) are retried a few times by the client
 * with backoff; a rate limit is not waited out here but reported with its Retry-After, so the
 * feedback activity's own retry policy decides — no wait that a stop cannot end. Slack's refusals
 * (`channel_not_found`, `not_in_channel`, `invalid_auth`) are final. The bot token is sent in the
 * Authorization header and never appears in an error.
 */
import {
  ErrorCode,
  LogLevel,
  type ChatPostMessageArguments,
  type CodedError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  WebClient,
} from '@slack/web-api';
import type { AgentTrigger } from '../../resources/types.js';
import { CredentialsNotFoundError } from '../../runtime/errors.js';
import type { SecretSource } from '../secret-source.js';

/** Where and how to reply. */
export interface SlackReplyOptions {
  /** The app's bot token (xoxb-…), from the trigger's `spec.slack.botTokenSecretRef`. */
  token: string;
  /** Slack's Web API base URL; a loopback server in tests. @default https://slack.com/api/ */
  slackApiUrl?: string;
  /** Retries of a failed transport, after the first try. @default 3 */
  retries?: number;
  /** The first wait between tries, doubled each time (at most 10 s). @default 1000 */
  minBackoffMs?: number;
  /** One request's time limit. @default 10000 */
  timeoutMs?: number;
}

/** The reply. */
export interface SlackReply {
  /** The channel id, from the event (`trigger.ids.channel`). */
  channel: string;
  /** The thread to reply in (`trigger.ids.threadTs`); absent for a slash command in a channel. */
  threadTs?: string;
  /** The message, in Slack's mrkdwn. */
  text: string;
}

/** A reply Slack refused or that could not reach it. */
export class SlackReplyError extends Error {
  override readonly name = 'SlackReplyError';

  constructor(
    message: string,
    /** Slack's error code (`channel_not_found`, `ratelimited`, …) or the transport's. */
    readonly code: string,
    /** Whether trying again later may succeed. */
    readonly retryable: boolean,
    /** For a rate limit: how long Slack asked to wait. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Slack refusals that no retry changes. */
const FINAL_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'thread_not_found',
]);

function classify(error: unknown): SlackReplyError {
  const coded = error as Partial<CodedError>;
  if (coded.code === ErrorCode.RateLimitedError) {
    const seconds = (error as WebAPIRateLimitedError).retryAfter;
    return new SlackReplyError(
      `Slack rate-limits chat.postMessage; retry after ${seconds} s`,
      'ratelimited',
      true,
      seconds,
    );
  }
  if (coded.code === ErrorCode.PlatformError) {
    const slackError = String((error as WebAPIPlatformError).data?.error ?? 'unknown_error');
    return new SlackReplyError(
      `Slack refused the reply: ${slackError}${slackError === 'not_in_channel' ? ' (invite the app to the channel)' : ''}`,
      slackError,
      !FINAL_ERRORS.has(slackError),
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SlackReplyError(`the reply did not reach Slack: ${message}`, coded.code ?? 'transport', true);
}

/** Posts `reply`; resolves with the message's channel and timestamp. */
export async function postSlackReply(
  options: SlackReplyOptions,
  reply: SlackReply,
): Promise<{ channel: string; ts: string }> {
  const client = new WebClient(options.token, {
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    retryConfig: {
      retries: options.retries ?? 3,
      factor: 2,
      minTimeout: options.minBackoffMs ?? 1000,
      maxTimeout: 10_000,
    },
    timeout: options.timeoutMs ?? 10_000,
    rejectRateLimitedCalls: true,
    // Failures are thrown and reported by the caller; the client's own console lines are not wanted.
    logLevel: LogLevel.ERROR,
  });
  const args: ChatPostMessageArguments = {
    channel: reply.channel,
    text: reply.text,
    ...(reply.threadTs ? { thread_ts: reply.threadTs } : {}),
    // A link in the feedback (the session, the pull request) needs no preview card.
    unfurl_links: false,
  };
  try {
    const result = await client.chat.postMessage(args);
    return { channel: result.channel ?? reply.channel, ts: result.ts ?? '' };
  } catch (error) {
    throw classify(error);
  }
}

/**
 * The bot token of a slack trigger (`spec.slack.botTokenSecretRef`, in `namespace`); undefined
 * when the trigger names none. Throws CredentialsNotFoundError when the Secret has no such key.
 */
export async function readSlackBotToken(
  secrets: SecretSource,
  namespace: string,
  trigger: AgentTrigger,
): Promise<string | undefined> {
  const ref = trigger.spec.slack?.botTokenSecretRef;
  if (!ref) return undefined;
  const key = ref.key ?? 'botToken';
  const token = await secrets.read(namespace, { name: ref.name, key });
  if (!token) {
    throw new CredentialsNotFoundError(
      `Secret ${namespace}/${ref.name} has no key ${key} (spec.slack.botTokenSecretRef of AgentTrigger ${trigger.metadata.name})`,
    );
  }
  return token;
}
