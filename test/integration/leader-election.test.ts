/**
 * Leader election over a real Lease, two replicas in one process with short durations: exactly one
 * runs the leader's services; a stopping leader releases the Lease and the other takes over at its
 * next retry; a leader that can no longer renew (its RoleBinding is deleted) stops its services
 * before the other replica starts its own — never two leaders at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  type LeaderElectionOptions,
  leaderOnlyServices,
} from '../../src/runtime/kubernetes/leader-election.js';
import type { RuntimeService } from '../../src/runtime/worker-runtime.js';
import { serviceAccountKubeconfig } from '../support/chart-release.js';
import { eventually, kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const leases = kc.makeApiClient(k8s.CoordinationV1Api);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const TIMINGS = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

/** What the replicas' services did, in the order they did it. */
type Transition = { replica: string; event: 'start' | 'stop' };

/** A replica: the election and a service that records when it starts and stops. */
function replica(
  name: string,
  election: Omit<LeaderElectionOptions, 'identity' | 'logger' | keyof typeof TIMINGS>,
  log: Transition[],
) {
  let running = false;
  const service: RuntimeService = {
    start: () => {
      running = true;
      log.push({ replica: name, event: 'start' });
      return Promise.resolve();
    },
    stop: () => {
      running = false;
      log.push({ replica: name, event: 'stop' });
      return Promise.resolve();
    },
  };
  const elected = leaderOnlyServices({
    election: { ...election, ...TIMINGS, identity: name, logger: logger.child({ replica: name }) },
    services: () => [service],
  });
  return { ...elected, running: () => running };
}

async function holder(namespace: string, name: string): Promise<string> {
  return (await leases.readNamespacedLease({ name, namespace })).spec?.holderIdentity ?? '';
}

test('one of two replicas leads; stopped, it releases the Lease and the other takes over at its next retry', async (t) => {
  const namespace = await testNamespace(t, kc, 'lease');
  const name = `workers-${randomSuffix()}`;
  const log: Transition[] = [];
  const a = replica('a', { kubeConfig: kc, namespace, name }, log);
  const b = replica('b', { kubeConfig: kc, namespace, name }, log);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  await a.start();
  await eventually('a to lead', () => Promise.resolve(a.running()), Boolean, 30_000);
  await b.start();
  // b keeps trying over several retries and never gets it while a renews.
  for (let i = 0; i < 8; i += 1) {
    await sleep(TIMINGS.retryPeriodMs);
    assert.equal(b.running(), false, 'b ran its services while a held the Lease');
    assert.equal(await holder(namespace, name), 'a');
  }

  await a.stop();
  assert.equal(a.running(), false);
  // Released, the Lease is b's at its next retry, not after the lease duration: long before a
  // lease-duration wait would let it, the Lease names b.
  await eventually('b to lead', () => Promise.resolve(b.running()), Boolean, 30_000);
  const lease = await leases.readNamespacedLease({ name, namespace });
  assert.equal(lease.spec?.holderIdentity, 'b');
  assert.equal(lease.spec?.leaseTransitions, 1);
  assert.deepEqual(log, [
    { replica: 'a', event: 'start' },
    { replica: 'a', event: 'stop' },
    { replica: 'b', event: 'start' },
  ]);
});

test('a leader that can no longer renew stops before the other replica starts: never two at once', async (t) => {
  const namespace = await testNamespace(t, kc, 'lease');
  const name = `workers-${randomSuffix()}`;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'elector' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'elector' },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'elector' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'elector' },
      subjects: [{ kind: 'ServiceAccount', name: 'elector', namespace }],
    },
  });
  const file = join(mkdtempSync(join(tmpdir(), 'shepherd-lease-')), 'elector.kubeconfig');
  const elector = new k8s.KubeConfig();
  elector.loadFromFile(await serviceAccountKubeconfig(kc, namespace, 'elector', file, 1));

  const log: Transition[] = [];
  const a = replica('a', { kubeConfig: elector, namespace, name }, log);
  const b = replica('b', { kubeConfig: kc, namespace, name }, log);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  await a.start();
  await eventually('a to lead', () => Promise.resolve(a.running()), Boolean, 30_000);
  await b.start();
  await sleep(TIMINGS.retryPeriodMs * 2);
  assert.equal(b.running(), false, 'b ran its services while a held the Lease');

  // a's renews are refused from now on; it must give up by itself, b take over once it expired.
  await rbac.deleteNamespacedRoleBinding({ name: 'elector', namespace });
  await eventually('b to take over', () => Promise.resolve(b.running()), Boolean, 60_000);
  assert.equal(a.running(), false);
  assert.equal(await holder(namespace, name), 'b');
  assert.deepEqual(log, [
    { replica: 'a', event: 'start' },
    { replica: 'a', event: 'stop' },
    { replica: 'b', event: 'start' },
  ]);
});
