/** Telling an agent that refused to start from one that failed at its work, and the Claude env. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentExit } from '../../src/runner/agent-process.js';
import { agentRefusal, cleanMessage } from '../../src/runner/agent-refusal.js';
import { claudeExtraEnv, claudeRefusalHint, inContainer } from '../../src/runner/agents/claude-env.js';
import { OpencodeStream } from '../../src/runner/agents/opencode-stream.js';

const exit = (overrides: Partial<AgentExit>): AgentExit => ({
  exitCode: 1,
  signal: undefined,
  startError: undefined,
  stderrTail: undefined,
  ...overrides,
});

test('an exit before the session began is a refusal with the CLI words, colour codes and stdin warnings removed', () => {
  const refusal = agentRefusal(
    'claude',
    {
      exit: exit({
        stderrTail:
          'Warning: no stdin data received in 3s, proceeding without it.\n\x1b[91mError:\x1b[0m cannot be used with root/sudo privileges',
      }),
      startedSession: false,
      reportedError: undefined,
    },
    claudeRefusalHint,
  );
  assert.match(
    refusal ?? '',
    /^claude refused to start \(exit code 1 before its session began\): Error: cannot be used with root\/sudo privileges\n.*IS_SANDBOX=1/,
  );
});

test('an error event is preferred to stderr; no message at all still says so', () => {
  assert.match(
    agentRefusal('opencode', {
      exit: exit({ stderrTail: 'noise' }),
      startedSession: false,
      reportedError: 'UnknownError: boom',
    }) ?? '',
    /: UnknownError: boom$/,
  );
  assert.match(
    agentRefusal('opencode', { exit: exit({}), startedSession: false, reportedError: undefined }) ?? '',
    /printed nothing/,
  );
});

test('a started session, a success, a signal or an agent that cannot tell is not a refusal; a spawn failure is', () => {
  const base = { reportedError: undefined };
  assert.equal(agentRefusal('claude', { ...base, exit: exit({}), startedSession: true }), undefined);
  assert.equal(
    agentRefusal('claude', { ...base, exit: exit({ exitCode: 0 }), startedSession: false }),
    undefined,
  );
  assert.equal(
    agentRefusal('claude', {
      ...base,
      exit: exit({ exitCode: undefined, signal: 'SIGKILL' }),
      startedSession: false,
    }),
    undefined,
  );
  assert.equal(agentRefusal('command', { ...base, exit: exit({}), startedSession: undefined }), undefined);
  assert.match(
    agentRefusal('command', {
      ...base,
      exit: exit({ exitCode: undefined, startError: 'spawn x EACCES' }),
      startedSession: undefined,
    }) ?? '',
    /^command could not be started: spawn x EACCES$/,
  );
  assert.equal(cleanMessage('\n  \n'), undefined);
});

test('Claude Code is told it is in a sandbox only as root in a container, and an operator setting wins', () => {
  const root = { uid: 0, inContainer: true };
  assert.equal(claudeExtraEnv({}, root).IS_SANDBOX, '1');
  assert.equal(claudeExtraEnv({ IS_SANDBOX: '0' }, root).IS_SANDBOX, undefined);
  assert.equal(claudeExtraEnv({}, { uid: 0, inContainer: false }).IS_SANDBOX, undefined);
  assert.equal(claudeExtraEnv({}, { uid: 1000, inContainer: true }).IS_SANDBOX, undefined);
  assert.deepEqual(claudeExtraEnv({ DISABLE_AUTOUPDATER: '0' }, { uid: 1000, inContainer: false }), {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  });
  assert.equal(
    inContainer({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, () => false),
    true,
  );
  assert.equal(
    inContainer({}, (path) => path === '/.dockerenv'),
    true,
  );
  assert.equal(
    inContainer({}, () => false),
    false,
  );
});

test('OpenCode events: steps add up to the usage, the last text is the summary, an error event is kept', () => {
  const stream = new OpencodeStream();
  const step = (reason: string, input: number, output: number, read: number) =>
    JSON.stringify({
      type: 'step_finish',
      part: { reason, cost: 0.01, tokens: { input, output, cache: { read, write: 0 } } },
    });
  const log = [
    JSON.stringify({ type: 'step_start', part: {} }),
    JSON.stringify({ type: 'text', part: { text: 'Writing.' } }),
    JSON.stringify({
      type: 'tool_use',
      part: { tool: 'write', state: { status: 'completed', title: 'FIX.md', output: 'Wrote file' } },
    }),
    step('tool-calls', 90, 20, 10),
    JSON.stringify({ type: 'text', part: { text: 'Done.' } }),
    step('stop', 200, 30, 0),
    'plain line',
  ].flatMap((line) => stream.line(line));
  assert.deepEqual(log, [
    'Writing.',
    '→ write FIX.md',
    '← Wrote file',
    'Done.',
    'opencode: finished (stop, 2 steps, 290 input tokens, 50 output tokens)',
    'plain line',
  ]);
  assert.equal(stream.started, true);
  assert.equal(stream.summary, 'Done.');
  assert.deepEqual(stream.usage, {
    inputTokens: 290,
    outputTokens: 50,
    cacheReadTokens: 10,
    cacheWriteTokens: 0,
    costUsd: 0.02,
  });
  const failed = new OpencodeStream();
  failed.line(JSON.stringify({ type: 'error', error: { name: 'UnknownError', data: { message: 'boom' } } }));
  assert.equal(failed.started, false);
  assert.equal(failed.error, 'UnknownError: boom');
  assert.equal(failed.usage, undefined);
});
