/**
 * The HTTP plumbing the scripted model APIs share (scripted-anthropic.ts, scripted-openai.ts): a
 * server on loopback that reads and records every request, answers each streaming conversation
 * request that carries the agent's tools with the next scripted turn, and answers anything else 500,
 * recording it in `unexpected` so a test shows what the CLI asked for. Each API module gives only
 * what is its own: the conversation path, its error envelope and how a turn is streamed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

/** A running scripted API. */
export interface ScriptedModelServer {
  /** The server's base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** The conversation requests answered with a turn, in order. */
  turns: SeenRequest[];
  /** Requests that are not part of the script, answered 500. */
  unexpected: SeenRequest[];
  close(): Promise<void>;
}

/** What one model API makes of the shared server. */
export interface ModelApi<Turn> {
  /** The path of its conversation requests, e.g. `/v1/messages`. */
  conversationPath: string;
  /** The JSON body of the 500 an unexpected request gets, carrying `message`. */
  unexpectedError(message: string): Record<string, unknown>;
  /** Answers a conversation request with its turn. */
  answer(response: ServerResponse, body: Record<string, unknown>, turn: Turn): void;
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

/**
 * Starts the API; it answers the agent's conversation requests with `script`, one turn each.
 * A conversation request after the last turn is unexpected.
 */
export async function startScriptedModelServer<Turn>(
  script: Turn[],
  api: ModelApi<Turn>,
): Promise<ScriptedModelServer> {
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
        seen.path === api.conversationPath &&
        body?.stream === true &&
        Array.isArray(body.tools) &&
        body.tools.length > 0;
      const turn = conversation ? script[turns.length] : undefined;
      if (body === undefined || turn === undefined) {
        unexpected.push(seen);
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify(api.unexpectedError(`scripted API: unexpected ${seen.method} ${seen.path}`)));
        return;
      }
      turns.push(seen);
      api.answer(response, body, turn);
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
