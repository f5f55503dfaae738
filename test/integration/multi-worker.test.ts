/**
 * Two worker processes serving one task queue and the same sessions, as two replicas of an
 * installation: the sessions are spread over both, and when one is SIGKILLed its sessions go on
 * on the other and end Succeeded, each with exactly one Job — none created twice, though both
 * controllers and both watchers see every session.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig } from '../support/kube.js';
import { createApiNamespace, fakeRunSession } from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const objects = shepherdObjects(kc);

let first: WorkerProcess;
let second: WorkerProcess;
let connection: Connection;
let client: Client;
let ns: string;

before(async () => {
  await installCrds(kc);
  first = await startWorkerProcess();
  second = await startWorkerProcess({}, first);
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
  ns = await createApiNamespace(kc, 'replicas');
});

after(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
  await connection?.close();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

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

test('a SIGKILLed worker’s sessions go on on the other one, and no Job is created twice', async (t) => {
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
  for (const name of names) await objects.createSession(ns, name, spec, first.labels);
  for (const name of names) {
    await eventually(
      `session ${name} to run`,
      () => objects.readSession(ns, name),
      (s) => s.status?.phase === 'Running',
      120_000,
    );
  }
  // The default worker identity is <pid>@<host>.
  const killed = `${first.child.pid}@${hostname()}`;
  const survivor = `${second.child.pid}@${hostname()}`;
  const before = await Promise.all(names.map(identities));
  const onKilled = names.filter((_, i) => before[i]!.has(killed));
  assert.ok(onKilled.length > 0, 'the first worker ran none of the ten sessions: nothing to take over');
  assert.ok(
    before.some((ids) => ids.has(survivor)),
    'the second worker ran none of the ten sessions: they were not spread',
  );
  await first.kill();

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
