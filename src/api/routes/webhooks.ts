/**
 * The webhook routes, `POST /api/v1/webhooks/{github,gitea,jira,slack}`: where forges, Jira and
 * Slack deliver events. They take no bearer token — a delivery authenticates by its signature,
 * which the receiver (src/triggers/webhooks/webhook-receiver.ts) checks on the raw body. So these
 * routes keep the body as bytes: their own content-type parsers (JSON, and forms for Slack's
 * slash commands and GitHub's form deliveries) hand the Buffer on untouched, in this plugin only.
 * The schemas here document the routes in the OpenAPI document; the receiver does the checking.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import { TRIGGER_SOURCES, type TriggerSource } from '../../resources/types.js';
import type { WebhookReceiver } from '../../triggers/webhooks/webhook-receiver.js';
import { ApiError } from '../errors.js';
import { BODY_LIMIT_BYTES } from '../framework-errors.js';
import { errorResponses } from '../schemas.js';

/** What the webhook routes need. */
export interface WebhookRoutesOptions {
  receiver: WebhookReceiver;
}

const SessionRefSchema = Type.Object({
  namespace: Type.String(),
  name: Type.String({
    description: 'The deterministic name: the same delivery always names the same session.',
  }),
  trigger: Type.String({ description: 'The AgentTrigger that starts it.' }),
});

const WebhookAck = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('ignored')], {
        description:
          'accepted: sessions are starting; duplicate: received before, nothing new starts; ignored: no trigger takes it.',
      }),
    ),
    message: Type.Optional(Type.String()),
    sessions: Type.Optional(Type.Array(SessionRefSchema)),
    challenge: Type.Optional(Type.String({ description: "Slack's url_verification challenge, echoed." })),
    response_type: Type.Optional(Type.Literal('ephemeral', { description: 'Slack slash commands.' })),
    text: Type.Optional(Type.String({ description: 'Slack slash commands: what the user sees.' })),
  },
  { description: 'The acknowledgement of a delivery.' },
);

const header = (description: string) => Type.Optional(Type.String({ description }));

/** The headers each source signs and identifies its deliveries with. */
const HEADERS: Record<TriggerSource, Record<string, TSchema>> = {
  github: {
    'x-hub-signature-256': header('sha256=<hex HMAC-SHA256 of the body with the webhook secret>.'),
    'x-github-event': header('The event, e.g. issues or issue_comment.'),
    'x-github-delivery': header('The delivery id; kept on redelivery.'),
  },
  gitea: {
    'x-gitea-signature': header(
      '<hex HMAC-SHA256 of the body with the webhook secret> (Forgejo: X-Forgejo-Signature).',
    ),
    'x-gitea-event': header('The event, e.g. issues or issue_comment.'),
    'x-gitea-delivery': header('The delivery id.'),
  },
  jira: {
    'x-hub-signature': header('sha256=<hex HMAC-SHA256 of the body with the webhook secret>.'),
    'x-atlassian-webhook-identifier': header('The delivery id; kept on retries.'),
  },
  slack: {
    'x-slack-signature': header('v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret>.'),
    'x-slack-request-timestamp': header('Seconds since the epoch; refused when more than 5 minutes away.'),
    'x-slack-retry-num': header('Set on retries, which are answered as duplicates.'),
  },
};

const jsonBody = Type.Object({}, { additionalProperties: true, description: "The source's event payload." });
const formBody = (description: string) =>
  Type.Object({}, { additionalProperties: Type.String(), description });

/** The media types each source sends. */
const BODIES: Record<TriggerSource, Record<string, { schema: TSchema }>> = {
  github: {
    'application/json': { schema: jsonBody },
    'application/x-www-form-urlencoded': {
      schema: formBody('A webhook with content type form: the JSON payload in the field payload.'),
    },
  },
  gitea: { 'application/json': { schema: jsonBody } },
  jira: { 'application/json': { schema: jsonBody } },
  slack: {
    'application/json': { schema: jsonBody },
    'application/x-www-form-urlencoded': {
      schema: formBody('A slash command: command, text, channel_id, trigger_id, ….'),
    },
  },
};

const SUMMARY: Record<TriggerSource, string> = {
  github: 'Receive a GitHub webhook delivery',
  gitea: 'Receive a Gitea or Forgejo webhook delivery',
  jira: 'Receive a Jira webhook delivery',
  slack: 'Receive a Slack slash command or Events API request',
};

const DESCRIPTION: Record<TriggerSource, string> = {
  github:
    'Issues labelled or assigned and comments starting with a command word start sessions from the AgentTriggers of source github whose webhook secret signed the delivery.',
  gitea:
    'Issues labelled or assigned and comments starting with a command word start sessions from the AgentTriggers of source gitea whose webhook secret signed the delivery.',
  jira: 'A ticket moved to a status or given a label is claimed and started by the Jira triggers whose webhook secret signed the delivery (202, no session names: the ticket workflow names its session).',
  slack:
    'Slash commands and app mentions start sessions from the AgentTriggers of source slack whose signing secret signed the request. A slash command is answered 200 with an ephemeral text; url_verification with its challenge.',
};

/** The webhook routes; register under `/api/v1`, outside the bearer-token scope. */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = async (app, { receiver }) => {
  // In this plugin only: bodies stay bytes, so signatures are checked on what the source signed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (_request, body, done) => done(null, body),
  );
  // The schemas document; the receiver checks (a body is verified before it is read at all).
  app.setValidatorCompiler(() => () => true);
  app.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > BODY_LIMIT_BYTES) {
      throw new ApiError(
        'PayloadTooLarge',
        `the delivery is larger than the limit of ${BODY_LIMIT_BYTES} bytes (1 MiB); Shepherd takes issue, comment and message events, which are far smaller`,
        { limitBytes: BODY_LIMIT_BYTES },
      );
    }
  });

  for (const source of TRIGGER_SOURCES) {
    app.post(
      `/webhooks/${source}`,
      {
        schema: {
          operationId: `${source}Webhook`,
          summary: SUMMARY[source],
          description: DESCRIPTION[source],
          tags: ['webhooks'],
          security: [],
          headers: Type.Object(HEADERS[source]),
          body: { content: BODIES[source] },
          response: {
            200: WebhookAck,
            202: WebhookAck,
            ...errorResponses(401, 413, 415, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const answer = receiver.receive(source, {
          headers: request.headers,
          body: Buffer.isBuffer(request.body) ? request.body : undefined,
          remoteAddress: request.ip,
        });
        void reply.code(answer.statusCode);
        return answer.body;
      },
    );
  }
};
