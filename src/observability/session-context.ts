/**
 * Which session the code running now works for: the namespace, the session and, in an activity
 * that acts on one runner, the attempt. The worker's activity interceptor and the API's request
 * hook set it for the work they start, so that every log line (through pino's `mixin`) and every
 * Kubernetes call span made meanwhile carries it, without each activity passing it along.
 * AsyncLocalStorage, because it follows the work across awaits and nothing else has to know.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { trace } from '@opentelemetry/api';

/** The session a piece of work belongs to. */
export interface SessionScope {
  namespace: string;
  session: string;
  attempt?: number;
}

const scopes = new AsyncLocalStorage<SessionScope>();

/** Runs `fn` with `scope` as the current session. */
export function withSessionScope<T>(scope: SessionScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The current session, if the work running now belongs to one. */
export function currentSessionScope(): SessionScope | undefined {
  return scopes.getStore();
}

/**
 * The fields every log line carries: the current session's namespace, session and attempt, and
 * the current trace and span ids (so a log line leads to its trace). For pino's `mixin` option.
 */
export function sessionLogFields(): Record<string, string | number> {
  const scope = scopes.getStore();
  const span = trace.getActiveSpan()?.spanContext();
  return {
    ...(scope ? { namespace: scope.namespace, session: scope.session } : {}),
    ...(scope?.attempt !== undefined ? { attempt: scope.attempt } : {}),
    ...(span && span.traceFlags & 1 ? { trace_id: span.traceId, span_id: span.spanId } : {}),
  };
}
