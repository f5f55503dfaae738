/**
 * The audit log of API mutations: one line per POST, PUT, PATCH or DELETE under `/api/v1`, once
 * it is answered — who (the authenticated caller; `webhook:<source>` for a signed delivery,
 * `anonymous` for a caller refused before it was known), what (method, route pattern, namespace,
 * session), when (the request's arrival) and the outcome (status code and, for a refusal, the
 * error code). Lines carry `audit: true` and the logger name `shepherd-audit`, so a log pipeline
 * can route them apart; they never hold a body, a header or a token, only what the route names.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../common/logger.js';
import { ApiError } from './errors.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One audit record. */
export interface AuditRecord {
  audit: true;
  who: { username: string; uid?: string; groups?: string[] };
  what: { method: string; route: string; namespace?: string; session?: string };
  /** RFC 3339, when the request arrived. */
  when: string;
  outcome: { statusCode: number; result: 'succeeded' | 'refused' | 'failed'; code?: string };
  requestId: string;
}

/** Who made `request`, as far as the API knows it. */
function who(request: FastifyRequest, route: string): AuditRecord['who'] {
  const { caller } = request;
  if (caller) {
    return { username: caller.username, ...(caller.uid ? { uid: caller.uid } : {}), groups: caller.groups };
  }
  const source = (/\/webhooks\/([a-z]+)$/.exec(route) ?? [])[1];
  return { username: source ? `webhook:${source}` : 'anonymous' };
}

/** Adds the audit log to `app`, writing to `logger`. */
export function auditMutations(app: FastifyInstance, logger: Logger): void {
  const codes = new WeakMap<FastifyRequest, string>();
  app.addHook('onError', (request, _reply, error, done) => {
    if (error instanceof ApiError) codes.set(request, error.code);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
    if (!MUTATING.has(request.method) || !route.startsWith('/api/v1/')) return done();
    const params = (request.params ?? {}) as { ns?: unknown; name?: unknown };
    const bodyName = (request.body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    const session =
      typeof params.name === 'string' ? params.name : typeof bodyName === 'string' ? bodyName : undefined;
    const status = reply.statusCode;
    const code = codes.get(request);
    const record: AuditRecord = {
      audit: true,
      who: who(request, route),
      what: {
        method: request.method,
        route,
        ...(typeof params.ns === 'string' ? { namespace: params.ns } : {}),
        ...(session !== undefined ? { session } : {}),
      },
      when: new Date(Date.now() - reply.elapsedTime).toISOString(),
      outcome: {
        statusCode: status,
        result: status < 400 ? 'succeeded' : status < 500 ? 'refused' : 'failed',
        ...(code ? { code } : {}),
      },
      requestId: request.id,
    };
    logger.info(record, `${request.method} ${route} ${status}`);
    done();
  });
}
