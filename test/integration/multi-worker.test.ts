/**
 * Two worker processes serving one task queue and the same sessions, as two replicas of an
 * installation: the sessions are spread over both, yet the API server holds one set of runner
 * watches, the leader's (counted from the API server's own metrics); when the leader is SIGKILLed
 * mid-run the other takes the Lease over, its sessions go on there and end Succeeded, each with
 * exactly one Job — none created twice.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { apiServerMetrics, sumSamples } from '../support/apiserver-metrics.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig, processKubeConfig, randomSuffix } from '../support/kube.js';
import { createApiNamespace, fakeRunSession } from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
const objects = shepherdObjects(kc);
const lease = `replicas-${randomSuffix()}`;
// The workers name no namespace for it, so it is in their kubeconfig context's: the chart's.
const workerContext = processKubeConfig('worker');
const leaseNamespace =
  workerContext.getContextObject(workerContext.getCurrentContext())?.namespace ?? 'default';

/**
 * The workers watch this many namespaces, the sessions' and idle ones, so one worker's runner
 * watcher holds this many namespaced Job watches: other test files' workers watch cluster-wide,
 * and what they hold is not counted with these.
 */
const WATCHED = 4;

let first: WorkerProcess;
let second: WorkerProcess;
let connection: Connection;
let client: Client;
let ns: string;
const idle: string[] = [];

before(async () => {
  await installCrds(kc);
  ns = await createApiNamespace(kc, 'replicas');
  for (let i = 1; i < WATCHED; i += 1) idle.push(await createApiNamespace(kc, 'replicas-idle'));
  const env = { SHEPHERD_WATCH_NAMESPACES: [ns, ...idle].join(','), SHEPHERD_LEADER_ELECTION_LEASE: lease };
  first = await startWorkerProcess(env);
  second = await startWorkerProcess(env, first);
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
});

after(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
  await connection?.close();
  for (const name of [ns, ...idle]) if (name) await core.deleteNamespace({ name }).catch(() => undefined);
  await coordination.deleteNamespacedLease({ name: lease, namespace: leaseNamespace }).catch(() => undefined);
});

/** The identity of the worker holding the Lease, `<pid>@<host>`, or '' when none does. */
async function leaseHolder(): Promise<string> {
  const held = await coordination.readNamespacedLease({ name: lease, namespace: leaseNamespace });
  return held.spec?.holderIdentity ?? '';
}

/** The namespaced Job watches the API server is serving now, from its own gauge of long-running requests. */
async function namespacedJobWatches(): Promise<number> {
  const labels = { verb: 'WATCH', group: 'batch', resource: 'jobs', scope: 'namespace' };
  const count = sumSamples(await apiServerMetrics(kc), 'apiserver_longrunning_requests', labels);
  if (count === undefined)
    throw new Error('the API server exposes no apiserver_longrunning_requests for Job watches');
  return count;
}

/**
 * Waits until the API server serves the runner watcher's Job watches of all watched namespaces,
 * then checks that, over a few readings, no second worker adds its own: fewer than two sets.
 */
async function oneSetOfJobWatches(when: string): Promise<void> {
  await eventually(
    `the leader's ${WATCHED} Job watches ${when}`,
    namespacedJobWatches,
    (n) => n >= WATCHED,
    60_000,
  );
  for (let i = 0; i < 3; i += 1) {
    const watches = await namespacedJobWatches();
    assert.ok(
      watches >= WATCHED && watches < 2 * WATCHED,
      `${when}: the API server serves ${watches} namespaced Job watches; one worker's set is ${WATCHED}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The worker identities that completed workflow tasks of the session, as its history records them. */
async function identities(name: string): Promise<Set<string>> {
  const history = await client.workflow.getHandle(sessionWorkflowId(ns, name)).fetchHistory();
  const seen = new Set<string>();
  for (const event of history.events ?? []) {
    const identity = event.workflowTaskCompletedEventAttributes?.identity;
    if (identity) seen.add(identity);
  }
  return seen;
}

test('two workers hold one set of runner watches; the leader SIGKILLed, the other takes over and no Job is created twice', async (t) => {
  const identityOf = (worker: WorkerProcess) => `${worker.child.pid}@${hostname()}`;
  const holder = await eventually(
    'one of the workers to hold the Lease',
    leaseHolder,
    (h) => h === identityOf(first) || h === identityOf(second),
    60_000,
  );
  const [leader, follower] = holder === identityOf(first) ? [first, second] : [second, first];

  // Every Job ever made in the namespace, by name: cleanup deletes them once a session ends.
  const jobUids = new Map<string, Set<string>>();
  const jobs = k8s.makeInformer(kc, `/apis/batch/v1/namespaces/${ns}/jobs`, () =>
    batch.listNamespacedJob({ namespace: ns }),
  );
  jobs.on('add', (job) => {
    const name = job.metadata?.name ?? '';
    jobUids.set(name, (jobUids.get(name) ?? new Set()).add(job.metadata?.uid ?? ''));
  });
  await jobs.start();
  t.after(() => jobs.stop());
  const names = Array.from({ length: 10 }, (_, i) => `r${i}`);
  const spec = fakeRunSession('x', {}, { exitCode: 0, duration: '25s' }).spec as AgentSessionSpec;
  for (const name of names) await objects.createSession(ns, name, spec, leader.labels);
  for (const name of names) {
    await eventually(
      `session ${name} to run`,
      () => objects.readSession(ns, name),
      (s) => s.status?.phase === 'Running',
      120_000,
    );
  }
  await oneSetOfJobWatches('with both workers running');
  assert.equal(await leaseHolder(), identityOf(leader), 'the Lease changed hands with both workers running');
  // The worker identity Temporal records is <pid>@<host> too.
  const killed = identityOf(leader);
  const survivor = identityOf(follower);
  const before = await Promise.all(names.map(identities));
  const onKilled = names.filter((_, i) => before[i]!.has(killed));
  assert.ok(onKilled.length > 0, 'the leader ran none of the ten sessions: nothing to take over');
  assert.ok(
    before.some((ids) => ids.has(survivor)),
    'the follower ran none of the ten sessions: they were not spread',
  );
  await leader.kill();
  await eventually('the other worker to take the Lease over', leaseHolder, (h) => h === survivor, 90_000);
  await oneSetOfJobWatches('after the takeover');

  for (const name of names) {
    const done = await eventually(
      `session ${name} to end`,
      () => objects.readSession(ns, name),
      (s) => ['Succeeded', 'Failed', 'Stopped', 'TimedOut'].includes(s.status?.phase ?? ''),
      180_000,
    );
    assert.equal(done.status?.phase, 'Succeeded', `${name}: ${JSON.stringify(done.status)}`);
    assert.equal(done.status?.attempt, 1, name);
  }
  // The sessions the killed worker held were finished by the survivor.
  for (const name of onKilled)
    assert.ok((await identities(name)).has(survivor), `${name} was not taken over`);
  assert.deepEqual(
    [...jobUids.keys()].sort(),
    names.map((n) => `${n}-a1`).sort(),
    'each session had its one Job and no other',
  );
  for (const [name, uids] of jobUids) assert.equal(uids.size, 1, `${name} was created ${uids.size} times`);
});
