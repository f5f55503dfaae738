/**
 * The worker's and the API's Kubernetes client keeps its connections: calls made one after another
 * through loadKubeConfig's clients, with a watch open beside them, reuse keep-alive connections to the
 * real API server instead of opening (and TLS-handshaking) one per call, which is what the
 * client library does by itself.
 */
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/runtime/kubernetes/kube-config.js';
import { envVar } from '../support/kube.js';

// Held here: a channel only subscribed to by name may be collected, and its subscribers with it.
const responseFinish = channel('http.client.response.finish');

/** How many of the HTTP requests `work` completes opened a connection rather than reused one. */
async function socketsOpenedBy(work: () => Promise<void>): Promise<number> {
  let opened = 0;
  const onResponse = (message: unknown) => {
    if (!(message as { request: ClientRequest }).request.reusedSocket) opened += 1;
  };
  responseFinish.subscribe(onResponse);
  try {
    await work();
  } finally {
    responseFinish.unsubscribe(onResponse);
  }
  return opened;
}

test('twenty calls in a row go over one connection, and a plain KubeConfig opens twenty', async () => {
  const file = envVar('KUBECONFIG');
  const calls = async (kc: k8s.KubeConfig) => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 20; i += 1) await core.readNamespace({ name: 'default' });
  };
  const plain = new k8s.KubeConfig();
  plain.loadFromFile(file);
  // The library's own behaviour, so that the assertion below could fail.
  assert.equal(await socketsOpenedBy(() => calls(plain)), 20);
  assert.equal(await socketsOpenedBy(() => calls(loadKubeConfig(file))), 1);
});

test('calls side by side share the pool while a watch holds a connection of its own', async () => {
  const kc = loadKubeConfig(envVar('KUBECONFIG'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const opened = await socketsOpenedBy(async () => {
    const seen = new Promise<void>((resolve) => {
      void new k8s.Watch(kc)
        .watch(
          '/api/v1/namespaces',
          {},
          () => resolve(),
          () => undefined,
        )
        .then((request) => {
          void seen.then(() => request.abort());
        });
    });
    await seen;
    for (let round = 0; round < 5; round += 1) {
      await Promise.all(Array.from({ length: 4 }, () => core.readNamespace({ name: 'default' })));
    }
  });
  // The watch's own connection, and at most four for the twenty calls.
  assert.ok(opened <= 5, `${opened} connections opened`);
});
