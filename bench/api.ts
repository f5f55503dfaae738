/**
 * API latency: p50/p99 of create and list, measured over HTTP against a running API.
 *
 * Usage: SHEPHERD_API_URL=http://127.0.0.1:8080 [SHEPHERD_TOKEN=…] npx tsx bench/api.ts [namespace] [count]
 * The integration test (test/integration/api-kubernetes.test.ts) runs it on the warm test stack.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

/** Latency percentiles of one operation, in milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** What to measure against. */
export interface ApiBenchOptions {
  baseUrl: string;
  token?: string;
  namespace: string;
  /** Sessions to create (and lists to make). */
  count: number;
  /** Labels and spec extras for the created sessions (e.g. a test worker's label). */
  labels?: Record<string, string>;
  spec?: Record<string, unknown>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function summarize(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

async function timed(call: () => Promise<Response>, expect: number): Promise<number> {
  const started = performance.now();
  const response = await call();
  await response.arrayBuffer();
  const ms = performance.now() - started;
  if (response.status !== expect) throw new Error(`expected HTTP ${expect}, got ${response.status}`);
  return ms;
}

/** Creates `count` sessions one after another, then lists `count` times; returns percentiles. */
export async function benchApi(options: ApiBenchOptions): Promise<{ create: Latency; list: Latency }> {
  const headers = {
    'content-type': 'application/json',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
  };
  const url = new URL(`/api/v1/namespaces/${options.namespace}/sessions`, options.baseUrl).toString();
  const run = randomBytes(3).toString('hex');
  const create: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const body = {
      metadata: { name: `bench-${run}-${i}`, ...(options.labels ? { labels: options.labels } : {}) },
      spec: { agent: 'command', command: ['true'], ...options.spec },
    };
    create.push(await timed(() => fetch(url, { method: 'POST', headers, body: JSON.stringify(body) }), 201));
  }
  for (let i = 0; i < options.count; i += 1) {
    list.push(await timed(() => fetch(`${url}?limit=100`, { headers }), 200));
  }
  return { create: summarize(create), list: summarize(list) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const baseUrl = process.env.SHEPHERD_API_URL ?? 'http://127.0.0.1:8080';
  const result = await benchApi({
    baseUrl,
    ...(process.env.SHEPHERD_TOKEN ? { token: process.env.SHEPHERD_TOKEN } : {}),
    namespace: process.argv[2] ?? 'default',
    count: Number(process.argv[3] ?? '50'),
  });
  console.log(JSON.stringify(result, null, 2));
}
