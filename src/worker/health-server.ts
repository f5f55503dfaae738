/**
 * The worker's probe and metrics endpoints. The worker has no API of its own, so without them
 * Kubernetes could only tell that the process exists and Prometheus could not scrape it:
 * `/healthz` answers while the process runs; `/readyz` answers 200 only while the Temporal worker
 * polls its task queue (503 before it starts and once it drains); `/metrics` serves the worker's
 * Prometheus registry. Plain node:http: three fixed routes need no framework.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Serves the probes (and, given a registry, `/metrics`) on `port` (all interfaces: the kubelet calls the pod's IP). */
export async function startHealthServer(
  port: number,
  polling: () => boolean,
  metrics?: Registry,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics) {
      metrics.metrics().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: unknown) =>
          response
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`metrics failed: ${(error as Error).message}\n`),
      );
      return;
    }
    const status = path === '/healthz' ? 200 : path === '/readyz' ? (polling() ? 200 : 503) : 404;
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok\n' : `${status}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
