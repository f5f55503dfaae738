/**
 * Serves a built app on a port: the only module that listens. It sets the server timeouts and
 * shuts down gracefully — stop accepting, let requests in flight finish (followed logs are cut
 * after a grace period, since they could stream for hours), then close.
 */
import type { FastifyInstance } from 'fastify';

/** Where and how to listen. */
export interface ServerOptions {
  host: string;
  port: number;
  /**
   * How long an idle keep-alive connection stays open.
   * @default 72000 (above common load balancers' 60 s, so they close first)
   */
  keepAliveTimeoutMs?: number;
  /**
   * How long a client may take to send the request headers.
   * @default 10000
   */
  headersTimeoutMs?: number;
  /**
   * How long shutdown waits for requests in flight before closing their connections.
   * @default 10000
   */
  shutdownGraceMs?: number;
}

/** A listening server. */
export interface RunningServer {
  /** The URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
}

/** Listens and returns once the port is bound. */
export async function startServer(app: FastifyInstance, options: ServerOptions): Promise<RunningServer> {
  const server = app.server;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 72_000;
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  const url = await app.listen({ host: options.host, port: options.port });
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
        timer.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
        }
      })();
      return closing;
    },
  };
}
