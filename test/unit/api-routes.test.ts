/**
 * The API's routes through `app.inject`, with a SessionBackend test double: what a client sees
 * for each status code — a created session with its Location, a bad session refused with the
 * field named, a missing one, a name taken, a body over the limit, no token, no permission, an
 * unreachable Temporal, an internal failure that reveals nothing — and an OpenAPI document that
 * validates and lists every route.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ServiceError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { type Authenticator, localAuthenticator } from '../../src/api/auth.js';
import { ApiError } from '../../src/api/errors.js';
import { isLoopbackHost } from '../../src/api/loopback-host.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import type { ApiSession } from '../../src/api/session-backend.js';
import { fakeSessionBackend, type FakeSessionBackend } from './support/fake-session-backend.js';

const TOKEN = 'local-secret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const sessions = '/api/v1/namespaces/team-a/sessions';

function commandSession(name: string, extra: Record<string, unknown> = {}) {
  return { metadata: { name }, spec: { agent: 'command', command: ['make', 'fix'], ...extra } };
}

describe('the API routes', () => {
  let app: FastifyInstance;
  let backend: FakeSessionBackend;

  before(async () => {
    backend = fakeSessionBackend();
    app = await buildApp({ backend, auth: localAuthenticator(TOKEN), metrics: createApiMetrics(false) });
  });
  after(() => app.close());
  beforeEach(() => {
    backend.sessions.clear();
    backend.failNext = undefined;
    backend.readiness = { temporal: true };
  });

  it('creates a session: 201 with the session object and its Location, CRD defaults applied', async () => {
    const response = await app.inject({
      method: 'POST',
      url: sessions,
      headers: auth,
      payload: {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSession',
        metadata: { name: 'fix-build', labels: { team: 'a' } },
        spec: {
          initialPrompt: 'fix the build',
          repos: [{ url: 'https://git.example/app.git', branch: 'main' }],
        },
      },
    });
    assert.equal(response.statusCode, 201, response.body);
    assert.equal(response.headers.location, `${sessions}/fix-build`);
    const body = response.json<ApiSession>();
    assert.deepEqual(body.metadata, { name: 'fix-build', namespace: 'team-a', labels: { team: 'a' } });
    assert.equal(body.spec.retries, 0);
    assert.equal(body.spec.desiredState, 'Running');
    assert.equal(body.spec.repos?.[0]?.autoPush, true);
    assert.equal(body.status.phase, 'Pending');
  });

  it('refuses a session that breaks the CRD schema with 400 InvalidSession naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [commandSession('a', { repos: [{ url: 'not a url' }] }), 'spec.repos[0].url', /must match/],
      [commandSession('a', { retries: 11 }), 'spec.retries', /must be <= 10/],
      [commandSession('a', { retries: '1' }), 'spec.retries', /must be integer/],
      [commandSession('a', { agent: 'gpt' }), 'spec.agent', /one of claude, opencode, command/],
      [commandSession('a', { timeot: '1h' }), 'spec.timeot', /not a field of spec/],
      [commandSession('a', { timeout: 'soon' }), 'spec.timeout', /must match/],
      [{ metadata: { name: 'Bad_Name' }, spec: {} }, 'metadata.name', /must match/],
      [{ spec: {} }, 'metadata', /is required/],
    ];
    for (const [payload, field, message] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: sessions,
        headers: auth,
        payload: payload as object,
      });
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      const error = response.json<{ code: string; message: string; details: { field: string } }>();
      assert.equal(error.code, 'InvalidSession');
      assert.equal(error.details.field, field, error.message);
      assert.match(error.message, message);
    }
  });

  it('refuses a session that breaks a CEL rule with the CRD message', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ metadata: { name: 'a' }, spec: { agent: 'command' } }, 'spec.command', /spec.command is required/],
      [
        { metadata: { name: 'a' }, spec: { agent: 'claude' } },
        'spec.initialPrompt',
        /initialPrompt is required/,
      ],
      [
        { metadata: { name: 'a' }, spec: { initialPrompt: 'x', providerRef: { name: 'p' }, provider: {} } },
        'spec.providerRef',
        /mutually exclusive/,
      ],
      [
        commandSession('a', { repos: [{ url: 'https://g/r', branch: 'main', outputBranch: 'main' }] }),
        'spec.repos[0].outputBranch',
        /must differ/,
      ],
      [
        commandSession('a', { env: [{ name: 'SHEPHERD_X', value: '1' }] }),
        'spec.env[0].name',
        /may not be INITIAL_PROMPT/,
      ],
      [
        commandSession('a', { env: [{ name: 'A', valueFrom: {} }] }),
        'spec.env[0].valueFrom',
        /exactly one of secretKeyRef or configMapKeyRef/,
      ],
      [
        commandSession('a', { podMetadata: { labels: { 'shepherd.dev/x': 'y' } } }),
        'spec.podMetadata.labels',
        /shepherd.dev\/ prefix/,
      ],
      [
        commandSession('a', { repos: [{ url: 'https://g/r' }, { url: 'https://g/r' }] }),
        'spec.repos[1]',
        /distinct url/,
      ],
      [
        { metadata: { name: 'a', labels: { 'shepherd.dev/session': 'x' } }, spec: {} },
        'metadata.labels["shepherd.dev/session"]',
        /reserved|prefix/,
      ],
      [{ metadata: { name: 'a', namespace: 'team-b' }, spec: {} }, 'metadata.namespace', /team-b/],
    ];
    for (const [payload, field, message] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: sessions,
        headers: auth,
        payload: payload as object,
      });
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      const error = response.json<{ code: string; message: string; details: { field: string } }>();
      assert.equal(error.code, 'InvalidSession');
      assert.equal(error.details.field, field, error.message);
      assert.match(error.message, message);
    }
  });

  it('refuses up front what Kubernetes would refuse when it creates the Job or PVC, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ podMetadata: { labels: { team: 'a b' } } }, 'spec.podMetadata.labels.team'],
      [{ podMetadata: { labels: { 'my team': 'a' } } }, 'spec.podMetadata.labels'],
      [{ podMetadata: { annotations: { 'a:b': 'x' } } }, 'spec.podMetadata.annotations'],
      [{ nodeSelector: { zone: 'z'.repeat(64) } }, 'spec.nodeSelector.zone'],
      [{ nodeSelector: { ['p'.repeat(254) + '/zone']: 'a' } }, 'spec.nodeSelector'],
      [{ resources: { limits: { memory: '4 GiB' } } }, 'spec.resources.limits.memory'],
      [{ resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }, 'spec.resources.requests'],
      [{ resources: { requests: { cpu: '1500m' }, limits: { cpu: 1 } } }, 'spec.resources.requests'],
      [{ resources: { limits: { 'my gpu': '1' } } }, 'spec.resources.limits'],
      [{ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }, 'spec.tolerations[0].value'],
      [{ tolerations: [{ value: 'v' }] }, 'spec.tolerations[0].key'],
      [{ tolerations: [{ key: 'k', tolerationSeconds: 5 }] }, 'spec.tolerations[0].tolerationSeconds'],
      [
        { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'My_Secret', key: 'k' } } }] },
        'spec.env[0].valueFrom.secretKeyRef.name',
      ],
      [{ image: 'runner :latest' }, 'spec.image'],
      [{ workspace: { storageClass: 'Fast' } }, 'spec.workspace.storageClass'],
    ];
    for (const [spec, field] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: sessions,
        headers: auth,
        payload: commandSession('bad', spec),
      });
      assert.equal(response.statusCode, 400, JSON.stringify(spec));
      const error = response.json<{ code: string; message: string; details: { field: string } }>();
      assert.equal(error.code, 'InvalidSession');
      assert.equal(error.details.field, field, error.message);
    }
    assert.equal(backend.sessions.size, 0, 'nothing was created');
    const fine = await app.inject({
      method: 'POST',
      url: sessions,
      headers: auth,
      payload: commandSession('fine', {
        podMetadata: {
          labels: { 'example.com/team': 'a_b-1.c', empty: '' },
          annotations: { 'x.io/n': 'any text' },
        },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '1073741824' } },
        tolerations: [{ operator: 'Exists' }, { key: 'k', effect: 'NoExecute', tolerationSeconds: 5 }],
      }),
    });
    assert.equal(fine.statusCode, 201, fine.body);
  });

  it('answers every framework error with {code, message, details}: methods, URLs, lengths, bodies', async () => {
    const cases: Array<[string, string, number, string, Record<string, string>?, string?]> = [
      ['TRACE', '/healthz', 405, 'MethodNotAllowed'],
      ['QUERY', sessions, 405, 'MethodNotAllowed'],
      ['PUT', `${sessions}/a`, 405, 'MethodNotAllowed'],
      ['GET', '/no/such/route', 404, 'NotFound'],
      ['GET', `${sessions}/%zz`, 400, 'InvalidRequest'],
      ['GET', `${sessions}/${'a'.repeat(253)}`, 404, 'NotFound'],
      ['GET', `${sessions}/${'a'.repeat(254)}`, 400, 'InvalidRequest'],
      ['GET', `${sessions}/${'a'.repeat(5000)}`, 400, 'InvalidRequest'],
      ['GET', `/api/v1/namespaces/${'n'.repeat(64)}/sessions`, 400, 'InvalidRequest'],
      ['GET', `${sessions}?limit=0`, 400, 'InvalidRequest'],
      ['GET', `${sessions}/a/logs?follow=maybe`, 400, 'InvalidRequest'],
      ['POST', `${sessions}/a/stop`, 415, 'UnsupportedMediaType', { 'content-type': 'text/xml' }, '<a/>'],
      ['POST', sessions, 400, 'InvalidRequest', { 'content-type': 'application/json' }, '{"metadata":'],
    ];
    for (const [method, url, status, code, headers = {}, payload] of cases) {
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...auth, ...headers },
        ...(payload === undefined ? {} : { payload }),
      });
      assert.equal(response.statusCode, status, `${method} ${url.slice(0, 80)}: ${response.body}`);
      const body = response.json<{ code: string; message: string; details: Record<string, unknown> }>();
      assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message'], response.body);
      assert.equal(body.code, code, response.body);
      if (status === 405) assert.match(String(response.headers.allow), /GET|POST/);
    }
  });

  it('answers 409 AlreadyExists for a name that is taken', async () => {
    await app.inject({ method: 'POST', url: sessions, headers: auth, payload: commandSession('twice') });
    const response = await app.inject({
      method: 'POST',
      url: sessions,
      headers: auth,
      payload: commandSession('twice'),
    });
    assert.equal(response.statusCode, 409);
    assert.equal(response.json<{ code: string }>().code, 'AlreadyExists');
  });

  it('answers 413 PayloadTooLarge, stating the limit, for a body over 1 MiB', async () => {
    const response = await app.inject({
      method: 'POST',
      url: sessions,
      headers: auth,
      payload: { metadata: { name: 'big' }, spec: { initialPrompt: 'x'.repeat(1_100_000) } },
    });
    assert.equal(response.statusCode, 413);
    const error = response.json<{ code: string; message: string; details: { limitBytes: number } }>();
    assert.equal(error.code, 'PayloadTooLarge');
    assert.equal(error.details.limitBytes, 1024 * 1024);
    assert.match(error.message, /1 MiB/);
  });

  it('answers 400 for a body that is not JSON, and 415 for one that is not JSON at all', async () => {
    const broken = await app.inject({
      method: 'POST',
      url: sessions,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"metadata":',
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json<{ code: string }>().code, 'InvalidRequest');
    const text = await app.inject({
      method: 'POST',
      url: sessions,
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: 'run something',
    });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json<{ code: string }>().code, 'UnsupportedMediaType');
  });

  it('lists with limit/continue paging and a phase filter; a bad limit is 400 InvalidRequest', async () => {
    for (const name of ['s1', 's2', 's3']) {
      await app.inject({ method: 'POST', url: sessions, headers: auth, payload: commandSession(name) });
    }
    backend.sessions.get('team-a/s2')!.status.phase = 'Failed';
    const first = await app.inject({ url: `${sessions}?limit=2`, headers: auth });
    assert.equal(first.statusCode, 200);
    const page = first.json<{
      kind: string;
      items: Array<{ metadata: { name: string } }>;
      metadata: { continue: string };
    }>();
    assert.equal(page.kind, 'AgentSessionList');
    assert.deepEqual(
      page.items.map((s) => s.metadata.name),
      ['s1', 's2'],
    );
    const second = await app.inject({
      url: `${sessions}?limit=2&continue=${page.metadata.continue}`,
      headers: auth,
    });
    assert.deepEqual(
      second.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((s) => s.metadata.name),
      ['s3'],
    );
    const failed = await app.inject({ url: `${sessions}?phase=Failed`, headers: auth });
    assert.deepEqual(
      failed.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((s) => s.metadata.name),
      ['s2'],
    );
    const bad = await app.inject({ url: `${sessions}?limit=lots`, headers: auth });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json<{ code: string; details: { field: string } }>().code, 'InvalidRequest');
    const badPhase = await app.inject({ url: `${sessions}?phase=Done`, headers: auth });
    assert.equal(badPhase.statusCode, 400);
  });

  it('gets, stops (202), restarts (202) and deletes a session; a missing one is 404 NotFound', async () => {
    await app.inject({ method: 'POST', url: sessions, headers: auth, payload: commandSession('life') });
    const got = await app.inject({ url: `${sessions}/life`, headers: auth });
    assert.equal(got.statusCode, 200);
    const stopped = await app.inject({ method: 'POST', url: `${sessions}/life/stop`, headers: auth });
    assert.equal(stopped.statusCode, 202);
    assert.equal(stopped.json<{ spec: { desiredState: string } }>().spec.desiredState, 'Stopped');
    const restarted = await app.inject({ method: 'POST', url: `${sessions}/life/restart`, headers: auth });
    assert.equal(restarted.statusCode, 202);
    assert.equal(restarted.json<{ status: { attempt: number } }>().status.attempt, 1);
    const deleted = await app.inject({ method: 'DELETE', url: `${sessions}/life`, headers: auth });
    assert.equal(deleted.statusCode, 200);
    for (const [method, url] of [
      ['GET', `${sessions}/life`],
      ['DELETE', `${sessions}/life`],
      ['POST', `${sessions}/life/stop`],
      ['GET', `${sessions}/life/logs`],
    ] as const) {
      const missing = await app.inject({ method, url, headers: auth });
      assert.equal(missing.statusCode, 404, `${method} ${url}`);
      assert.equal(missing.json<{ code: string }>().code, 'NotFound');
    }
    const noRoute = await app.inject({ url: '/api/v1/nothing', headers: auth });
    assert.equal(noRoute.statusCode, 404);
    assert.equal(noRoute.json<{ code: string }>().code, 'NotFound');
  });

  it('streams the runner log as text, and answers 404 before the runner exists', async () => {
    await app.inject({ method: 'POST', url: sessions, headers: auth, payload: commandSession('talk') });
    const early = await app.inject({ url: `${sessions}/talk/logs`, headers: auth });
    assert.equal(early.statusCode, 404);
    backend.sessions.get('team-a/talk')!.status.attempt = 1;
    const logs = await app.inject({ url: `${sessions}/talk/logs?follow=true`, headers: auth });
    assert.equal(logs.statusCode, 200);
    assert.match(String(logs.headers['content-type']), /^text\/plain/);
    assert.equal(logs.body, 'hello from the runner\n');
  });

  it('answers 401 Unauthenticated without the token or with a wrong one, with WWW-Authenticate', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }]) {
      const response = await app.inject({ url: sessions, headers });
      assert.equal(response.statusCode, 401);
      assert.equal(response.json<{ code: string }>().code, 'Unauthenticated');
      assert.match(String(response.headers['www-authenticate']), /^Bearer/);
    }
  });

  it('answers 503 TemporalUnavailable when Temporal is unreachable, and /readyz says so', async () => {
    backend.failNext = new ServiceError('Failed to query workflow', {
      cause: Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
        code: 14,
        details: '',
        metadata: {},
      }),
    });
    const response = await app.inject({ url: `${sessions}/any`, headers: auth });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json<{ code: string }>().code, 'TemporalUnavailable');
    backend.readiness = { temporal: false };
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { status: 'unavailable', checks: { temporal: false } });
  });

  it('answers 500 Internal without a stack trace or the internal message', async () => {
    backend.failNext = new Error('ECONNRESET at /srv/secret/path.ts:12 password=hunter2');
    const response = await app.inject({ url: `${sessions}/any`, headers: auth });
    assert.equal(response.statusCode, 500);
    const error = response.json<{ code: string; message: string }>();
    assert.equal(error.code, 'Internal');
    assert.doesNotMatch(response.body, /hunter2|secret|\.ts:|at /);
  });

  it('serves /healthz, /readyz and Prometheus /metrics with request and session metrics', async () => {
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    await app.inject({ method: 'POST', url: sessions, headers: auth, payload: commandSession('counted') });
    const metrics = await app.inject({ url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /shepherd_api_sessions_created_total\{runtime="local"\} \d+/);
    assert.match(
      metrics.body,
      /shepherd_api_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/namespaces\/:ns\/sessions",status_code="201"\}/,
    );
  });

  it('publishes an OpenAPI document that validates and lists every route, and the docs UI', async () => {
    const document = (await app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    await SwaggerParser.validate(structuredClone(document) as never);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /api/v1/namespaces/{ns}/sessions',
      'POST /api/v1/namespaces/{ns}/sessions',
      'GET /api/v1/namespaces/{ns}/sessions/{name}',
      'DELETE /api/v1/namespaces/{ns}/sessions/{name}',
      'POST /api/v1/namespaces/{ns}/sessions/{name}/stop',
      'POST /api/v1/namespaces/{ns}/sessions/{name}/restart',
      'GET /api/v1/namespaces/{ns}/sessions/{name}/logs',
      'GET /api/v1/user/namespaces',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
    ]) {
      assert.ok(routes.includes(route), `${route} is missing from ${routes.join(', ')}`);
    }
    const docs = await app.inject({ url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});

describe('authorization', () => {
  it('answers 403 Forbidden when the authenticator refuses the verb, and lists only allowed namespaces', async () => {
    const backend = fakeSessionBackend();
    const decisions: string[] = [];
    const onlyTeamA: Authenticator = {
      authenticate: () => Promise.resolve({ username: 'alice', groups: [], tokenHash: 'h' }),
      authorize(caller, verb, namespace) {
        decisions.push(`${verb} ${namespace}`);
        if (namespace === 'team-a') return Promise.resolve();
        return Promise.reject(new ApiError('Forbidden', `${caller.username} may not ${verb} here`));
      },
      listableNamespaces: (_caller, namespaces) =>
        Promise.resolve(namespaces.filter((ns) => ns === 'team-a')),
    };
    const app = await buildApp({ backend, auth: onlyTeamA, metrics: createApiMetrics(false) });
    try {
      const forbidden = await app.inject({
        method: 'POST',
        url: '/api/v1/namespaces/team-b/sessions',
        payload: commandSession('x'),
      });
      assert.equal(forbidden.statusCode, 403);
      assert.equal(forbidden.json<{ code: string }>().code, 'Forbidden');
      assert.equal(backend.sessions.size, 0);
      await app.inject({
        method: 'POST',
        url: '/api/v1/namespaces/team-a/sessions',
        payload: commandSession('x'),
      });
      await app.inject({ method: 'POST', url: '/api/v1/namespaces/team-a/sessions/x/stop' });
      await app.inject({ url: '/api/v1/namespaces/team-a/sessions/x/logs' });
      assert.deepEqual(decisions, ['create team-b', 'create team-a', 'update team-a', 'get team-a']);
      const namespaces = await app.inject({ url: '/api/v1/user/namespaces' });
      assert.deepEqual(namespaces.json(), { namespaces: ['team-a'] });
    } finally {
      await app.close();
    }
  });
});

describe('a local API listening on loopback', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildApp({
      backend: fakeSessionBackend(),
      auth: localAuthenticator(undefined),
      metrics: createApiMetrics(false),
      loopbackOnly: true,
    });
  });
  after(() => app.close());

  it('answers a request addressed to 127.0.0.1, localhost or [::1], on any port', async () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080']) {
      const response = await app.inject({ method: 'GET', url: sessions, headers: { host } });
      assert.equal(response.statusCode, 200, `${host}: ${response.body}`);
    }
  });

  it('refuses a web page that reaches it through a rebound DNS name: 403, and the backend is never asked', async () => {
    for (const host of [
      'attacker.example',
      'attacker.example:8080',
      '127.0.0.1.attacker.example',
      'localhost.attacker.example:8080',
    ]) {
      for (const [method, url] of [
        ['GET', sessions],
        ['POST', sessions],
        ['GET', '/healthz'],
        ['GET', '/openapi.json'],
      ] as const) {
        const response = await app.inject({
          method,
          url,
          headers: { host },
          ...(method === 'POST' ? { payload: commandSession('planted') } : {}),
        });
        assert.equal(response.statusCode, 403, `${method} ${url} with Host ${host}`);
        const body = response.json<{ code: string; message: string; details: unknown }>();
        assert.equal(body.code, 'Forbidden');
        assert.match(body.message, /127\.0\.0\.1, localhost or \[::1\]/);
      }
    }
    const listed = await app.inject({ method: 'GET', url: sessions, headers: { host: 'localhost' } });
    assert.deepEqual(listed.json<{ items: unknown[] }>().items, [], 'nothing was created');
  });

  it('reads a Host header the way browsers and clients send it', () => {
    assert.equal(isLoopbackHost('127.0.0.1'), true);
    assert.equal(isLoopbackHost('[::1]'), true);
    assert.equal(isLoopbackHost('[::1]:9'), true);
    assert.equal(isLoopbackHost(undefined), false);
    assert.equal(isLoopbackHost(''), false);
    assert.equal(isLoopbackHost('[::1].attacker.example'), false);
    assert.equal(isLoopbackHost('0.0.0.0'), false);
  });
});
