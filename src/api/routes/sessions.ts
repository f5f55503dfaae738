/**
 * The session routes under `/api/v1/namespaces/{ns}/sessions`. Each declares its schemas (params,
 * query, body, one response per status), which drive validation, response serialization and the
 * OpenAPI document alike, and the RBAC verb it needs on agentsessions in `{ns}`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ErrorObject } from 'ajv';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { RESERVED_PREFIX } from '../../resources/constants.js';
import type { SessionVerb } from '../auth.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import {
  ApproveBody,
  ListQuery,
  LogsQuery,
  NamespaceParams,
  PromptBody,
  SessionParams,
  createSessionBody,
  type CreateSessionBody,
  errorResponses,
} from '../schemas.js';
import { approvalValidationError, promptValidationError } from '../request-validation.js';
import type { ApprovalResult, PromptResult, SessionBackend } from '../session-backend.js';
import { type CrdSchema, celViolations } from '../session-validation.js';

/** What the session routes need. */
export interface SessionRoutesOptions {
  backend: SessionBackend;
  metrics: ApiMetrics;
  /** The CRD's spec schema, made strict (see `strictSpecSchema`). */
  specSchema: CrdSchema;
  /** Checks the caller may `verb` agentsessions in the request's namespace; set by the app. */
  authorize: (verb: SessionVerb) => (request: FastifyRequest) => Promise<void>;
}

const SessionRef = Type.Unsafe<import('../session-backend.js').ApiSession>(Type.Ref('Session'));
const PromptAcceptedRef = Type.Unsafe<PromptResult>(Type.Ref('PromptAccepted'));
const ApprovalAcceptedRef = Type.Unsafe<ApprovalResult>(Type.Ref('ApprovalAccepted'));
/** Statuses of a session request: no or a bad token, throttled by or no Kubernetes/Temporal. */
const SESSION_ERRORS = [401, 429, 503];
/** Statuses of a request that may carry a body: too large, not JSON. */
const BODY_ERRORS = [413, 415];

const TAGS = ['sessions'];
const SECURITY = [{ bearer: [] }];

/** The session routes; register under `/api/v1`. */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, options) => {
  const { backend, metrics, authorize, specSchema } = options;
  const runtime = backend.runtime;
  const collection = '/namespaces/:ns/sessions';
  const item = `${collection}/:name`;

  app.get(
    collection,
    {
      preHandler: authorize('list'),
      schema: {
        operationId: 'listSessions',
        summary: 'List sessions',
        description: 'Lists the sessions of a namespace, newest first in local mode, by name on Kubernetes.',
        tags: TAGS,
        security: SECURITY,
        params: NamespaceParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            apiVersion: Type.String(),
            kind: Type.Literal('AgentSessionList'),
            metadata: Type.Object({ continue: Type.Optional(Type.String()) }),
            items: Type.Array(SessionRef),
          }),
          ...errorResponses(...SESSION_ERRORS, 410),
        },
      },
    },
    async (request) => {
      const { limit = 100, phase } = request.query;
      const page = await backend.list(request.params.ns, {
        limit,
        ...(request.query.continue ? { continue: request.query.continue } : {}),
        ...(phase ? { phase } : {}),
      });
      return {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSessionList' as const,
        metadata: page.continue ? { continue: page.continue } : {},
        items: page.items,
      };
    },
  );

  app.post(
    collection,
    {
      preHandler: authorize('create'),
      schema: {
        operationId: 'createSession',
        summary: 'Create a session',
        description:
          "Creates a session and starts its workflow. The body is validated against the AgentSession CRD (its schema and its CEL rules), then against the namespace's NamespacePolicy with the AgentConfig's defaults applied: a broken rule is 403 PolicyViolation, whose details.rule names the rule and details.field the session's field.",
        tags: TAGS,
        security: SECURITY,
        params: NamespaceParams,
        body: createSessionBody(specSchema),
        response: {
          201: SessionRef,
          ...errorResponses(...SESSION_ERRORS, ...BODY_ERRORS, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { ns } = request.params;
      const body = request.body as CreateSessionBody;
      if (body.metadata.namespace !== undefined && body.metadata.namespace !== ns) {
        throw new ApiError(
          'InvalidSession',
          `metadata.namespace is ${body.metadata.namespace} but the request is for namespace ${ns}; remove it or use the same namespace`,
          { field: 'metadata.namespace' },
        );
      }
      const reserved = Object.keys(body.metadata.labels ?? {}).find((key) => key.startsWith(RESERVED_PREFIX));
      if (reserved) {
        throw new ApiError(
          'InvalidSession',
          `metadata.labels may not use the ${RESERVED_PREFIX} prefix (${reserved}): Shepherd sets those labels itself; choose another key`,
          { field: `metadata.labels["${reserved}"]` },
        );
      }
      const violations = celViolations(specSchema, body.spec);
      const first = violations[0];
      if (first) {
        throw new ApiError('InvalidSession', first.message, { field: first.field, violations });
      }
      const session = await backend.create({
        namespace: ns,
        name: body.metadata.name,
        ...(body.metadata.labels ? { labels: body.metadata.labels } : {}),
        spec: body.spec,
      });
      metrics.sessionsCreated.inc({ runtime });
      void reply.code(201).header('location', `/api/v1/namespaces/${ns}/sessions/${session.metadata.name}`);
      return session;
    },
  );

  app.get(
    item,
    {
      preHandler: authorize('get'),
      schema: {
        operationId: 'getSession',
        summary: 'Get a session',
        tags: TAGS,
        security: SECURITY,
        params: SessionParams,
        response: { 200: SessionRef, ...errorResponses(...SESSION_ERRORS, 404) },
      },
    },
    (request) => backend.get(request.params.ns, request.params.name),
  );

  app.delete(
    item,
    {
      preHandler: authorize('delete'),
      schema: {
        operationId: 'deleteSession',
        summary: 'Delete a session',
        description: 'Deletes the session and cancels its workflow; returns the session as it was last seen.',
        tags: TAGS,
        security: SECURITY,
        params: SessionParams,
        response: { 200: SessionRef, ...errorResponses(...SESSION_ERRORS, ...BODY_ERRORS, 404) },
      },
    },
    async (request) => {
      const session = await backend.delete(request.params.ns, request.params.name);
      metrics.sessionActions.inc({ action: 'delete', runtime });
      return session;
    },
  );

  for (const action of ['stop', 'restart'] as const) {
    app.post(
      `${item}/${action}`,
      {
        preHandler: authorize('update'),
        schema: {
          operationId: `${action}Session`,
          summary: action === 'stop' ? 'Stop a session' : 'Restart a session',
          description:
            action === 'stop'
              ? 'Asks the session to stop: its runner is ended and it is cleaned up, ending Stopped.'
              : 'Runs the session again as a new attempt on the same workspace (a finished session starts a new run).',
          tags: TAGS,
          security: SECURITY,
          params: SessionParams,
          response: { 202: SessionRef, ...errorResponses(...SESSION_ERRORS, ...BODY_ERRORS, 404) },
        },
      },
      async (request, reply) => {
        const { ns, name } = request.params;
        const session = action === 'stop' ? await backend.stop(ns, name) : await backend.restart(ns, name);
        metrics.sessionActions.inc({ action, runtime });
        void reply.code(202);
        return session;
      },
    );
  }

  for (const kind of ['prompt', 'answer'] as const) {
    app.post(
      kind === 'prompt' ? `${item}/prompts` : `${item}/answer`,
      {
        preHandler: authorize('update'),
        schemaErrorFormatter: (errors, context) => promptValidationError(errors as ErrorObject[], context),
        schema: {
          operationId: kind === 'prompt' ? 'sendSessionPrompt' : 'answerSession',
          summary: kind === 'prompt' ? 'Send a prompt' : "Answer the agent's question",
          description:
            kind === 'prompt'
              ? 'Starts the next turn of a conversation with this prompt, on the same workspace and output branch (while the agent waits for an answer, the prompt is the answer). Refused with 409 PromptRefused when the session cannot take it now: finished, stopping, or running a turn.'
              : "Answers the question the agent asked (phase WaitingForInput, status.question): the answer is the next turn's prompt. Refused with 409 PromptRefused when no question waits.",
          tags: TAGS,
          security: SECURITY,
          params: SessionParams,
          body: PromptBody,
          response: {
            202: PromptAcceptedRef,
            ...errorResponses(...SESSION_ERRORS, ...BODY_ERRORS, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const { ns, name } = request.params;
        const { prompt, source = 'api' } = request.body;
        // Who sent it is who the token belongs to, never what the body says. A local API serves
        // one user, whom it knows by no name.
        const author = runtime === 'kubernetes' ? request.caller?.username : undefined;
        const result = await backend.prompt(
          ns,
          name,
          { prompt, source, ...(author ? { author } : {}) },
          kind,
        );
        metrics.sessionActions.inc({ action: kind, runtime });
        void reply.code(202);
        return result;
      },
    );
  }

  app.post(
    `${item}/approve`,
    {
      // Resuming a session is changing it, as a prompt is.
      preHandler: authorize('update'),
      schemaErrorFormatter: (errors, context) => approvalValidationError(errors as ErrorObject[], context),
      schema: {
        operationId: 'approveSession',
        summary: 'Approve a higher budget cap',
        description:
          "Resumes a session waiting at a budget cap of its NamespacePolicy (phase WaitingForApproval) with a higher cap: its own (budget.perSessionUsd) or, for this session, the namespace's monthly one (budget.monthlyUsd), whichever it reached. Refused with 409 ApprovalRefused when the session is not WaitingForApproval or capUsd is not above what was spent.",
        tags: TAGS,
        security: SECURITY,
        params: SessionParams,
        body: ApproveBody,
        response: {
          202: ApprovalAcceptedRef,
          ...errorResponses(...SESSION_ERRORS, ...BODY_ERRORS, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { ns, name } = request.params;
      // As for a prompt: who approved is who the token belongs to, never what the body says.
      const author = runtime === 'kubernetes' ? request.caller?.username : undefined;
      const result = await backend.approve(ns, name, {
        capUsd: request.body.capUsd,
        ...(author ? { author } : {}),
      });
      metrics.sessionActions.inc({ action: 'approve', runtime });
      void reply.code(202);
      return result;
    },
  );

  app.get(
    `${item}/logs`,
    {
      preHandler: authorize('get'),
      schema: {
        operationId: 'sessionLogs',
        summary: "Read a session's runner log",
        description: 'The runner log as plain text; with follow=true it streams until the runner ends.',
        tags: TAGS,
        security: SECURITY,
        params: SessionParams,
        querystring: LogsQuery,
        response: {
          200: {
            description: 'The log, as plain text.',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses(...SESSION_ERRORS, 404, 502),
        },
      },
    },
    async (request, reply) => {
      const abort = new AbortController();
      // The client going away ends a followed log, or its reads would go on forever. (The
      // response's close, not the request's: a request closes once its body has been read.)
      reply.raw.once('close', () => abort.abort());
      const stream = await backend.logs(request.params.ns, request.params.name, {
        follow: request.query.follow ?? false,
        signal: abort.signal,
      });
      // No buffering by proxies, so a followed log arrives line by line.
      void reply.type('text/plain; charset=utf-8').header('x-accel-buffering', 'no');
      // The response schema documents the body as text; a stream is sent as is.
      return reply.send(stream as unknown as string);
    },
  );
};
