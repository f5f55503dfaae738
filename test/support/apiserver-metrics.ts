/**
 * Reads the kube-apiserver's own Prometheus metrics (GET /metrics with a kubeconfig's
 * credentials), so a test can count what the API server holds — e.g. the watches open on a
 * resource — instead of trusting what a client says it opened.
 */
import { type RequestOptions, request } from 'node:https';
import type * as k8s from '@kubernetes/client-node';

/** The metrics text of the API server `kc` points at. */
export async function apiServerMetrics(kc: k8s.KubeConfig): Promise<string> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster');
  const url = new URL('/metrics', server);
  const options: RequestOptions = {
    hostname: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'GET',
    timeout: 10_000,
  };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(body)
          : reject(new Error(`GET /metrics: ${res.statusCode} ${body.slice(0, 200)}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The sum of the samples of metric `name` whose labels include all of `labels`, or undefined when
 * the server exposes no such series (another Kubernetes version may name it otherwise).
 */
export function sumSamples(text: string, name: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close === -1 ? '' : line.slice(name.length + 1, close);
    const seen = new Map([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const matches = Object.entries(labels).every(([key, value]) => seen.get(key) === value);
    if (!matches) continue;
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(' ')[0],
    );
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
