/**
 * The Shepherd HTTP API as a Fastify plugin (`shepherdApi`) and `buildApp`, which wraps it in a
 * Fastify instance configured for it. `server.ts` alone listens; tests call `buildApp` and
 * `app.inject`, with no port.
 *
 * Request lifecycle: `onRequest` authenticates `/api/v1` calls (before the body is even read, so
 * an anonymous caller cannot make the API parse a large body), params/query/body are validated
 * against the route's schema, a `preHandler` authorizes the route's verb in `{ns}`, the handler
 * calls the backend. Every failure goes through the one error handler below.
 */
import { type Tracer, trace } from '@opentelemetry/api';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type ErrorObject } from 'ajv';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { Authenticator, Caller, SessionVerb } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import {
  BODY_LIMIT_BYTES,
  frameworkError,
  onClientError,
  onFrameworkError,
  sendApiError,
} from './framework-errors.js';
import { isLoopbackHost } from './loopback-host.js';
import { validationError } from './request-validation.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { auditMutations } from './audit-log.js';
import { traceRequests } from './request-tracing.js';
import type { Logger } from '../common/logger.js';
import { sessionRoutes } from './routes/sessions.js';
import { systemRoutes } from './routes/system.js';
import { triggerRoutes } from './routes/triggers.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ApiErrorBody, ApprovalAcceptedBody, PromptAcceptedBody, Session } from './schemas.js';
import type { SessionBackend } from './session-backend.js';
import {
  addFormats,
  assertCelRulesImplemented,
  type CrdSchema,
  loadCrdSpecSchema,
  sessionSpecAjv,
  strictSpecSchema,
} from './session-validation.js';
import { sessionSpecValidator } from '../triggers/template-validation.js';
import type { FollowUpDeps } from '../triggers/conversations/follow-up-ports.js';
import type { TriggerCatalog } from '../triggers/trigger-catalog.js';
import {
  createWebhookReceiver,
  type StartJiraTicket,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from '../triggers/webhooks/webhook-receiver.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an `/api/v1` request. */
    caller?: Caller;
  }
  interface FastifyInstance {
    /** The sessions accepted webhook deliveries start, after the answer: for tests and the benchmark. */
    webhookStarts: Pick<WebhookReceiver, 'idle' | 'stats'>;
  }
}

export { BODY_LIMIT_BYTES } from './framework-errors.js';

/**
 * The longest path parameter the router matches. Far above any valid name (253 characters), so
 * a long one reaches the schema and is refused with a 400 naming the parameter; Node's 16 KiB
 * header limit bounds the URL before this does.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/** The methods a path may be asked with that no route declares: answered 405 with `Allow`. */
const FALLBACK_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY'];

/** What the API needs. */
export interface AppDeps {
  backend: SessionBackend;
  auth: Authenticator;
  /** @default a new registry with process metrics */
  metrics?: ApiMetrics;
  /** Makes the request spans. @default the global tracer (a no-op unless tracing is on) */
  tracer?: Tracer;
  /** Where the audit log of mutations goes. @default the app's logger, named shepherd-audit */
  auditLogger?: Logger;
  /** The AgentSession CRD's spec schema. @default loaded from charts/shepherd/files/crds */
  crdSpecSchema?: CrdSchema;
  /** Version shown in the OpenAPI document. @default 0.1.0 */
  version?: string;
  /**
   * Answer only requests whose Host is a loopback name (see loopback-host.ts): for an API that
   * listens on loopback, so a web page cannot reach it through DNS rebinding.
   * @default false
   */
  loopbackOnly?: boolean;
  /**
   * Webhook deliveries (`POST /api/v1/webhooks/{source}`): the triggers they are verified and
   * routed with, and what starts a Jira ticket. Without it the routes exist and refuse every
   * delivery (no trigger has a secret to verify it with).
   */
  webhooks?: WebhookDeps;
}

/** What the webhook routes need. */
export interface WebhookDeps {
  /** The triggers, answered from memory (kubernetes or local catalog). */
  catalog: TriggerCatalog;
  /** Claims a Jira ticket and starts its workflow; without it Jira deliveries start nothing. */
  startJiraTicket?: StartJiraTicket;
  /** The clock for Slack's timestamp window. @default Date.now */
  now?: () => number;
  /** Limits of the start queue. */
  queue?: WebhookReceiverOptions['queue'];
  /**
   * Follow-ups for sessions that exist: comments on their issues and pull requests, replies in
   * their Slack threads, their pull requests closed. Without it deliveries only start sessions.
   */
  followUps?: FollowUpDeps;
}

/** No triggers: every delivery is refused. */
const NO_TRIGGERS: TriggerCatalog = {
  bySource: () => [],
  get: () => undefined,
  onChange: () => undefined,
  ready: () => Promise.resolve(),
  stop: () => Promise.resolve(),
};

/**
 * Validators: request bodies are checked as the API server would (see `sessionSpecAjv`); params
 * and query strings are coerced from text.
 */
function validators(): { body: Ajv; other: Ajv } {
  const other = new Ajv({ coerceTypes: 'array', useDefaults: true, strict: false, removeAdditional: false });
  addFormats(other);
  return { body: sessionSpecAjv(), other };
}

/** The API as a plugin. Register it with `fastify-plugin` semantics (it is wrapped with `fp`). */
export const shepherdApi = fp(
  async (root: FastifyInstance, deps: AppDeps) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { backend, auth } = deps;
    const metrics = deps.metrics ?? createApiMetrics();
    const crdSpec = deps.crdSpecSchema ?? loadCrdSpecSchema();
    assertCelRulesImplemented(crdSpec);
    const specSchema = strictSpecSchema(crdSpec);

    const ajv = validators();
    app.setValidatorCompiler(({ schema, httpPart }) =>
      (httpPart === 'body' ? ajv.body : ajv.other).compile(schema as object),
    );
    app.setSchemaErrorFormatter((errors, context) => validationError(errors as ErrorObject[], context));

    app.decorateRequest('caller', undefined);
    traceRequests(root, deps.tracer ?? trace.getTracer('shepherd'));
    auditMutations(root, deps.auditLogger ?? root.log.child({ name: 'shepherd-audit' }));
    // Bodies are JSON only: a text body would otherwise reach the schema as a string and be
    // refused with a confusing "must be object".
    app.removeContentTypeParser('text/plain');

    app.setErrorHandler((error: FastifyError, request, reply) => {
      let apiError =
        error instanceof ApiError
          ? error
          : error.validation
            ? validationError(error.validation as ErrorObject[], error.validationContext ?? 'body')
            : (frameworkError(error) ?? toApiError(error));
      if (!apiError) {
        request.log.error({ err: error }, 'request failed');
        apiError = new ApiError(
          'Internal',
          `internal error; the API log has the details (request ${request.id})`,
        );
      } else if (apiError.statusCode >= 500) {
        request.log.warn({ code: apiError.code, err: error }, apiError.message);
      }
      if (reply.sent || reply.raw.headersSent) return;
      return sendApiError(reply, apiError);
    });

    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send({
        code: 'NotFound',
        message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see /openapi.json`,
        details: {},
      });
    });

    app.addHook('onResponse', (request, reply, done) => {
      metrics.httpRequestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });

    app.addSchema(Session);
    app.addSchema(PromptAcceptedBody);
    app.addSchema(ApprovalAcceptedBody);
    app.addSchema(ApiErrorBody);

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Shepherd API',
          version: deps.version ?? '0.1.0',
          description:
            'Start, list, follow, stop and restart AI coding agent sessions. Errors are JSON `{code, message, details}` with stable codes.',
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description:
                'On Kubernetes, a token the API server accepts (TokenReview); locally, SHEPHERD_API_TOKEN if set.',
            },
          },
        },
        tags: [
          { name: 'sessions', description: 'Agent sessions' },
          { name: 'user', description: 'The caller' },
          { name: 'triggers', description: 'AgentTriggers: where sessions come from' },
          { name: 'probes', description: 'Health, readiness and metrics' },
          {
            name: 'webhooks',
            description: 'Deliveries from GitHub, Gitea, Jira and Slack, verified by signature',
          },
        ],
      },
      // Name shared schemas by their $id in the document (Session, Error) rather than def-N.
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${i}`,
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });

    const authenticate = async (request: { headers: { authorization?: string }; caller?: Caller }) => {
      request.caller ??= await auth.authenticate(request.headers.authorization);
      return request.caller;
    };
    const authorize = (verb: SessionVerb) => async (request: FastifyRequest) => {
      const { ns } = request.params as { ns: string };
      if (!request.caller) throw new ApiError('Unauthenticated', 'this API needs a bearer token');
      await auth.authorize(request.caller, verb, ns);
    };

    if (deps.loopbackOnly) {
      app.addHook('onRequest', async (request) => {
        if (!isLoopbackHost(request.headers.host)) {
          throw new ApiError(
            'Forbidden',
            'this API answers only requests addressed to 127.0.0.1, localhost or [::1]; use one of those in the URL',
          );
        }
      });
    }
    // Every path's declared methods, so the others can be answered 405 rather than 404.
    const methodsByPath = new Map<string, Set<string>>();
    app.addHook('onRoute', (route) => {
      const methods = methodsByPath.get(route.url) ?? new Set<string>();
      for (const method of [route.method].flat()) methods.add(method);
      methodsByPath.set(route.url, methods);
    });
    await app.register(systemRoutes, { backend, auth, metrics, authenticate });
    const receiver = createWebhookReceiver({
      catalog: deps.webhooks?.catalog ?? NO_TRIGGERS,
      backend,
      validator: sessionSpecValidator(crdSpec),
      logger: root.log,
      metrics,
      ...(deps.webhooks?.startJiraTicket ? { startJiraTicket: deps.webhooks.startJiraTicket } : {}),
      ...(deps.webhooks?.now ? { now: deps.webhooks.now } : {}),
      ...(deps.webhooks?.queue ? { queue: deps.webhooks.queue } : {}),
      ...(deps.webhooks?.followUps ? { followUps: deps.webhooks.followUps } : {}),
    });
    root.decorate('webhookStarts', { idle: () => receiver.idle(), stats: () => receiver.stats() });
    // Starts accepted before the API stops get a few seconds to be made.
    app.addHook('onClose', () => receiver.stop());
    await app.register(webhookRoutes, { prefix: '/api/v1', receiver });
    await app.register(
      async (api) => {
        api.addHook('onRequest', async (request) => {
          await authenticate(request);
        });
        await api.register(sessionRoutes, { backend, metrics, specSchema, authorize });
        await api.register(triggerRoutes, { catalog: deps.webhooks?.catalog ?? NO_TRIGGERS, authorize });
      },
      { prefix: '/api/v1' },
    );
    for (const [url, declared] of [...methodsByPath]) {
      const allowed = [...declared].sort();
      const allow = allowed.join(', ');
      const others = FALLBACK_METHODS.filter((method) => !declared.has(method));
      if (others.length === 0) continue;
      app.route({
        method: others,
        url,
        schema: { hide: true },
        // Refused in onRequest, before Fastify would read (and judge) a body the route never takes.
        onRequest: async (request, reply) => {
          void reply.header('allow', allow);
          throw new ApiError('MethodNotAllowed', `${request.method} is not allowed on ${url}; use ${allow}`, {
            allow: allowed,
          });
        },
        handler: () => undefined,
      });
    }
  },
  { name: 'shepherd-api', fastify: '5.x' },
);

/**
 * Builds a Fastify instance serving the API.
 *
 * @param options Fastify options, e.g. `logger`; the body limit is always `BODY_LIMIT_BYTES`.
 */
export async function buildApp(deps: AppDeps, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // Long-running followed logs must not be cut by a request timeout; see server.ts.
    requestTimeout: 0,
    ...options,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ...options.routerOptions, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: onFrameworkError,
    clientErrorHandler: onClientError,
  });
  await app.register(shepherdApi, deps);
  await app.ready();
  return app;
}
