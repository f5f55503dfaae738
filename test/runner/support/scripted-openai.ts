/**
 * A scripted OpenAI-compatible chat completions API on loopback, for driving the real OpenCode CLI
 * in tests (an opencode config names it as a custom provider's baseURL). Each streaming
 * `POST /v1/chat/completions` that carries the agent's tools is answered with the next scripted
 * turn as the API streams it: `chat.completion.chunk` events with content or `tool_calls` deltas,
 * a chunk with the finish reason, a usage chunk with empty `choices`, then `data: [DONE]`. Anything
 * else is answered 500 and recorded in `unexpected`, so a test shows what the CLI asked for.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type ScriptedModelServer, startScriptedModelServer } from './scripted-model-server.js';

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

/** A running scripted API; its `url` is the base URL for the provider's `options.baseURL` (ends in /v1). */
export type ScriptedOpenAI = ScriptedModelServer;

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
  const server = await startScriptedModelServer(script, {
    conversationPath: '/v1/chat/completions',
    unexpectedError: (message) => ({ error: { type: 'server_error', message } }),
    answer: (response, body, turn) =>
      streamTurn(response, typeof body.model === 'string' ? body.model : 'scripted', turn),
  });
  return { ...server, url: `${server.url}/v1` };
}
