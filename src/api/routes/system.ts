/**
 * Routes outside the session API: liveness, readiness, Prometheus metrics, the OpenAPI document,
 * and the caller's namespaces. Probes and metrics need no token, as kubelets and Prometheus
 * scrape them without one.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator, Caller } from '../auth.js';
import type { ApiMetrics } from '../metrics.js';
import { errorResponses, NamespaceList } from '../schemas.js';
import type { SessionBackend } from '../session-backend.js';

/** What the system routes need. */
export interface SystemRoutesOptions {
  backend: SessionBackend;
  auth: Authenticator;
  metrics: ApiMetrics;
  /** Authenticates a request (sets `request.caller`). */
  authenticate: (request: { headers: { authorization?: string } }) => Promise<Caller>;
}

const Probe = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
});

export const systemRoutes: FastifyPluginAsyncTypebox<SystemRoutesOptions> = async (app, options) => {
  const { backend, auth, metrics, authenticate } = options;

  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'healthz',
        summary: 'Liveness: the process serves requests',
        tags: ['probes'],
        response: { 200: Probe, ...errorResponses() },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readyz',
        summary: 'Readiness: Temporal (and, on Kubernetes, the API server) reachable',
        tags: ['probes'],
        response: { ...errorResponses(), 200: Probe, 503: Probe },
      },
    },
    async (_request, reply) => {
      const checks = await backend.ready();
      const ok = Object.values(checks).every((value) => value !== false);
      void reply.code(ok ? 200 : 503);
      return { status: ok ? ('ok' as const) : ('unavailable' as const), checks: { ...checks } };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['probes'],
        response: {
          200: {
            description: 'Prometheus text format.',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorResponses(),
        },
      },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/api/v1/user/namespaces',
    {
      schema: {
        operationId: 'userNamespaces',
        summary: 'Namespaces where the caller may list sessions',
        tags: ['user'],
        security: [{ bearer: [] }],
        response: {
          200: NamespaceList,
          ...errorResponses(401, 429, 503),
        },
      },
    },
    async (request) => {
      const caller = await authenticate(request);
      const namespaces = await auth.listableNamespaces(caller, await backend.namespaces());
      return { namespaces };
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'openapi',
        summary: 'This OpenAPI document',
        tags: ['probes'],
        response: {
          200: Type.Object({}, { additionalProperties: true, description: 'The OpenAPI 3.1 document.' }),
          ...errorResponses(),
        },
      },
    },
    () => app.swagger(),
  );
};
