/**
 * A client-node informer stops for good on an error other than 410; the supervisor starts it again
 * with backoff, and never after it was stopped. The informer here is a stand-in that fails on
 * demand, as a real one does when the API server goes away.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import { superviseInformer } from '../../src/reconcile/supervised-informer.js';

/** An informer whose first `failures` starts report an error, as a list against a down API server does. */
function flakyInformer(failures: number) {
  const errorHandlers: Array<(error: unknown) => void> = [];
  const state = { starts: 0, stops: 0 };
  const informer = {
    on(verb: string, handler: (error: unknown) => void) {
      if (verb === 'error') errorHandlers.push(handler);
    },
    off() {},
    start() {
      state.starts += 1;
      if (state.starts <= failures)
        errorHandlers.forEach((handler) => handler(new Error('connect ECONNREFUSED')));
      return Promise.resolve();
    },
    stop() {
      state.stops += 1;
      // Aborting the watch is reported as an error, as client-node does.
      errorHandlers.forEach((handler) => handler(new Error('The operation was aborted')));
      return Promise.resolve();
    },
  } as unknown as Informer<KubernetesObject>;
  return { informer, state };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('an informer that stops on errors is restarted with growing backoff until it runs', async () => {
  const { informer, state } = flakyInformer(3);
  const warnings: number[] = [];
  const logger = {
    ...silent,
    warn: (fields: object | string) => {
      if (typeof fields === 'object') warnings.push((fields as { restartInMs: number }).restartInMs);
    },
  };
  const supervised = superviseInformer(informer, {
    name: 'pods',
    logger,
    initialBackoffMs: 10,
    maxBackoffMs: 25,
  });
  await supervised.start();
  // The restarts take 10 + 20 + 25 ms of timers, longer on a loaded machine: wait for the fourth
  // start, then a moment more in which no fifth may come.
  while (state.starts < 4) await sleep(5);
  await sleep(100);
  assert.equal(state.starts, 4, 'three failed starts, then one that held');
  assert.deepEqual(warnings, [10, 20, 25]);
  assert.deepEqual(supervised.stats(), { errors: 3, restarts: 3 });
  await supervised.stop();
});

test('a stopped informer is not restarted, even though stopping reports an error', async () => {
  const { informer, state } = flakyInformer(0);
  const supervised = superviseInformer(informer, { name: 'jobs', logger: silent, initialBackoffMs: 5 });
  await supervised.start();
  await supervised.stop();
  await sleep(50);
  assert.equal(state.starts, 1);
  assert.equal(supervised.stats().restarts, 0);
});
