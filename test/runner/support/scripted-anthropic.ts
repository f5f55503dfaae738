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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

/** A running scripted API. */
export interface ScriptedAnthropic {
  /** The base URL for ANTHROPIC_BASE_URL. */
  url: string;
  /** The conversation requests answered with a turn, in order. */
  turns: SeenRequest[];
  /** Requests that are not part of the script, answered 500. */
  unexpected: SeenRequest[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparsed: text };
  }
}

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
export async function startScriptedAnthropic(script: ScriptedTurn[]): Promise<ScriptedAnthropic> {
  const turns: SeenRequest[] = [];
  const unexpected: SeenRequest[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const seen: SeenRequest = {
        method: request.method ?? '',
        path: new URL(request.url ?? '/', 'http://localhost').pathname,
        headers: request.headers,
        body,
      };
      const conversation =
        seen.method === 'POST' &&
        seen.path === '/v1/messages' &&
        body?.stream === true &&
        Array.isArray(body.tools) &&
        body.tools.length > 0;
      const turn = conversation ? script[turns.length] : undefined;
      if (turn === undefined) {
        unexpected.push(seen);
        response.writeHead(500, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            type: 'error',
            error: { type: 'api_error', message: `scripted API: unexpected ${seen.method} ${seen.path}` },
          }),
        );
        return;
      }
      turns.push(seen);
      if ('error' in turn) {
        response
          .writeHead(turn.error.status, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ type: 'error', error: { type: turn.error.type, message: turn.error.message } }),
          );
        return;
      }
      streamTurn(response, typeof body?.model === 'string' ? body.model : 'claude-scripted', turn);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    turns,
    unexpected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
