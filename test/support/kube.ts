/**
 * Helpers for tests against the real environment that `npm test` starts: clients from its
 * kubeconfigs, one fresh namespace per test, and polling until an observable outcome holds.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';

/** Reads a required variable that `npm test` exports for the environment. */
export function envVar(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this test through \`npm test\`, which starts the environment`);
  return value;
}

/** A KubeConfig for the admin (default) or for a test user's kubeconfig variable. */
export function kubeConfig(variable = 'KUBECONFIG'): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(envVar(variable));
  return kc;
}

/**
 * The kubeconfig the tests' worker or API process runs with: the chart's ServiceAccount for it
 * when `npm test` installed the chart (SHEPHERD_TEST_WORKER_KUBECONFIG / _API_), else admin's (a
 * file run against `npm run env:up` by hand).
 */
export function processKubeconfigPath(component: 'worker' | 'api'): string {
  return process.env[`SHEPHERD_TEST_${component.toUpperCase()}_KUBECONFIG`] ?? envVar('KUBECONFIG');
}

/** {@link processKubeconfigPath}, loaded. */
export function processKubeConfig(component: 'worker' | 'api'): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(processKubeconfigPath(component));
  return kc;
}

/** A short random suffix for names. */
export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Creates a namespace for one test and deletes it when the test ends. */
export async function testNamespace(t: TestContext, kc: k8s.KubeConfig, prefix = 't'): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${randomSuffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'shepherd.dev/test': 'true' } } } });
  t.after(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

/** Polls `read` until `done` holds for its value; returns that value or fails with the last one seen. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      let seen: string;
      try {
        seen = last === undefined ? `error: ${String(lastError)}` : JSON.stringify(last).slice(0, 2000);
      } catch {
        seen = String(last);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(200);
  }
}

/** The HTTP status of a failed client-node call, or undefined. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof k8s.ApiException ? error.code : undefined;
}

/** Whether `call` is refused with 403 Forbidden (any other failure is thrown). */
export async function forbidden(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (error) {
    if (statusOf(error) === 403) return true;
    throw error;
  }
}

/** Resolves when `promise` fails with an ApiException; returns its HTTP status. */
export async function rejectionStatus(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (error) {
    return statusOf(error);
  }
  return undefined;
}
