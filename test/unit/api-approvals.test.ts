/**
 * Approvals through the API route and the CLI, with a SessionBackend test double judging them by
 * the workflow's own rule (`approvalRefusal`): a session waiting at a budget cap resumes with a
 * higher one and the answer says which cap was raised, any other session or a cap not above the
 * spending is a 409 in the validator's words, a malformed body is a 400 naming the field, the
 * author is who the token belongs to, and the route is in the OpenAPI document. On Kubernetes a
 * recorded phase other than WaitingForApproval refuses at once (`approvalPhaseRefusal`). The real
 * backends are tested in test/integration and test/local.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { recordingAuthenticator } from './support/recording-authenticator.js';
import { ApiError } from '../../src/api/errors.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import type { ApiSession, ApprovalResult } from '../../src/api/session-backend.js';
import type { Phase } from '../../src/resources/types.js';
import { approvalPhaseRefusal } from '../../src/session-client/session-commands.js';
import { approvalRefusal, type CapReached } from '../../src/workflows/session-limits.js';
import { fakeSessionBackend, type FakeSessionBackend } from './support/fake-session-backend.js';

const TOKEN = 'local-secret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const sessions = '/api/v1/namespaces/team-a/sessions';
const CLI = fileURLToPath(new URL('../../bin/shepherd.js', import.meta.url));

interface ErrorBody {
  code: string;
  message: string;
  details: { field?: string };
}

/** Puts a session in `phase` into the double; WaitingForApproval at `cap`. */
function seed(backend: FakeSessionBackend, name: string, phase: Phase, cap?: CapReached): void {
  const session: ApiSession = {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name, namespace: 'team-a' },
    spec: { agent: 'command', command: ['make'] },
    status: { phase },
  };
  backend.sessions.set(`team-a/${name}`, session);
  if (cap) backend.capsReached.set(`team-a/${name}`, cap);
}

describe('approvals through the API', () => {
  let app: FastifyInstance;
  let backend: FakeSessionBackend;

  const approve = (name: string, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: `${sessions}/${name}/approve`,
      headers: auth,
      payload: payload as object,
    });

  before(async () => {
    backend = fakeSessionBackend();
    app = await buildApp({ backend, auth: localAuthenticator(TOKEN), metrics: createApiMetrics(false) });
  });
  after(() => app.close());
  beforeEach(() => {
    backend.sessions.clear();
    backend.capsReached.clear();
    backend.approvals.length = 0;
    backend.failNext = undefined;
  });

  it('a session waiting at its cap resumes with a higher one: 202 with the cap raised and the session', async () => {
    seed(backend, 'spender', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
    const response = await approve('spender', { capUsd: 5 });
    assert.equal(response.statusCode, 202, response.body);
    const body = response.json<ApprovalResult>();
    assert.equal(body.cap, 'session');
    assert.equal(body.capUsd, 5);
    assert.equal(body.session.metadata.name, 'spender');
    assert.equal(body.session.status.phase, 'Running');
    // A local API serves one user, whom it knows by no name: no author.
    assert.deepEqual(backend.approvals, [{ namespace: 'team-a', name: 'spender', input: { capUsd: 5 } }]);
  });

  it("says when it raised the namespace's monthly cap", async () => {
    seed(backend, 'late', 'WaitingForApproval', { cap: 'monthly', spentUsd: 100, capUsd: 100 });
    const response = await approve('late', { capUsd: 150.5 });
    assert.equal(response.statusCode, 202, response.body);
    assert.deepEqual(
      { cap: response.json<ApprovalResult>().cap, capUsd: response.json<ApprovalResult>().capUsd },
      { cap: 'monthly', capUsd: 150.5 },
    );
  });

  it('a session that is not WaitingForApproval refuses: 409 ApprovalRefused in the validator words', async () => {
    for (const phase of ['Running', 'Idle', 'Succeeded', 'Queued'] as const) {
      seed(backend, 'other', phase);
      const response = await approve('other', { capUsd: 5 });
      assert.equal(response.statusCode, 409, `${phase}: ${response.body}`);
      assert.deepEqual(response.json<ErrorBody>(), {
        code: 'ApprovalRefused',
        message: approvalRefusal('other', phase, undefined, { capUsd: 5 }),
        details: {},
      });
      assert.match(response.json<ErrorBody>().message, new RegExp(`is ${phase}, not WaitingForApproval`));
    }
  });

  it('a cap not above what was spent is refused, saying how much was', async () => {
    seed(backend, 'spender', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
    const response = await approve('spender', { capUsd: 2 });
    assert.equal(response.statusCode, 409, response.body);
    const error = response.json<ErrorBody>();
    assert.equal(error.code, 'ApprovalRefused');
    assert.match(error.message, /capUsd 2 is not above the \$2\.00 already spent by the session/);
    assert.equal(backend.capsReached.has('team-a/spender'), true, 'the session still waits');
  });

  it('an approval of a session that does not exist is 404 NotFound', async () => {
    const response = await approve('nobody', { capUsd: 5 });
    assert.equal(response.statusCode, 404, response.body);
    assert.equal(response.json<ErrorBody>().code, 'NotFound');
  });

  it('a workflow that does not answer in time is 503 SessionUnresponsive, its message kept', async () => {
    seed(backend, 'slow', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
    backend.failNext = new ApiError(
      'SessionUnresponsive',
      'session slow did not take or refuse the approval',
    );
    const response = await approve('slow', { capUsd: 5 });
    assert.equal(response.statusCode, 503, response.body);
    assert.equal(response.json<ErrorBody>().message, 'session slow did not take or refuse the approval');
  });

  it('refuses a malformed body with 400 InvalidRequest naming the field, before the session hears of it', async () => {
    seed(backend, 'spender', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'capUsd', /capUsd must be a number of US dollars/],
      [{ capUsd: '5' }, 'capUsd', /capUsd must be a number of US dollars/],
      [{ capUsd: null }, 'capUsd', /capUsd must be a number of US dollars/],
      [{ capUsd: -1 }, 'capUsd', /capUsd must be above 0/],
      [{ capUsd: 0 }, 'capUsd', /capUsd must be above 0/],
      [{ capUsd: 5, author: 'the-boss' }, 'author', /who the bearer token belongs to/],
      [{ capUsd: 5, cap: 'monthly' }, 'cap', /cap is not a field of body/],
    ];
    for (const [payload, field, message] of cases) {
      const response = await approve('spender', payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      const error = response.json<ErrorBody>();
      assert.equal(error.code, 'InvalidRequest', error.message);
      assert.equal(error.details.field, field, error.message);
      assert.match(error.message, message);
    }
    assert.deepEqual(backend.approvals, [], 'the session was sent nothing');
  });

  it('publishes the route in an OpenAPI document that validates, with its answers', async () => {
    const document = (await app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    await SwaggerParser.validate(structuredClone(document) as never);
    const post = document.paths['/api/v1/namespaces/{ns}/sessions/{name}/approve']?.post;
    assert.ok(post, 'the approve route is missing');
    for (const status of ['202', '400', '401', '403', '404', '409', '413', '415', '429', '503']) {
      assert.ok(post.responses[status], `approve documents ${status}`);
    }
  });
});

describe('the author of an approval on Kubernetes', () => {
  it('is the user the token belongs to, and an approval needs update on agentsessions', async () => {
    const backend = fakeSessionBackend('kubernetes');
    const decisions: string[] = [];
    const app = await buildApp({
      backend,
      auth: recordingAuthenticator(decisions),
      metrics: createApiMetrics(false),
    });
    try {
      seed(backend, 'spender', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
      const response = await app.inject({
        method: 'POST',
        url: `${sessions}/spender/approve`,
        payload: { capUsd: 5 },
      });
      assert.equal(response.statusCode, 202, response.body);
      assert.deepEqual(backend.approvals[0]?.input, { capUsd: 5, author: 'alice' });
      assert.deepEqual(decisions, ['update team-a']);
    } finally {
      await app.close();
    }
  });
});

describe('approvalPhaseRefusal', () => {
  it('refuses every recorded phase but WaitingForApproval in the validator words', () => {
    const input = { capUsd: 5 };
    assert.equal(approvalPhaseRefusal('s', { phase: 'WaitingForApproval' }, input), undefined);
    for (const phase of ['Running', 'Idle', 'Stopped'] as const) {
      assert.equal(
        approvalPhaseRefusal('s', { phase }, input),
        approvalRefusal('s', phase, undefined, input),
      );
    }
    assert.match(approvalPhaseRefusal('s', {}, input) ?? '', /is Pending, not WaitingForApproval/);
  });
});

describe('shepherd approve', () => {
  let backend: FakeSessionBackend;
  let server: RunningServer;

  before(async () => {
    backend = fakeSessionBackend();
    const app = await buildApp({
      backend,
      auth: localAuthenticator(undefined),
      metrics: createApiMetrics(false),
    });
    server = await startServer(app, { host: '127.0.0.1', port: 0 });
  });
  after(() => server.close());

  const cli = (args: string[]) =>
    execa(process.execPath, [CLI, ...args], {
      reject: false,
      env: { SHEPHERD_API_URL: server.url, SHEPHERD_NAMESPACE: 'team-a' },
    });

  it('prints which cap was raised and to what; a refusal exits 1 with the API message', async () => {
    seed(backend, 'spender', 'WaitingForApproval', { cap: 'session', spentUsd: 2, capUsd: 2 });
    const approved = await cli(['approve', 'spender', '--cap-usd', '7.5']);
    assert.equal(approved.exitCode, 0, approved.stderr);
    assert.equal(approved.stdout.trim(), 'session spender: session cap raised to $7.50');
    assert.deepEqual(backend.approvals.at(-1)?.input, { capUsd: 7.5 });

    seed(backend, 'late', 'WaitingForApproval', { cap: 'monthly', spentUsd: 100, capUsd: 100 });
    const monthly = await cli(['approve', 'late', '--cap-usd', '120', '-o', 'json']);
    assert.equal(monthly.exitCode, 0, monthly.stderr);
    assert.deepEqual((({ cap, capUsd }) => ({ cap, capUsd }))(JSON.parse(monthly.stdout) as ApprovalResult), {
      cap: 'monthly',
      capUsd: 120,
    });

    const refused = await cli(['approve', 'spender', '--cap-usd', '10']);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /is Running, not WaitingForApproval.*\(ApprovalRefused\)/);
  });

  it('refuses a cap that is not an amount above 0 without asking the API', async () => {
    const before = backend.approvals.length;
    for (const cap of ['0', '-3', 'five', '']) {
      const result = await cli(['approve', 'spender', '--cap-usd', cap]);
      assert.notEqual(result.exitCode, 0, cap);
      assert.match(result.stderr, /US dollars above 0/, cap);
    }
    assert.equal(backend.approvals.length, before);
  });
});
