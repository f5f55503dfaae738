/**
 * A scripted OpenAI-compatible chat completions API on loopback, for driving the real OpenCode CLI
 * in tests (an opencode config names it as a custom provider's baseURL). Each streaming
 * `POST /v1/chat/completions` that carries the agent's tools is answered with the next scripted
 * turn as the API streams it: `chat.completion.chunk` events with content or `tool_calls` deltas,
 * a chunk with the finish reason, a usage chunk with empty `choices`, then `data: [DONE]`. Anything
 * else is answered 500 and recorded in `unexpected`, so a test shows what the CLI asked for.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SeenRequest } from './scripted-anthropic.js';

/** One part of a scripted assistant turn. */
export type ScriptedPart =
  { type: 'text'; text: string } | { type: 'tool_call'; name: string; arguments: Record<string, unknown> };

/** Token counts as the API reports them in `usage`. */
export interface ScriptedChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
}

export interface ScriptedChatTurn {
  parts: ScriptedPart[];
  usage: ScriptedChatUsage;
}

export interface ScriptedOpenAI {
  /** The base URL for the provider's `options.baseURL` (ends in /v1). */
  url: string;
  turns: SeenRequest[];
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

function streamTurn(response: ServerResponse, model: string, turn: ScriptedChatTurn): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    response.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`,
    );
  chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  let toolIndex = 0;
  for (const part of turn.parts) {
    if (part.type === 'text') {
      chunk([{ index: 0, delta: { content: part.text }, finish_reason: null }]);
    } else {
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: toolIndex++,
                id: `call_${randomUUID().replace(/-/g, '')}`,
                type: 'function',
                function: { name: part.name, arguments: JSON.stringify(part.arguments) },
              },
            ],
          },
          finish_reason: null,
        },
      ]);
    }
  }
  chunk([{ index: 0, delta: {}, finish_reason: toolIndex > 0 ? 'tool_calls' : 'stop' }]);
  const { prompt_tokens: prompt, completion_tokens: completion, cached_tokens: cached } = turn.usage;
  chunk([], {
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      ...(cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } }),
    },
  });
  response.end('data: [DONE]\n\n');
}

/** Starts the API; it answers the agent's conversation requests with `script`, one turn each. */
export async function startScriptedOpenAI(script: ScriptedChatTurn[]): Promise<ScriptedOpenAI> {
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
        seen.path === '/v1/chat/completions' &&
        body?.stream === true &&
        Array.isArray(body.tools) &&
        body.tools.length > 0;
      const turn = conversation ? script[turns.length] : undefined;
      if (turn === undefined) {
        unexpected.push(seen);
        response.writeHead(500, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            error: { type: 'server_error', message: `scripted API: unexpected ${seen.method} ${seen.path}` },
          }),
        );
        return;
      }
      turns.push(seen);
      streamTurn(response, typeof body?.model === 'string' ? body.model : 'scripted', turn);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    turns,
    unexpected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
