/**
 * A scripted Anthropic Messages API on loopback, for driving the real Claude Code CLI in tests
 * (it is reached through ANTHROPIC_BASE_URL). Each `POST /v1/messages` with `stream: true` that
 * carries the agent's tools is answered with the next scripted turn as the API streams it
 * (server-sent events message_start, content_block_start/delta/stop, message_delta with usage,
 * message_stop), so the CLI really runs the tools a turn asks for, or with a scripted API error.
 * Anything else it is sent is
 * answered 500 and recorded in `unexpected`, so a test shows what the CLI asked for.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type ScriptedModelServer, startScriptedModelServer } from './scripted-model-server.js';

/** One content block of a scripted assistant turn. */
export type ScriptedBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/** Token counts as the API reports them in `usage`. */
export interface ScriptedUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** One assistant turn: its blocks and the usage the API reports for it. */
export interface ScriptedAnswer {
  content: ScriptedBlock[];
  usage: ScriptedUsage;
}

/** An error the API answers a turn with, as `{type: 'error', error: {type, message}}`. */
export interface ScriptedError {
  status: number;
  /** The API's error type, e.g. `invalid_request_error`. */
  type: string;
  message: string;
}

export type ScriptedTurn = ScriptedAnswer | { error: ScriptedError };

/** A running scripted API; its `url` is the base URL for ANTHROPIC_BASE_URL. */
export type ScriptedAnthropic = ScriptedModelServer;

function sse(response: ServerResponse, event: string, data: Record<string, unknown>): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
}

/** Streams one turn as the Messages API does. */
function streamTurn(response: ServerResponse, model: string, turn: ScriptedAnswer): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': `req_${randomUUID()}`,
  });
  const { output_tokens: outputTokens, ...inputUsage } = turn.usage;
  sse(response, 'message_start', {
    message: {
      id: `msg_${randomUUID().replace(/-/g, '')}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...inputUsage, output_tokens: 1 },
    },
  });
  turn.content.forEach((block, index) => {
    if (block.type === 'text') {
      sse(response, 'content_block_start', { index, content_block: { type: 'text', text: '' } });
      sse(response, 'content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      sse(response, 'content_block_start', {
        index,
        content_block: {
          type: 'tool_use',
          id: `toolu_${randomUUID().replace(/-/g, '')}`,
          name: block.name,
          input: {},
        },
      });
      sse(response, 'content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    sse(response, 'content_block_stop', { index });
  });
  const usesTool = turn.content.some((block) => block.type === 'tool_use');
  sse(response, 'message_delta', {
    delta: { stop_reason: usesTool ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: outputTokens },
  });
  sse(response, 'message_stop', {});
  response.end();
}

/**
 * Starts the API; it answers the agent's conversation requests with `script`, one turn each.
 * A conversation request after the last turn is unexpected.
 */
export function startScriptedAnthropic(script: ScriptedTurn[]): Promise<ScriptedAnthropic> {
  return startScriptedModelServer(script, {
    conversationPath: '/v1/messages',
    unexpectedError: (message) => ({ type: 'error', error: { type: 'api_error', message } }),
    answer: (response, body, turn) => {
      if ('error' in turn) {
        response
          .writeHead(turn.error.status, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ type: 'error', error: { type: turn.error.type, message: turn.error.message } }),
          );
        return;
      }
      streamTurn(response, typeof body.model === 'string' ? body.model : 'claude-scripted', turn);
    },
  });
}
