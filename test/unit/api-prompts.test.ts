/**
 * Prompts and answers through the API routes, with a SessionBackend test double playing the
 * workflow's part (an Idle session takes a prompt, a waiting one an answer, anything else refuses):
 * a prompt starts the next turn and says which, a refusal is a 409 with the session's reason, a
 * malformed prompt is a 400 naming the field, the author is who the token belongs to and never
 * what the body claims, and both routes are in the OpenAPI document. The real backends are
 * tested in test/integration and test/local.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { recordingAuthenticator } from './support/recording-authenticator.js';
import { ApiError } from '../../src/api/errors.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import type { ApiSession, PromptResult } from '../../src/api/session-backend.js';
import type { Phase } from '../../src/resources/types.js';
import { MAX_PROMPT_CHARS } from '../../src/workflows/session-contract.js';
import { fakeSessionBackend, type FakeSessionBackend } from './support/fake-session-backend.js';

const TOKEN = 'local-secret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const sessions = '/api/v1/namespaces/team-a/sessions';

interface ErrorBody {
  code: string;
  message: string;
  details: { field?: string };
}

/** Puts a session in `phase` into the double, as if its workflow had got there. */
function seed(backend: FakeSessionBackend, name: string, phase: Phase): void {
  const session: ApiSession = {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name, namespace: 'team-a' },
    spec: { agent: 'command', command: ['make'] },
    status: { phase, turns: [{ number: 1, source: 'spec', result: 'Succeeded' }] },
  };
  backend.sessions.set(`team-a/${name}`, session);
}

describe('prompts through the API', () => {
  let app: FastifyInstance;
  let backend: FakeSessionBackend;

  before(async () => {
    backend = fakeSessionBackend();
    app = await buildApp({ backend, auth: localAuthenticator(TOKEN), metrics: createApiMetrics(false) });
  });
  after(() => app.close());
  beforeEach(() => {
    backend.sessions.clear();
    backend.prompts.length = 0;
    backend.failNext = undefined;
  });

  it('an Idle session takes a prompt as its next turn: 202 with the turn and the session', async () => {
    seed(backend, 'talk', 'Idle');
    const response = await app.inject({
      method: 'POST',
      url: `${sessions}/talk/prompts`,
      headers: auth,
      payload: { prompt: 'also fix the other test' },
    });
    assert.equal(response.statusCode, 202, response.body);
    const body = response.json<PromptResult>();
    assert.equal(body.turn, 2);
    assert.equal(body.session.metadata.name, 'talk');
    assert.equal(body.session.status.phase, 'Running');
    assert.deepEqual(backend.prompts, [
      {
        namespace: 'team-a',
        name: 'talk',
        input: { prompt: 'also fix the other test', source: 'api' },
        kind: 'prompt',
      },
    ]);
  });

  it('records the CLI as the source when the CLI says so', async () => {
    seed(backend, 'talk', 'Idle');
    const response = await app.inject({
      method: 'POST',
      url: `${sessions}/talk/prompts`,
      headers: auth,
      payload: { prompt: 'go on', source: 'cli' },
    });
    assert.equal(response.statusCode, 202, response.body);
    assert.equal(backend.prompts[0]?.input.source, 'cli');
  });

  it('an answer resumes a session waiting for input; to an Idle one it is refused', async () => {
    seed(backend, 'asks', 'WaitingForInput');
    const answered = await app.inject({
      method: 'POST',
      url: `${sessions}/asks/answer`,
      headers: auth,
      payload: { prompt: 'use the staging database' },
    });
    assert.equal(answered.statusCode, 202, answered.body);
    assert.equal(answered.json<PromptResult>().turn, 2);
    assert.equal(backend.prompts[0]?.kind, 'answer');

    seed(backend, 'idle', 'Idle');
    const refused = await app.inject({
      method: 'POST',
      url: `${sessions}/idle/answer`,
      headers: auth,
      payload: { prompt: 'yes' },
    });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json<ErrorBody>().code, 'PromptRefused');
  });

  it('a session that cannot take the prompt refuses it: 409 PromptRefused with its reason', async () => {
    seed(backend, 'busy', 'Running');
    const response = await app.inject({
      method: 'POST',
      url: `${sessions}/busy/prompts`,
      headers: auth,
      payload: { prompt: 'and this' },
    });
    assert.equal(response.statusCode, 409);
    const error = response.json<ErrorBody>();
    assert.equal(error.code, 'PromptRefused');
    assert.match(error.message, /busy cannot take a prompt now \(Running\)/);
  });

  it('a prompt to a session that does not exist is 404 NotFound', async () => {
    for (const route of ['prompts', 'answer']) {
      const response = await app.inject({
        method: 'POST',
        url: `${sessions}/nobody/${route}`,
        headers: auth,
        payload: { prompt: 'hello' },
      });
      assert.equal(response.statusCode, 404, route);
      assert.equal(response.json<ErrorBody>().code, 'NotFound');
    }
  });

  it('a workflow that does not answer in time is 503 SessionUnresponsive, its message kept', async () => {
    seed(backend, 'slow', 'Idle');
    backend.failNext = new ApiError('SessionUnresponsive', 'session slow did not take or refuse the prompt');
    const response = await app.inject({
      method: 'POST',
      url: `${sessions}/slow/prompts`,
      headers: auth,
      payload: { prompt: 'hello' },
    });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json<ErrorBody>(), {
      code: 'SessionUnresponsive',
      message: 'session slow did not take or refuse the prompt',
      details: {},
    });
  });

  it('refuses a malformed prompt with 400 InvalidRequest naming the field, before the session hears of it', async () => {
    seed(backend, 'talk', 'Idle');
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'prompt', /prompt is required/],
      [{ prompt: '' }, 'prompt', /prompt is empty/],
      [{ prompt: ' \n\t ' }, 'prompt', /prompt is empty/],
      [{ prompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) }, 'prompt', new RegExp(`longer than ${MAX_PROMPT_CHARS}`)],
      [{ prompt: 42 }, 'prompt', /must be string/],
      [{ prompt: 'hi', source: 'slack' }, 'source', /must be one of api, cli/],
      [{ prompt: 'hi', author: 'the-boss' }, 'author', /who the bearer token belongs to/],
    ];
    for (const [payload, field, message] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: `${sessions}/talk/prompts`,
        headers: auth,
        payload: payload as object,
      });
      assert.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 80));
      const error = response.json<ErrorBody>();
      assert.equal(error.code, 'InvalidRequest', error.message);
      assert.equal(error.details.field, field, error.message);
      assert.match(error.message, message);
    }
    assert.deepEqual(backend.prompts, [], 'the session was sent nothing');
  });

  it('publishes both routes in an OpenAPI document that validates, with the 202 and 409 answers', async () => {
    const document = (await app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    await SwaggerParser.validate(structuredClone(document) as never);
    for (const path of [
      '/api/v1/namespaces/{ns}/sessions/{name}/prompts',
      '/api/v1/namespaces/{ns}/sessions/{name}/answer',
    ]) {
      const post = document.paths[path]?.post;
      assert.ok(post, `${path} is missing`);
      for (const status of ['202', '400', '404', '409', '503']) {
        assert.ok(post.responses[status], `${path} documents ${status}`);
      }
    }
  });
});

describe('the author of a prompt on Kubernetes', () => {
  it('is the user the token belongs to, and a prompt needs update on agentsessions', async () => {
    const backend = fakeSessionBackend('kubernetes');
    const decisions: string[] = [];
    const app = await buildApp({
      backend,
      auth: recordingAuthenticator(decisions),
      metrics: createApiMetrics(false),
    });
    try {
      seed(backend, 'talk', 'Idle');
      const response = await app.inject({
        method: 'POST',
        url: `${sessions}/talk/prompts`,
        payload: { prompt: 'go on' },
      });
      assert.equal(response.statusCode, 202, response.body);
      assert.deepEqual(backend.prompts[0]?.input, { prompt: 'go on', source: 'api', author: 'alice' });
      assert.deepEqual(decisions, ['update team-a']);
    } finally {
      await app.close();
    }
  });
});
