/**
 * An attacker's server on loopback for the runner's tampering tests: it records every request it
 * gets (as a server or as an HTTP proxy: method, target, headers, body) and answers each with a
 * Basic-auth challenge, so a git that was talked into contacting it would offer whatever
 * credential it has.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface CapturedRequest {
  method: string;
  /** The request target: a path, or an absolute URL when it was used as a proxy. */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A running capture server. */
export interface CaptureServer {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly requests: readonly CapturedRequest[];
  /** Forgets the requests recorded so far. */
  clear(): void;
  close(): Promise<void>;
}

/** Starts a capture server on a free loopback port. */
export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        target: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('latin1'),
      });
      response
        .writeHead(401, {
          'WWW-Authenticate': 'Basic realm="git"',
          'Proxy-Authenticate': 'Basic realm="git"',
        })
        .end();
    });
  });
  // An https remote reached through it as a proxy: the tunnel request is recorded and refused.
  server.on('connect', (request, socket) => {
    requests.push({ method: 'CONNECT', target: request.url ?? '', headers: request.headers, body: '' });
    socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="git"\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    clear: () => requests.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
