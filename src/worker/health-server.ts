/**
 * The worker's probe endpoints, for a Deployment's liveness and readiness probes: the worker has no
 * API of its own, so without them Kubernetes could only tell that the process exists. `/healthz`
 * answers while the process runs; `/readyz` answers 200 only while the Temporal worker polls its task
 * queue (503 before it starts and once it drains). Plain node:http: two fixed routes need no framework.
 */
import { createServer, type Server } from 'node:http';

/** Serves the probes on `port` (all interfaces: the kubelet calls the pod's IP). */
export async function startHealthServer(port: number, polling: () => boolean): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const status = path === '/healthz' ? 200 : path === '/readyz' ? (polling() ? 200 : 503) : 404;
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok\n' : `${status}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
