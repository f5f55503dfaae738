/**
 * A followed runner log always ends. The Kubernetes backend streams the pod log from the API
 * server; here a local HTTP server plays the API server, so the test can end the stream as the
 * runner's end does, cut the connection as an API server restart does, and see the caller's
 * disconnect reach it. (The test environment's KWOK pods have no kubelet to serve logs, and its
 * shared API server cannot be restarted under other tests.)
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { kubernetesBackend } from '../../src/runtime/kubernetes/kubernetes-backend.js';

type Ending = 'end' | 'cut' | 'hold';
let ending: Ending = 'end';
let upstreamClosed: Promise<void> = Promise.resolve();
let server: Server;
let kubeConfig: k8s.KubeConfig;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

before(async () => {
  server = createServer((request, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/apis/shepherd.dev/v1alpha1/namespaces/team/agentsessions/fix') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          apiVersion: 'shepherd.dev/v1alpha1',
          kind: 'AgentSession',
          metadata: { name: 'fix', namespace: 'team', uid: 'u1' },
          spec: { agent: 'command', command: ['true'] },
          status: { phase: 'Running', runnerPodName: 'fix-a1-xyz' },
        }),
      );
      return;
    }
    if (url.pathname === '/api/v1/namespaces/team/pods/fix-a1-xyz/log') {
      upstreamClosed = new Promise((resolve) => response.once('close', () => resolve()));
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('line 1\n');
      if (ending === 'end') response.end('line 2\n');
      // An API server going away mid-stream: the connection drops without the final chunk.
      if (ending === 'cut') setImmediate(() => request.socket.destroy());
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', code: 404, message: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'fake',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        // Plain HTTP on loopback: the client refuses it unless TLS checks are off.
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'api', token: 'api-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'api' }],
    currentContext: 'fake',
  });
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function backend() {
  // Logs never reach Temporal; the client is not used on this path.
  return kubernetesBackend({ kubeConfig, client: {} as Client, taskQueue: 'q', logger: silent });
}

/** Everything the stream gives until it ends or closes. */
function drain(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.once('end', () => resolve(text));
    stream.once('close', () => resolve(text));
  });
}

test('a followed log ends when the runner ends and the API server ends the stream', async () => {
  ending = 'end';
  const stream = await backend().logs('team', 'fix', { follow: true, signal: new AbortController().signal });
  assert.equal(await drain(stream), 'line 1\nline 2\n');
});

test(
  'a followed log ends when the API server drops the connection mid-stream',
  { timeout: 30_000 },
  async () => {
    ending = 'cut';
    const stream = await backend().logs('team', 'fix', {
      follow: true,
      signal: new AbortController().signal,
    });
    assert.equal(await drain(stream), 'line 1\n');
  },
);

test(
  'a caller going away ends the followed log and closes the request to the API server',
  { timeout: 30_000 },
  async () => {
    ending = 'hold';
    const abort = new AbortController();
    const stream = await backend().logs('team', 'fix', { follow: true, signal: abort.signal });
    const text = drain(stream);
    await once(stream, 'data');
    abort.abort();
    await upstreamClosed;
    assert.equal(await text, 'line 1\n');
  },
);
