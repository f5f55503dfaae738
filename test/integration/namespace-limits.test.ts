/**
 * A NamespacePolicy's concurrency limit and budgets, on the real API server with two real worker
 * processes on separate task queues, sharing one namespace workflow as the semaphore and ledger:
 * five sessions with a limit of two run two at a time in the order they asked; stopping or
 * deleting a queued session takes it out of the queue; a session past its cap waits
 * WaitingForApproval and goes on after `approve`; the month's cap stops a running turn; the
 * NamespacePolicy's status shows the month's spending and the queue.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type {
  AgentSession,
  AgentSessionSpec,
  NamespacePolicy,
  NamespacePolicySpec,
  Phase,
} from '../../src/resources/types.js';
import { namespaceWorkflowId } from '../../src/workflows/namespace-contract.js';
import { approveUpdate, sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig } from '../support/kube.js';
import { createApiNamespace, fakeRunSession } from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const objects = shepherdObjects(kc);

const FINAL: readonly Phase[] = ['Succeeded', 'Failed', 'Stopped', 'TimedOut'];
/** Phases of a session that holds a slot. */
const HOLDING: readonly Phase[] = ['Provisioning', 'Running', 'Stopping'];

let workers: WorkerProcess[] = [];
let connection: Connection;
let client: Client;
const namespaces: string[] = [];

before(async () => {
  await installCrds(kc);
  workers = await Promise.all([startWorkerProcess(), startWorkerProcess()]);
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  client = new Client({ connection });
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await connection?.close();
  for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

async function namespace(prefix: string, policy: NamespacePolicySpec): Promise<string> {
  const ns = await createApiNamespace(kc, prefix);
  namespaces.push(ns);
  await objects.createPolicy(ns, policy);
  return ns;
}

/** A fake run (KWOK plays the runner) that lasts `duration`, exits `exitCode` and reports `result`. */
function spec(duration: string, exitCode = 0, result?: unknown, extra: Partial<AgentSessionSpec> = {}) {
  const base = fakeRunSession('x', {}, { exitCode, duration }, { retries: 0, ...extra })
    .spec as AgentSessionSpec;
  if (result !== undefined) {
    base.podMetadata = {
      annotations: {
        ...base.podMetadata?.annotations,
        [FAKE_POD_ANNOTATIONS.message]: JSON.stringify(result),
      },
    };
  }
  return base;
}

/** Session `i` goes to worker i mod 2: the limit must hold across both. */
const labelsFor = (i: number) => workers[i % 2]!.labels;

async function phases(ns: string, names: string[]): Promise<Map<string, AgentSession>> {
  const all = new Map<string, AgentSession>();
  for (const name of names) all.set(name, await objects.readSession(ns, name));
  return all;
}

function ready(session: AgentSession) {
  return session.status?.conditions?.find((c) => c.type === 'Ready');
}

async function waitFor(ns: string, name: string, want: readonly Phase[], timeoutMs = 120_000) {
  return eventually(
    `session ${name} to be ${want.join(' or ')}`,
    () => objects.readSession(ns, name),
    (s) => want.includes(s.status?.phase ?? 'Pending'),
    timeoutMs,
  );
}

async function policyStatus(ns: string): Promise<NamespacePolicy['status']> {
  return (await objects.readPolicy(ns)).status;
}

/**
 * From the namespace workflow's history: the sessions in the order they asked for a slot, and in
 * the order they were granted one.
 */
async function semaphoreOrder(ns: string): Promise<{ asked: string[]; granted: string[] }> {
  const history = await client.workflow.getHandle(namespaceWorkflowId(ns)).fetchHistory();
  const asked: string[] = [];
  const granted: string[] = [];
  const name = (id: string) => id.split('/').at(-1) ?? id;
  for (const event of history.events ?? []) {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === 'acquireSlot') {
      const request = defaultPayloadConverter.fromPayload<{ sessionId: string }>(
        signaled.input!.payloads![0]!,
      );
      if (!asked.includes(name(request.sessionId))) asked.push(name(request.sessionId));
    }
    const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (sent?.signalName === 'slotNotice') {
      const notice = defaultPayloadConverter.fromPayload<{ position: number }>(sent.input!.payloads![0]!);
      const id = name(sent.workflowExecution?.workflowId ?? '');
      if (notice.position === 0 && !granted.includes(id)) granted.push(id);
    }
  }
  return { asked, granted };
}

async function jobsOf(ns: string, name: string): Promise<string[]> {
  const jobs = await batch.listNamespacedJob({ namespace: ns });
  return jobs.items.map((j) => j.metadata?.name ?? '').filter((n) => n.startsWith(`${name}-a`));
}

test('five sessions with a limit of two run two at a time, in the order they asked, across two workers', async () => {
  const ns = await namespace('limits', { maxConcurrentSessions: 2 });
  const names = ['s1', 's2', 's3', 's4', 's5'];
  for (const [i, name] of names.entries()) {
    await objects.createSession(ns, name, spec('6s'), labelsFor(i));
    // Far enough apart that the order of asking is the order of creation.
    await sleep(700);
  }
  const places = new Map<string, number[]>();
  let peak = 0;
  let sawQueue = false;
  for (let tick = 0; ; tick++) {
    const all = await phases(ns, names);
    const holding = [...all].filter(([, s]) => HOLDING.includes(s.status?.phase ?? 'Pending'));
    assert.ok(holding.length <= 2, `more than two run at once: ${holding.map(([n]) => n).join(', ')}`);
    peak = Math.max(peak, holding.length);
    for (const [name, s] of all) {
      const phase = s.status?.phase ?? 'Pending';
      if (phase === 'Queued') {
        const place = Number(/number (\d+) in the namespace's queue/.exec(ready(s)?.message ?? '')?.[1]);
        const seen = places.get(name) ?? [];
        if (seen.at(-1) !== place) places.set(name, [...seen, place]);
      }
    }
    if (!sawQueue) {
      const status = await policyStatus(ns);
      sawQueue = status?.runningSessions === 2 && (status.queuedSessions ?? 0) > 0;
    }
    if ([...all.values()].every((s) => FINAL.includes(s.status?.phase ?? 'Pending'))) break;
    assert.ok(tick < 1_200, 'the sessions did not all end within four minutes');
    await sleep(200);
  }
  const all = await phases(ns, names);
  for (const [name, s] of all)
    assert.equal(s.status?.phase, 'Succeeded', `${name}: ${JSON.stringify(s.status)}`);
  assert.equal(peak, 2, 'the limit was never used to the full');
  // Granted in the order they asked (across both workers); the three that waited only moved up.
  const { asked, granted } = await semaphoreOrder(ns);
  assert.deepEqual([...asked].sort(), names);
  assert.deepEqual(granted, asked);
  for (const name of asked.slice(2)) {
    const seen = places.get(name) ?? [];
    assert.ok(
      seen.length > 0 && seen.every((p) => p >= 1),
      `${name} was never seen Queued: ${seen.join(',')}`,
    );
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => b - a),
      `${name}'s place went up and down: ${seen.join(',')}`,
    );
  }
  assert.ok(sawQueue, 'the NamespacePolicy status never showed two running and some queued');
  await eventually(
    'the NamespacePolicy status to show nothing running or queued',
    () => policyStatus(ns),
    (s) => s?.runningSessions === 0 && s.queuedSessions === 0,
    30_000,
  );
});

test('stopping or deleting a queued session takes it out of the queue, and it never runs', async () => {
  const ns = await namespace('queue', { maxConcurrentSessions: 1 });
  await objects.createSession(ns, 'q1', spec('8s'), labelsFor(0));
  await waitFor(ns, 'q1', HOLDING);
  for (const [i, name] of ['q2', 'q3', 'q4'].entries()) {
    await objects.createSession(ns, name, spec('1s'), labelsFor(i + 1));
    await waitFor(ns, name, ['Queued']);
  }
  const q4 = await objects.readSession(ns, 'q4');
  assert.match(ready(q4)?.message ?? '', /number 3 in the namespace's queue; 1 of 1 sessions running/);
  await objects.patchSession(ns, 'q2', { desiredState: 'Stopped' });
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURAL.agentSession,
    name: 'q3',
  });
  const stopped = await waitFor(ns, 'q2', ['Stopped']);
  assert.equal(ready(stopped)?.reason, 'UserStopped');
  await eventually(
    'q4 to move up to the head of the queue',
    () => objects.readSession(ns, 'q4'),
    (s) => /number 1 in the namespace's queue/.test(ready(s)?.message ?? '') || s.status?.phase !== 'Queued',
    60_000,
  );
  const q4Done = await waitFor(ns, 'q4', FINAL);
  assert.equal(q4Done.status?.phase, 'Succeeded');
  assert.deepEqual(await jobsOf(ns, 'q2'), [], 'the stopped queued session got a runner');
  assert.deepEqual(await jobsOf(ns, 'q3'), [], 'the deleted queued session got a runner');
});

test('a session past its budget waits WaitingForApproval, refuses a cap too low, and goes on after approve', async () => {
  const ns = await namespace('budget', { budget: { perSessionUsd: 0.05 } });
  // The agent stops when its budget runs out, failing the turn; what it spent is more than the cap.
  const result = { repos: [], summary: 'stopped at the budget', usage: { costUsd: 0.08, inputTokens: 1200 } };
  await objects.createSession(ns, 'tiny', spec('1s', 1, result), labelsFor(0));
  const waiting = await waitFor(ns, 'tiny', ['WaitingForApproval'], 90_000);
  assert.equal(ready(waiting)?.reason, 'BudgetExceeded');
  assert.match(
    ready(waiting)?.message ?? '',
    /spent \$0\.0800 of its \$0\.0500 cap \(NamespacePolicy budget\.perSessionUsd\)/,
  );
  assert.equal(waiting.status?.usage?.costUsd, 0.08);

  const handle = client.workflow.getHandle(sessionWorkflowId(ns, 'tiny'));
  await assert.rejects(
    handle.executeUpdate(approveUpdate, { args: [{ capUsd: 0.06 }] }),
    (error: unknown) =>
      error instanceof WorkflowUpdateFailedError &&
      /not above the \$0\.0800 already spent/.test(String(error.cause)),
  );
  // The user lets the next attempt finish (the fake runner is told to succeed), and approves.
  await objects.patchSession(ns, 'tiny', {
    podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.exitCode]: '0' } },
  });
  const accepted = await handle.executeUpdate(approveUpdate, { args: [{ capUsd: 1, author: 'alice' }] });
  assert.deepEqual(accepted, { cap: 'session', capUsd: 1 });
  const done = await waitFor(ns, 'tiny', FINAL);
  assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  assert.equal(done.status?.attempt, 2);
  assert.deepEqual((await jobsOf(ns, 'tiny')).length <= 2, true);
});

test('the month reaching its cap stops a running turn, and an approve lets it go on', async () => {
  const ns = await namespace('monthly', { budget: { monthlyUsd: 0.5 } });
  const long = { repos: [], summary: 'long work', usage: { costUsd: 0.1 } };
  await objects.createSession(ns, 'long', spec('1h', 0, long), labelsFor(0));
  await waitFor(ns, 'long', ['Running']);
  // Another session of the namespace spends past the month's cap.
  const costly = { repos: [], summary: 'costly', usage: { costUsd: 0.7, outputTokens: 5000 } };
  await objects.createSession(ns, 'costly', spec('1s', 0, costly), labelsFor(1));
  assert.equal((await waitFor(ns, 'costly', FINAL)).status?.phase, 'Succeeded');
  const waiting = await waitFor(ns, 'long', ['WaitingForApproval'], 90_000);
  assert.match(ready(waiting)?.message ?? '', /namespace spent \$0\.\d+ this month of its \$0\.5000 cap/);
  const status = await eventually(
    'the NamespacePolicy status to show the month',
    () => policyStatus(ns),
    (s) => (s?.spentUsd ?? 0) >= 0.7,
    30_000,
  );
  assert.equal(status?.month, new Date().toISOString().slice(0, 7));
  assert.ok((status?.tokens ?? 0) >= 5000, JSON.stringify(status));
  // A new session of the namespace waits at the cap from the start.
  await objects.createSession(ns, 'late', spec('1s'), labelsFor(1));
  await waitFor(ns, 'late', ['WaitingForApproval']);

  // Approved with a higher monthly cap, the stopped turn goes on as a new attempt; it is told to end.
  await objects.patchSession(ns, 'long', {
    podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.duration]: '1s' } },
  });
  await client.workflow
    .getHandle(sessionWorkflowId(ns, 'long'))
    .executeUpdate(approveUpdate, { args: [{ capUsd: 5 }] });
  const done = await waitFor(ns, 'long', FINAL);
  assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  assert.equal(done.status?.attempt, 2);
  // The session that waited from the start is still waiting: its approval is its own.
  assert.equal((await objects.readSession(ns, 'late')).status?.phase, 'WaitingForApproval');
});
