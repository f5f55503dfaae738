/**
 * A span per API request, the root of a session's trace when the request starts one: named
 * `<METHOD> <route pattern>` (bounded cardinality, never the raw URL), a child of the caller's
 * span when it sends W3C `traceparent`, with the status code, and the namespace and session the
 * route acts on. The route's handler runs inside it, and in the session's scope, so the Temporal
 * client's StartWorkflow or Signal span, the Kubernetes calls and the handler's log lines all hang
 * under it. A small hook rather than an HTTP instrumentation: it needs no loader hook, and it
 * knows the route and the session. Only `/api/` routes are traced: probes, metric scrapes and the
 * OpenAPI document are not.
 */
import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { type SessionScope, withSessionScope } from '../observability/session-context.js';
import { NAMESPACE_ATTRIBUTE, SESSION_ATTRIBUTE } from '../observability/session-span-exporter.js';

/** The session a request acts on: its `{ns}` and `{name}`, or the name in a create request's body. */
export function requestSessionScope(request: FastifyRequest): SessionScope | undefined {
  const params = (request.params ?? {}) as { ns?: unknown; name?: unknown };
  if (typeof params.ns !== 'string') return undefined;
  const bodyName = (request.body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  const name =
    typeof params.name === 'string' ? params.name : typeof bodyName === 'string' ? bodyName : undefined;
  return name === undefined ? undefined : { namespace: params.ns, session: name };
}

/** Adds the request spans to `app`; call before the routes are registered. */
export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  const spans = new WeakMap<FastifyRequest, Span>();

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // Probes, scrapes and the OpenAPI document would bury the sessions' traces.
    if (!route.startsWith('/api/')) return done();
    const parent = propagation.extract(context.active(), request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'http.route': route },
      },
      parent,
    );
    spans.set(request, span);
    done();
  });

  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const span = spans.get(request);
      if (!span) return handler.call(this, request, reply);
      const scope = requestSessionScope(request);
      if (scope)
        span.setAttributes({ [NAMESPACE_ATTRIBUTE]: scope.namespace, [SESSION_ATTRIBUTE]: scope.session });
      const run = () => handler.call(this, request, reply);
      return context.with(trace.setSpan(context.active(), span), () =>
        scope ? withSessionScope(scope, run) : run(),
      );
    };
  });

  app.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      spans.delete(request);
    }
    done();
  });
}
