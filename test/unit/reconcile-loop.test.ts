/**
 * The loop every reconciler runs: periodic resyncs that never overlap (a caller joins the one
 * running), a failed resync retried at the next interval, informers restarted after errors, and a
 * stop that waits for the resync in progress and drains the queue for a bounded time; periodic
 * resyncs that read the caches and relist only now and then, and a resyncNow that always relists.
 * Resyncs here are stand-ins whose progress the test controls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import { createReconcileLoop } from '../../src/reconcile/reconcile-loop.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A promise with its resolve function, for a step the test releases. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A resync that counts its calls and waits for the test to release each one. */
function heldResync() {
  const state = { calls: 0, release: deferred(), called: deferred() };
  const resync = async () => {
    state.calls += 1;
    const release = state.release;
    state.called.resolve();
    await release.promise;
  };
  return { state, resync };
}

/** An informer whose first start reports an error, as a list against a down API server does. */
function informerFailingOnce() {
  const errorHandlers: Array<(error: unknown) => void> = [];
  const state = { starts: 0, started: deferred(), restarted: deferred() };
  const informer = {
    on(verb: string, handler: (error: unknown) => void) {
      if (verb === 'error') errorHandlers.push(handler);
    },
    off() {},
    start() {
      state.starts += 1;
      if (state.starts === 1) {
        state.started.resolve();
        errorHandlers.forEach((handler) => handler(new Error('connect ECONNREFUSED')));
      } else state.restarted.resolve();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  } as unknown as Informer<KubernetesObject>;
  return { informer, state };
}

/** An informer that starts and stops without a word, standing for informers that listed. */
const quietInformer = {
  on() {},
  off() {},
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
} as unknown as Informer<KubernetesObject>;

test('a resync asked for while one runs joins it instead of listing again', async () => {
  const { state, resync } = heldResync();
  const loop = createReconcileLoop({ name: 'test', logger: silent, resync, resyncIntervalMs: 0 });
  const first = loop.resyncNow();
  const second = loop.resyncNow();
  assert.equal(state.calls, 1);
  state.release.resolve();
  await Promise.all([first, second]);
  assert.equal(loop.stats().resyncs, 1);
  // Once it is done, the next call lists again.
  await loop.resyncNow();
  assert.equal(state.calls, 2);
  assert.equal(loop.stats().resyncs, 2);
});

test('with resyncAtStart, the first periodic resync runs at start, not an interval later', async () => {
  const { state, resync } = heldResync();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    resync,
    resyncIntervalMs: 60_000,
    resyncAtStart: true,
  });
  await loop.start();
  await state.called.promise;
  state.release.resolve();
  await loop.stop();
  assert.equal(state.calls, 1);
});

test('a failed periodic resync is logged and the next interval runs again', async () => {
  const warnings: string[] = [];
  let calls = 0;
  const thirdCall = deferred();
  const loop = createReconcileLoop({
    name: 'test',
    logger: { ...silent, warn: (_fields: object | string, message?: string) => warnings.push(message ?? '') },
    resync: async () => {
      calls += 1;
      if (calls === 1) throw new Error('API server unreachable');
      if (calls === 3) thirdCall.resolve();
    },
    resyncIntervalMs: 5,
  });
  await loop.start();
  await thirdCall.promise;
  await loop.stop();
  assert.deepEqual(warnings, ['test resync failed; retrying at the next interval']);
  assert.ok(
    loop.stats().resyncs >= 2,
    'the resyncs after the failure completed; the failed one is not counted',
  );
});

test('stop waits for the resync in progress', async () => {
  const { state, resync } = heldResync();
  const loop = createReconcileLoop({ name: 'test', logger: silent, resync, resyncIntervalMs: 5 });
  await loop.start();
  await state.called.promise;
  let stopped = false;
  const stopping = loop.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false, 'stop is still waiting for the resync');
  state.release.resolve();
  await stopping;
  assert.equal(loop.stats().resyncs, 1);
});

test('stop drains the queue, but for no longer than stopDrainMs', async () => {
  const infos: Array<Record<string, unknown>> = [];
  const logger = {
    ...silent,
    info: (fields: object | string) => {
      if (typeof fields === 'object') infos.push(fields as Record<string, unknown>);
    },
  };
  const drained = createReconcileLoop({ name: 'test', logger, resync: async () => {}, resyncIntervalMs: 0 });
  let ran = false;
  const task = deferred();
  drained.push('a', async () => {
    await task.promise;
    ran = true;
  });
  const stopping = drained.stop();
  task.resolve();
  await stopping;
  assert.equal(ran, true, 'the queued task ran before stop resolved');
  assert.deepEqual(infos.at(-1), { drained: true, queued: 0 });

  const stuck = createReconcileLoop({
    name: 'test',
    logger,
    resync: async () => {},
    resyncIntervalMs: 0,
    stopDrainMs: 20,
    concurrency: 1,
  });
  const never = deferred();
  stuck.push('a', () => never.promise);
  stuck.push('b', () => never.promise);
  await stuck.stop();
  assert.deepEqual(infos.at(-1), { drained: false, queued: 1 });
  never.resolve();
});

test('with resyncWaitsForQueue, resyncNow resolves once the tasks the resync queued have run', async () => {
  const done: string[] = [];
  const task = deferred();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    resyncIntervalMs: 0,
    resyncWaitsForQueue: true,
    resync: async () => {
      loop.push('a', async () => {
        await task.promise;
        done.push('a');
      });
    },
  });
  let resolved = false;
  const resyncing = loop.resyncNow().then(() => {
    resolved = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(resolved, false, 'the resync listed, but its task has not run');
  task.resolve();
  await resyncing;
  assert.deepEqual(done, ['a']);
});

test('with resyncWaitsForQueue, a queue that is never idle delays the periodic resyncs but never stops them', async () => {
  const never = deferred();
  let resyncs = 0;
  const third = deferred();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    resyncIntervalMs: 5,
    resyncWaitsForQueue: true,
    stopDrainMs: 1,
    resync: async () => {
      resyncs += 1;
      // A task still running at every resync: thousands of objects changing all the time.
      if (resyncs === 1) loop.push('busy', () => never.promise);
      if (resyncs === 3) third.resolve();
    },
  });
  await loop.start();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'stopped'>((resolve) => {
    timer = setTimeout(() => resolve('stopped'), 2000);
  });
  const outcome = await Promise.race([third.promise.then(() => 'resynced' as const), gaveUp]);
  clearTimeout(timer);
  assert.equal(outcome, 'resynced', 'a third periodic resync within 2 s');
  assert.equal(loop.stats().active, 1, 'the task still runs');
  await loop.stop();
  never.resolve();
});

test('an informer that stops on an error is restarted, and counted', async () => {
  const { informer, state } = informerFailingOnce();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    resync: async () => {},
    resyncIntervalMs: 0,
    informers: { pods: informer },
    informerRestartBackoffMs: 1,
  });
  await loop.start();
  await state.restarted.promise;
  assert.equal(loop.stats().informerRestarts, 1);
  await loop.stop();
});

test('periodic resyncs read the caches, and list again only once the relist interval has passed', async () => {
  let clock = 1_000;
  const scopes: Array<{ relist: boolean; requested: boolean }> = [];
  const fourth = deferred();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    now: () => clock,
    resyncIntervalMs: 1,
    relistIntervalMs: 100,
    informers: { pods: quietInformer },
    resync: async (scope) => {
      scopes.push(scope);
      // The informers' first lists were at 1,000; each resync moves the clock on by 60.
      clock += 60;
      if (scopes.length === 4) fourth.resolve();
    },
  });
  await loop.start();
  await fourth.promise;
  await loop.stop();
  assert.deepEqual(
    scopes.slice(0, 4).map((scope) => scope.relist),
    // At 1,000 (the informers just listed), 1,060, 1,120 (120 since their lists: relist), 1,180.
    [false, false, true, false],
  );
  assert.ok(scopes.every((scope) => !scope.requested));
});

test('resyncNow always lists and checks everything; asked during a periodic resync, it runs after it', async () => {
  const scopes: Array<{ relist: boolean; requested: boolean }> = [];
  const periodic = deferred();
  const periodicCalled = deferred();
  const loop = createReconcileLoop({
    name: 'test',
    logger: silent,
    resyncIntervalMs: 1,
    informers: { pods: quietInformer },
    resync: async (scope) => {
      scopes.push(scope);
      if (scopes.length === 1) {
        periodicCalled.resolve();
        await periodic.promise;
      }
    },
  });
  await loop.start();
  await periodicCalled.promise;
  const asked = loop.resyncNow();
  const joined = loop.resyncNow();
  assert.equal(scopes.length, 1, 'the requested resync waits for the periodic one');
  periodic.resolve();
  await Promise.all([asked, joined]);
  await loop.stop();
  assert.deepEqual(scopes.slice(0, 2), [
    { relist: false, requested: false },
    { relist: true, requested: true },
  ]);
});
