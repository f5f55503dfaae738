/**
 * The CLI in a conversation: when a turn counts as over and as gone well, how `shepherd get` shows
 * turns and a waiting question, `--keep-open` in the create body, and `shepherd run --interactive`'s
 * loop against the real API app on a port (a SessionBackend double plays the session): each turn's
 * log is streamed, each line read is sent as the next prompt once the session is Idle, a refused
 * prompt is said and the loop goes on, and end of input leaves the session open.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import type { ApiSession } from '../../src/api/session-backend.js';
import { ApiClient } from '../../src/cli/api-client.js';
import { promptLoop, turnSettled, turnWentWell } from '../../src/cli/conversation.js';
import { sessionSummary } from '../../src/cli/output.js';
import { buildCreateBody } from '../../src/cli/session-request.js';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import { fakeSessionBackend, type FakeSessionBackend } from './support/fake-session-backend.js';

function session(status: AgentSessionStatus): ApiSession {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name: 'talk', namespace: 'default' },
    spec: { agent: 'command' },
    status,
  };
}

describe('a turn, as the CLI judges it', () => {
  it('is over when the session finished, or waits after the turn awaited', () => {
    assert.equal(turnSettled(session({ phase: 'Running' })), false);
    assert.equal(turnSettled(session({ phase: 'Failed' }), 3), true);
    const idleAfter1 = session({
      phase: 'Idle',
      turns: [{ number: 1, source: 'spec', result: 'Succeeded' }],
    });
    assert.equal(turnSettled(idleAfter1), true);
    assert.equal(turnSettled(idleAfter1, 2), false, 'the prompt of turn 2 has not started yet');
    assert.equal(
      turnSettled(session({ phase: 'WaitingForInput', turns: [{ number: 2, source: 'api' }] }), 2),
      true,
    );
  });

  it('went well when it Succeeded, its last turn succeeded and it waits, or the agent asks', () => {
    assert.equal(turnWentWell(session({ phase: 'Succeeded' })), true);
    assert.equal(turnWentWell(session({ phase: 'WaitingForInput' })), true);
    assert.equal(
      turnWentWell(session({ phase: 'Idle', turns: [{ number: 1, source: 'spec', result: 'Succeeded' }] })),
      true,
    );
    assert.equal(turnWentWell(session({ phase: 'Failed' })), false);
  });
});

describe('shepherd get of a conversation', () => {
  it('shows every turn with its source, author, result and commit, and the waiting question', () => {
    const text = sessionSummary(
      session({
        phase: 'WaitingForInput',
        turns: [
          {
            number: 1,
            source: 'spec',
            result: 'Succeeded',
            commit: '0123456789abcdef0123',
            summary: 'fixed it\nmore',
          },
          { number: 2, source: 'cli', author: 'alice', result: 'Question' },
        ],
        question: { text: 'Which database?\nstaging or prod', turn: 2, askedTime: new Date().toISOString() },
      }),
    );
    assert.match(
      text,
      /Question: +\(turn 2, asked \d+s ago; answer with shepherd answer\)\n {2}Which database\?\n {2}staging or prod/,
    );
    assert.match(text, /TURN +SOURCE +AUTHOR +RESULT +COMMIT +SUMMARY/);
    assert.match(text, /1 +spec +- +Succeeded +0123456789ab +fixed it\n/);
    assert.match(text, /2 +cli +alice +Question +- +-/);
  });
});

describe('shepherd run --keep-open', () => {
  it('asks for a session that stays open after a turn, keeping the file’s conversation settings', () => {
    const body = buildCreateBody(
      { keepOpen: true, agent: 'claude', prompt: 'fix it' },
      { spec: { conversation: { inactivityTimeout: '2h' } } },
    );
    assert.deepEqual(body.spec.conversation, { inactivityTimeout: '2h', stopOnTurnFinished: false });
  });
});

describe('shepherd run --interactive', () => {
  let backend: FakeSessionBackend;
  let server: RunningServer;
  let stopTurns: () => void;

  before(async () => {
    backend = fakeSessionBackend();
    backend.logText = 'working on it\n';
    const app = await buildApp({
      backend,
      auth: localAuthenticator(undefined),
      metrics: createApiMetrics(false),
    });
    server = await startServer(app, { host: '127.0.0.1', port: 0 });
    // The session's part: a running turn ends, successfully, shortly after it started.
    const timer = setInterval(() => {
      for (const s of backend.sessions.values()) {
        if (s.status.phase !== 'Running') continue;
        const turns = s.status.turns ?? [];
        s.status = {
          ...s.status,
          phase: 'Idle',
          turns: turns.map((turn, i) => (i === turns.length - 1 ? { ...turn, result: 'Succeeded' } : turn)),
        };
      }
    }, 300);
    stopTurns = () => clearInterval(timer);
  });
  after(async () => {
    stopTurns();
    await server.close();
  });

  it('streams each turn, sends each line as the next prompt, says a refusal, and leaves the session open at end of input', async () => {
    backend.sessions.set(
      'default/talk',
      session({ phase: 'Running', attempt: 1, turns: [{ number: 1, source: 'spec' }] }),
    );
    const input = new PassThrough();
    const log = new PassThrough();
    const notes = new PassThrough();
    let logText = '';
    let notesText = '';
    log.on('data', (chunk: Buffer) => (logText += chunk.toString()));
    notes.on('data', (chunk: Buffer) => {
      notesText += chunk.toString();
      // The person answers each prompt sign: a prompt, then one the session refuses, then no more.
      if (notesText.endsWith('prompt> ')) {
        const prompts = notesText.split('prompt> ').length - 1;
        if (prompts === 1) input.write('also fix the other test\n');
        else if (prompts === 2) {
          backend.failNextPrompt = true;
          input.write('and this\n');
        } else input.end();
      }
    });
    const lines = createInterface({ input, terminal: false });
    const last = await promptLoop(new ApiClient(server.url), 'default', 'talk', { input: lines, log, notes });
    lines.close();

    assert.equal(last.status.phase, 'Idle');
    assert.deepEqual(
      backend.prompts.map((p) => [p.input.prompt, p.input.source, p.kind]),
      [
        ['also fix the other test', 'cli', 'prompt'],
        ['and this', 'cli', 'prompt'],
      ],
    );
    assert.deepEqual(
      last.status.turns?.map((turn) => [turn.number, turn.source, turn.result]),
      [
        [1, 'spec', 'Succeeded'],
        [2, 'cli', 'Succeeded'],
      ],
    );
    assert.match(logText, /working on it/);
    assert.match(notesText, /turn 2\n/);
    assert.match(notesText, /refused: session talk is running a turn/);
    assert.match(notesText, /session talk stays Idle: continue with shepherd send talk/);
  });
});
