/** Claude Code's stream-json output, as the runner reads it for the session log and the result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaudeStream } from '../../src/runner/agents/claude-stream.js';

test('the final result event gives summary, tokens and cost; progress becomes readable lines', () => {
  const stream = new ClaudeStream();
  const log = [
    { type: 'system', subtype: 'init', model: 'claude-opus-4-1' },
    {
      type: 'assistant',
      message: {
        content: [
          { type: 'text', text: 'Running the tests.' },
          { type: 'tool_use', name: 'Bash', input: { command: 'npm test' } },
        ],
      },
    },
    {
      type: 'user',
      message: {
        content: [{ type: 'tool_result', is_error: true, content: [{ type: 'text', text: '1 failing' }] }],
      },
    },
    {
      type: 'result',
      subtype: 'success',
      num_turns: 7,
      result: 'Fixed the race in checkout.test.ts.',
      total_cost_usd: 0.12,
      usage: {
        input_tokens: 100,
        output_tokens: 20,
        cache_read_input_tokens: 3000,
        cache_creation_input_tokens: 50,
      },
    },
  ].flatMap((event) => stream.line(JSON.stringify(event)));

  assert.deepEqual(log, [
    'claude: started (model claude-opus-4-1)',
    'Running the tests.',
    '→ Bash {"command":"npm test"}',
    '✗ 1 failing',
    'claude: finished (success, 7 turns, 100 input tokens, 20 output tokens, $0.1200)',
  ]);
  assert.equal(stream.summary, 'Fixed the race in checkout.test.ts.');
  assert.equal(stream.started, true, 'the init event means the session began');
  assert.deepEqual(stream.usage, {
    inputTokens: 100,
    outputTokens: 20,
    cacheReadTokens: 3000,
    cacheWriteTokens: 50,
    costUsd: 0.12,
  });
});

test('lines that are not events pass through unchanged, so nothing the agent prints is lost', () => {
  const stream = new ClaudeStream();
  assert.deepEqual(stream.line('Error: invalid API key'), ['Error: invalid API key']);
  assert.deepEqual(stream.line('{not json'), ['{not json']);
  assert.equal(stream.usage, undefined);
  assert.equal(stream.started, false);
});
