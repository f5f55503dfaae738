/**
 * What the API tells an operator about the calls it serves, through `app.inject`: every mutation
 * leaves one audit line saying who did what to which session, when, and how it ended — a refused
 * one too, and never the token or the body — while reads leave none; and every request is a span
 * named by its route that carries the session, with the backend's work inside it.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import type { Authenticator } from '../../src/api/auth.js';
import { ApiError } from '../../src/api/errors.js';
import type { AuditRecord } from '../../src/api/audit-log.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import type { Logger } from '../../src/common/logger.js';
import { currentSessionScope } from '../../src/observability/session-context.js';
import { fakeSessionBackend, type FakeSessionBackend } from './support/fake-session-backend.js';

const TOKEN = 'bob-token-never-logged';
const sessions = '/api/v1/namespaces/team-a/sessions';

/** Bob may do anything but delete. */
const bobAuth: Authenticator = {
  authenticate: (authorization) =>
    authorization === `Bearer ${TOKEN}`
      ? Promise.resolve({ username: 'bob', uid: 'u-1', groups: ['devs'], tokenHash: 'h' })
      : Promise.reject(new ApiError('Unauthenticated', 'the bearer token is not valid for this API')),
  authorize: (_caller, verb) =>
    verb === 'delete' ? Promise.reject(new ApiError('Forbidden', 'bob may not delete')) : Promise.resolve(),
  listableNamespaces: (_caller, namespaces) => Promise.resolve(namespaces),
};

/** A logger that keeps what it is given. */
function recordingLogger(lines: AuditRecord[]): Logger {
  const log = (fields: unknown) => void lines.push(fields as AuditRecord);
  return { debug: log, info: log, warn: log, error: log };
}

describe('the API audit log and request spans', () => {
  let app: FastifyInstance;
  let backend: FakeSessionBackend;
  const audit: AuditRecord[] = [];
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const scopes: unknown[] = [];

  before(async () => {
    backend = fakeSessionBackend();
    const create = backend.create.bind(backend);
    // The backend's work happens inside the request's span and session scope.
    backend.create = (input) => {
      scopes.push(currentSessionScope());
      trace.getTracer('test').startSpan('backend create').end();
      return create(input);
    };
    // As the API's main does it: the provider, W3C propagation and async context, globally.
    provider.register();
    app = await buildApp({
      backend,
      auth: bobAuth,
      metrics: createApiMetrics(false),
      tracer: provider.getTracer('shepherd'),
      auditLogger: recordingLogger(audit),
    });
  });
  after(async () => {
    await app.close();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => {
    audit.length = 0;
    exporter.reset();
    backend.sessions.clear();
  });

  const create = (name: string, token = TOKEN) =>
    app.inject({
      method: 'POST',
      url: sessions,
      headers: { authorization: `Bearer ${token}` },
      payload: {
        metadata: { name },
        spec: { agent: 'command', command: ['make'], env: [{ name: 'API_KEY', value: 'hunter2' }] },
      },
    });

  it('a created session leaves one audit line: who, what, when and the outcome, without the token or the body', async () => {
    const before = Date.now();
    const response = await create('fix-build');
    assert.equal(response.statusCode, 201, response.body);
    assert.equal(audit.length, 1);
    const [record] = audit;
    assert.deepEqual(record?.who, { username: 'bob', uid: 'u-1', groups: ['devs'] });
    assert.deepEqual(record?.what, {
      method: 'POST',
      route: '/api/v1/namespaces/:ns/sessions',
      namespace: 'team-a',
      session: 'fix-build',
    });
    assert.deepEqual(record?.outcome, { statusCode: 201, result: 'succeeded' });
    assert.ok(
      Date.parse(record?.when ?? '') >= before - 1000 && Date.parse(record?.when ?? '') <= Date.now(),
    );
    const text = JSON.stringify(audit);
    assert.ok(!text.includes(TOKEN) && !text.includes('hunter2'), text);
  });

  it('a refused mutation is audited with its status and error code; an anonymous one names no one and no session (its body is never read)', async () => {
    await create('fix-build');
    audit.length = 0;
    const denied = await app.inject({
      method: 'DELETE',
      url: `${sessions}/fix-build`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(denied.statusCode, 403);
    const anonymous = await create('other', 'wrong-token');
    assert.equal(anonymous.statusCode, 401);
    assert.deepEqual(
      audit.map((r) => [r.who.username, r.what.method, r.what.session, r.outcome]),
      [
        ['bob', 'DELETE', 'fix-build', { statusCode: 403, result: 'refused', code: 'Forbidden' }],
        ['anonymous', 'POST', undefined, { statusCode: 401, result: 'refused', code: 'Unauthenticated' }],
      ],
    );
  });

  it('reads are not audited', async () => {
    await create('fix-build');
    audit.length = 0;
    const read = await app.inject({
      method: 'GET',
      url: `${sessions}/fix-build`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(read.statusCode, 200);
    assert.deepEqual(audit, []);
  });

  it('a request is a server span named by its route, carrying the session, with the backend call inside it', async () => {
    const parent = '0af7651916cd43dd8448eb211c80319c';
    const response = await app.inject({
      method: 'POST',
      url: sessions,
      headers: { authorization: `Bearer ${TOKEN}`, traceparent: `00-${parent}-b7ad6b7169203331-01` },
      payload: { metadata: { name: 'traced' }, spec: { agent: 'command', command: ['make'] } },
    });
    assert.equal(response.statusCode, 201, response.body);
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'POST /api/v1/namespaces/:ns/sessions');
    assert.ok(request, spans.map((s) => s.name).join(', '));
    assert.equal(request.spanContext().traceId, parent, 'the caller’s trace is continued');
    assert.equal(request.attributes['shepherd.namespace'], 'team-a');
    assert.equal(request.attributes['shepherd.session'], 'traced');
    assert.equal(request.attributes['http.response.status_code'], 201);
    const inner = spans.find((s) => s.name === 'backend create');
    assert.equal(inner?.parentSpanId, request.spanContext().spanId);
    assert.deepEqual(scopes.at(-1), { namespace: 'team-a', session: 'traced' });
  });
});
