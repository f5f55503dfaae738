/**
 * The FollowUpSource: the forge and Slack calls a follow-up makes, each with the credentials of
 * the trigger it is made for (its forge Secret, its Slack bot token, read from its own namespace),
 * so one tenant's follow-up never speaks with another's credentials. Replies are redacted of those
 * credentials before they are sent. Calls are made once; the receiver's queue retries what may pass.
 */
import type { Logger } from '../../common/logger.js';
import { type ForgeConfig, GITHUB_COM } from '../../forges/forge-registry.js';
import { triggerForge } from '../../forges/trigger-forge.js';
import { Redactor } from '../../runner/redact.js';
import { CredentialsNotFoundError } from '../../runtime/errors.js';
import type { SecretSource } from '../secret-source.js';
import { postSlackReply, readSlackBotToken, type SlackReply } from '../slack/slack-reply.js';
import type { FollowUpSource } from './follow-up-ports.js';

/** What the source needs. */
export interface FollowUpSourceOptions {
  /** The triggers' Secrets (Kubernetes, or the local resources file). */
  secrets: SecretSource;
  /** The forges known. @default github.com only */
  forges?: readonly ForgeConfig[];
  logger?: Logger;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Posts a Slack reply. @default Slack's Web API (postSlackReply) */
  slackReply?: (token: string, reply: SlackReply) => Promise<unknown>;
}

/** The source through the forges' APIs and Slack's Web API. */
export function followUpSource(options: FollowUpSourceOptions): FollowUpSource {
  const deps = {
    secrets: options.secrets,
    forges: options.forges ?? [GITHUB_COM],
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const slackReply = options.slackReply ?? ((token, reply) => postSlackReply({ token }, reply));
  const forgeOf = async (trigger: Parameters<typeof triggerForge>[1]) =>
    (await triggerForge(deps, trigger)).forge;
  return {
    pullRequest: async (trigger, repo, number) => (await forgeOf(trigger)).pullRequest(repo, number),
    reviewThread: async (trigger, repo, number, comment) =>
      (await forgeOf(trigger)).reviewThread(repo, number, comment),
    reviewComments: async (trigger, repo, number, review) =>
      (await forgeOf(trigger)).reviewComments(repo, number, review),
    async reply(trigger, event, text) {
      const namespace = trigger.metadata.namespace ?? 'default';
      if (event.source === 'slack') {
        const channel = event.slack?.channel;
        const token = await readSlackBotToken(options.secrets, namespace, trigger);
        if (!channel || !token) {
          throw new CredentialsNotFoundError(
            `AgentTrigger ${trigger.metadata.name} names no spec.slack.botTokenSecretRef to reply with`,
          );
        }
        await slackReply(token, {
          channel,
          ...(event.slack?.threadTs ? { threadTs: event.slack.threadTs } : {}),
          text: new Redactor([token]).redact(text('slack')),
        });
        return;
      }
      const [owner, name] = (event.repository ?? '').split('/');
      const number = event.subject.number;
      if (!owner || !name || number === undefined) return;
      const { forge, secretValues } = await triggerForge(deps, trigger);
      await forge.comment({ owner, name }, number, new Redactor(secretValues).redact(text('markdown')));
    },
  };
}
