/**
 * The session lifecycle end to end on the real environment: AgentSessions are created as
 * `kubectl apply` would, the worker (a real child process) runs them through the session
 * workflow on the Temporal dev server, the runner pods run on the KWOK node with scripted exit
 * codes, and the tests assert the CR status and the child objects that exist afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { GROUP, PLURAL, SESSION_LABEL, VERSION } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionSpec, Phase } from '../../src/resources/types.js';
import { startSessionWorkflow } from '../../src/session-client/session-commands.js';
import { sessionWorkflowId, stateQuery } from '../../src/workflows/session-contract.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { eventually, kubeConfig, rejectionStatus, testNamespace } from '../support/kube.js';
import { useWorker } from '../support/worker-fixture.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const objects = shepherdObjects(kc);
const fixture = useWorker(kc, { SHEPHERD_PROVIDER_RESYNC_MS: '500' });

const TERMINAL: Phase[] = ['Succeeded', 'Failed', 'TimedOut', 'Stopped'];

/** A `command` session whose fake runner exits `exitCode` after `duration`. */
function spec(exitCode: number, duration: string, extra: Partial<AgentSessionSpec> = {}): AgentSessionSpec {
  return {
    agent: 'command',
    command: ['sh', '-c', 'echo working'],
    image: 'shepherd/runner:test',
    podMetadata: {
      annotations: {
        [FAKE_POD_ANNOTATIONS.exitCode]: String(exitCode),
        [FAKE_POD_ANNOTATIONS.duration]: duration,
      },
    },
    ...extra,
  };
}

function createSession(
  namespace: string,
  name: string,
  sessionSpec: AgentSessionSpec,
): Promise<AgentSession> {
  return objects.createSession(namespace, name, sessionSpec, fixture.worker.labels);
}

const readSession = objects.readSession;

async function patchSpec(namespace: string, name: string, patch: Partial<AgentSessionSpec>): Promise<void> {
  const current = await readSession(namespace, name);
  await custom.replaceNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL.agentSession,
    name,
    body: { ...current, spec: { ...current.spec, ...patch } },
  });
}

function waitForPhase(
  namespace: string,
  name: string,
  phases: Phase[],
  timeoutMs = 60_000,
): Promise<AgentSession> {
  return eventually(
    `session ${name} to reach ${phases.join('/')}`,
    () => readSession(namespace, name),
    (s) => s.status?.phase !== undefined && phases.includes(s.status.phase),
    timeoutMs,
  );
}

function condition(session: AgentSession, type: string) {
  return session.status?.conditions?.find((c) => c.type === type);
}

/** Names of the session's children that still exist, by kind. */
async function children(namespace: string, name: string) {
  const labelSelector = `${SESSION_LABEL}=${name}`;
  return {
    jobs: (await batch.listNamespacedJob({ namespace, labelSelector })).items.map((j) => j.metadata!.name!),
    secrets: (await core.listNamespacedSecret({ namespace, labelSelector })).items.map(
      (s) => s.metadata!.name!,
    ),
    pvcs: (await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })).items.map(
      (p) => p.metadata!.uid!,
    ),
    serviceAccounts: (await core.listNamespacedServiceAccount({ namespace, labelSelector })).items.length,
  };
}

/** Records every Job uid created in `namespace`, to prove each attempt had exactly one Job. */
async function recordJobs(namespace: string) {
  const uids = new Map<string, Set<string>>();
  const informer = k8s.makeInformer(kc, `/apis/batch/v1/namespaces/${namespace}/jobs`, () =>
    batch.listNamespacedJob({ namespace }),
  );
  informer.on('add', (job: k8s.V1Job) => {
    const set = uids.get(job.metadata!.name!) ?? new Set<string>();
    set.add(job.metadata!.uid!);
    uids.set(job.metadata!.name!, set);
  });
  await informer.start();
  return { uids, stop: () => informer.stop() };
}

test('a runner that exits 0 ends Succeeded with Completed=True, and its Job, Secret and PVC are gone', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'ok', spec(0, '1s'));
  const done = await waitForPhase(namespace, 'ok', TERMINAL);
  assert.equal(done.status?.phase, 'Succeeded');
  assert.equal(condition(done, 'Completed')?.status, 'True');
  assert.equal(condition(done, 'Validated')?.status, 'True');
  assert.equal(condition(done, 'PVCReady')?.status, 'True');
  assert.equal(condition(done, 'SecretsReady')?.status, 'True');
  assert.equal(condition(done, 'JobCreated')?.status, 'True');
  assert.equal(condition(done, 'RunnerStarted')?.status, 'True');
  assert.equal(done.status?.attempt, 1);
  assert.equal(done.status?.exitCode, 0);
  assert.equal(done.status?.workflowId, sessionWorkflowId(namespace, 'ok'));
  assert.ok(done.status?.runId);
  assert.ok(done.status?.startTime && done.status.completionTime);
  assert.match(done.status?.runnerPodName ?? '', /^ok-a1-/);
  await eventually(
    'children to be gone',
    () => children(namespace, 'ok'),
    (c) => c.jobs.length === 0 && c.secrets.length === 0 && c.pvcs.length === 0 && c.serviceAccounts === 0,
  );
});

test('with workspace.retain the PVC outlives a successful session', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'keep', spec(0, '500ms', { workspace: { retain: true } }));
  const done = await waitForPhase(namespace, 'keep', TERMINAL);
  assert.equal(done.status?.phase, 'Succeeded');
  const left = await eventually(
    'the Job and Secret to be cleaned up',
    () => children(namespace, 'keep'),
    (c) => c.jobs.length === 0 && c.secrets.length === 0,
  );
  assert.equal(left.pvcs.length, 1);
});

test('a runner that exits 1 with retries: 1 runs twice on the same PVC, then ends Failed/RunnerExit', async (t) => {
  const namespace = await testNamespace(t, kc);
  const jobs = await recordJobs(namespace);
  t.after(() => jobs.stop());
  await createSession(namespace, 'flaky', spec(1, '500ms', { retries: 1, workspace: { retain: true } }));
  const pvcUids = new Set<string>();
  const done = await eventually(
    'the session to fail after two attempts',
    async () => {
      for (const uid of (await children(namespace, 'flaky')).pvcs) pvcUids.add(uid);
      return readSession(namespace, 'flaky');
    },
    (s) => TERMINAL.includes(s.status?.phase as Phase),
    60_000,
  );
  assert.equal(done.status?.phase, 'Failed');
  assert.equal(condition(done, 'Failed')?.reason, 'RunnerExit');
  assert.equal(done.status?.attempt, 2);
  assert.equal(done.status?.exitCode, 1);
  assert.deepEqual([...jobs.uids.keys()].sort(), ['flaky-a1', 'flaky-a2']);
  assert.equal(pvcUids.size, 1, 'both attempts used the same workspace');
});

test('a runner that exits 2 ends Failed/PrerequisiteFailed after exactly one attempt', async (t) => {
  const namespace = await testNamespace(t, kc);
  const jobs = await recordJobs(namespace);
  t.after(() => jobs.stop());
  await createSession(namespace, 'prereq', spec(2, '300ms', { retries: 3 }));
  const done = await waitForPhase(namespace, 'prereq', TERMINAL);
  assert.equal(done.status?.phase, 'Failed');
  assert.equal(condition(done, 'Failed')?.reason, 'PrerequisiteFailed');
  assert.equal(done.status?.attempt, 1);
  assert.deepEqual([...jobs.uids.keys()], ['prereq-a1']);
});

test('a runner still running past spec.timeout ends TimedOut and its Job is deleted', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'slow', spec(0, '1h', { timeout: '3s' }));
  const done = await waitForPhase(namespace, 'slow', TERMINAL);
  assert.equal(done.status?.phase, 'TimedOut');
  assert.equal(condition(done, 'Failed')?.status, 'True');
  await eventually(
    'the Job to be gone',
    () => children(namespace, 'slow'),
    (c) => c.jobs.length === 0 && c.secrets.length === 0,
  );
});

test('desiredState Stopped stops a running session; restarting it runs a new attempt on the same PVC', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'stoppable', spec(1, '1h'));
  const running = await waitForPhase(namespace, 'stoppable', ['Running']);
  const pvcBefore = (await children(namespace, 'stoppable')).pvcs;
  assert.equal(running.status?.attempt, 1);

  await patchSpec(namespace, 'stoppable', { desiredState: 'Stopped' });
  const stopped = await waitForPhase(namespace, 'stoppable', ['Stopped']);
  assert.equal(condition(stopped, 'Ready')?.reason, 'UserStopped');
  await eventually(
    'Job and Secret to be gone',
    () => children(namespace, 'stoppable'),
    (c) => c.jobs.length === 0 && c.secrets.length === 0,
  );
  assert.deepEqual(
    (await children(namespace, 'stoppable')).pvcs,
    pvcBefore,
    'the workspace is kept for a restart',
  );
  const firstRun = stopped.status?.runId;

  await patchSpec(namespace, 'stoppable', { desiredState: 'Running' });
  const again = await eventually(
    'a new run with attempt 2',
    () => readSession(namespace, 'stoppable'),
    (s) => s.status?.attempt === 2 && s.status.phase === 'Running',
  );
  assert.notEqual(again.status?.runId, firstRun);
  assert.deepEqual((await children(namespace, 'stoppable')).pvcs, pvcBefore);
});

test('restarting a failed session starts a new run of the same workflow id with the next attempt', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'again', spec(1, '300ms'));
  const failed = await waitForPhase(namespace, 'again', ['Failed']);
  assert.equal(failed.status?.attempt, 1);
  const pvcBefore = (await children(namespace, 'again')).pvcs;
  assert.equal(pvcBefore.length, 1, 'a failed session keeps its workspace for a restart');

  await startSessionWorkflow(fixture.client, {
    taskQueue: fixture.worker.taskQueue,
    input: { namespace, name: 'again', uid: failed.metadata.uid! },
    signal: 'restart',
  });
  const rerun = await eventually(
    'the second run to fail too',
    () => readSession(namespace, 'again'),
    (s) => s.status?.attempt === 2 && s.status.phase === 'Failed',
  );
  assert.notEqual(rerun.status?.runId, failed.status?.runId);
  assert.equal(rerun.status?.workflowId, failed.status?.workflowId);
  assert.deepEqual((await children(namespace, 'again')).pvcs, pvcBefore);
});

test('deleting a running session removes its children and cancels its workflow', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'doomed', spec(0, '1h'));
  await waitForPhase(namespace, 'doomed', ['Running']);
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL.agentSession,
    name: 'doomed',
  });
  // The garbage collector removes the PVC; it learns a new CRD's kind from discovery, which it
  // refreshes every 30 s, so right after the CRDs were installed this can take that long.
  await eventually(
    'every child to be gone',
    () => children(namespace, 'doomed'),
    (c) => c.jobs.length === 0 && c.secrets.length === 0 && c.pvcs.length === 0,
    60_000,
  );
  const handle = fixture.client.workflow.getHandle(sessionWorkflowId(namespace, 'doomed'));
  const description = await eventually(
    'the workflow to be cancelled',
    () => handle.describe(),
    (d) => d.status.name !== 'RUNNING',
  );
  assert.equal(description.status.name, 'CANCELLED');
});

test('a session naming a missing provider ends Failed/ProviderNotReady and creates nothing', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'orphan', {
    agent: 'claude',
    initialPrompt: 'fix the tests',
    providerRef: { name: 'does-not-exist' },
  });
  const done = await waitForPhase(namespace, 'orphan', TERMINAL);
  assert.equal(done.status?.phase, 'Failed');
  assert.equal(condition(done, 'Failed')?.reason, 'ProviderNotReady');
  assert.match(condition(done, 'Validated')?.message ?? '', /does-not-exist/);
  const left = await children(namespace, 'orphan');
  assert.deepEqual(left, { jobs: [], secrets: [], pvcs: [], serviceAccounts: 0 });
  // The Web UI tells the same story: a failed run, the reason as its failure type, and a summary.
  const handle = fixture.client.workflow.getHandle(sessionWorkflowId(namespace, 'orphan'));
  const description = await eventually(
    'the workflow to close',
    () => handle.describe(),
    (d) => d.status.name !== 'RUNNING',
  );
  assert.equal(description.status.name, 'FAILED');
  assert.equal(await description.staticSummary(), `AgentSession ${namespace}/orphan`);
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => (error as { cause?: { type?: string } }).cause?.type,
  );
  assert.equal(failure, 'ProviderNotReady');
});

test('a worker killed with SIGKILL mid-run is restarted and the session finishes with one Job per attempt', async (t) => {
  const namespace = await testNamespace(t, kc);
  const jobs = await recordJobs(namespace);
  t.after(() => jobs.stop());
  await createSession(namespace, 'survivor', spec(1, '4s', { retries: 1 }));
  await waitForPhase(namespace, 'survivor', ['Running']);
  await fixture.worker.kill();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await fixture.worker.restart();
  const done = await waitForPhase(namespace, 'survivor', TERMINAL, 90_000);
  assert.equal(done.status?.phase, 'Failed');
  assert.equal(done.status?.attempt, 2);
  assert.deepEqual([...jobs.uids.keys()].sort(), ['survivor-a1', 'survivor-a2']);
  for (const [name, uids] of jobs.uids) assert.equal(uids.size, 1, `${name} was created exactly once`);
  await eventually(
    'the last Job to be cleaned up',
    () => rejectionStatus(batch.readNamespacedJob({ name: 'survivor-a2', namespace })),
    (status) => status === 404,
  );
});

test('provider credentials reach the runner only through the session Secret, never a log, payload or the Job', async (t) => {
  const namespace = await testNamespace(t, kc);
  const token = `sk-test-${Math.random().toString(36).slice(2)}-do-not-leak`;
  const gateway = `https://gateway-${Math.random().toString(36).slice(2)}.internal`;
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'anthropic' }, stringData: { apiKey: token } },
  });
  await objects.createProvider(namespace, 'anthropic', {
    displayName: 'Anthropic',
    agentTypes: ['claude'],
    authTokenSecretRef: { name: 'anthropic', key: 'apiKey' },
    environment: { ANTHROPIC_BASE_URL: gateway },
  });
  await createSession(namespace, 'secretive', {
    agent: 'claude',
    initialPrompt: 'add a README',
    providerRef: { name: 'anthropic' },
    image: 'shepherd/runner:test',
    podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.duration]: '3s' } },
  });
  const running = await waitForPhase(namespace, 'secretive', ['Running']);
  assert.equal(condition(running, 'SecretsReady')?.status, 'True');
  const job = await batch.readNamespacedJob({ name: 'secretive-a1', namespace });
  assert.ok(!JSON.stringify(job).includes(token), 'the Job holds no literal token');
  assert.ok(!JSON.stringify(job).includes('add a README'), 'the Job holds no literal prompt');
  const secret = await core.readNamespacedSecret({ name: 'secretive-session', namespace });
  assert.equal(Buffer.from(secret.data?.SHEPHERD_PROVIDER_TOKEN ?? '', 'base64').toString(), token);
  assert.equal(Buffer.from(secret.data?.ANTHROPIC_BASE_URL ?? '', 'base64').toString(), gateway);
  assert.ok(!JSON.stringify(job).includes(gateway), 'the Job holds no literal provider environment');

  const done = await waitForPhase(namespace, 'secretive', TERMINAL);
  assert.equal(done.status?.phase, 'Succeeded');
  const history = await fixture.client.workflow
    .getHandle(sessionWorkflowId(namespace, 'secretive'))
    .fetchHistory();
  // Payload data are bytes, whichever form the client gives them in: decode them, or the search
  // would look at numbers or base64.
  const recorded = JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    const bytes = value as { type?: unknown; data?: unknown } | null;
    return bytes?.type === 'Buffer' && Array.isArray(bytes.data)
      ? Buffer.from(bytes.data as number[]).toString('utf8')
      : value;
  });
  assert.ok(recorded.includes('add a README'), 'the decoded history shows its payloads');
  assert.ok(!recorded.includes(token), 'no Temporal payload carries the token');
  assert.ok(!recorded.includes(gateway), 'no Temporal payload carries the provider environment');
  const { readFileSync } = await import('node:fs');
  assert.ok(
    !readFileSync(fixture.worker.logFile, 'utf8').includes(token),
    'the worker log never shows the token',
  );
});

test('a session Secret that names a missing key ends Failed/CredentialsNotFound, naming the Secret and key', async (t) => {
  const namespace = await testNamespace(t, kc);
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'git' }, stringData: { other: 'x' } },
  });
  await createSession(
    namespace,
    'nokey',
    spec(0, '1s', {
      repos: [
        { url: 'https://example.invalid/repo.git', credentialsSecretRef: { name: 'git', key: 'token' } },
      ],
    }),
  );
  const done = await waitForPhase(namespace, 'nokey', TERMINAL);
  assert.equal(done.status?.phase, 'Failed');
  assert.equal(condition(done, 'SecretsReady')?.reason, 'CredentialsNotFound');
  assert.match(condition(done, 'SecretsReady')?.message ?? '', /Secret git .*no key token/);
  assert.deepEqual((await children(namespace, 'nokey')).jobs, []);
});

test('the workflow query returns the session state and search attributes find sessions by namespace and phase', async (t) => {
  const namespace = await testNamespace(t, kc);
  await createSession(namespace, 'findme', spec(0, '300ms'));
  await waitForPhase(namespace, 'findme', ['Succeeded']);
  const handle = fixture.client.workflow.getHandle(sessionWorkflowId(namespace, 'findme'));
  const state = await handle.query(stateQuery);
  assert.equal(state.phase, 'Succeeded');
  assert.equal(state.finished, true);
  assert.equal(state.status.attempt, 1);
  assert.equal(state.status.conditions?.find((c) => c.type === 'Completed')?.status, 'True');
  const query = `ShepherdNamespace = '${namespace}' AND ShepherdPhase = 'Succeeded' AND ShepherdAgent = 'command'`;
  const found = await eventually(
    'the session to be found by its search attributes',
    async () => {
      const ids: string[] = [];
      for await (const execution of fixture.client.workflow.list({ query })) ids.push(execution.workflowId);
      return ids;
    },
    (ids) => ids.length === 1,
  );
  assert.deepEqual(found, [sessionWorkflowId(namespace, 'findme')]);
});

test('an AgentProvider is Ready only while its Secret holds the key, and kubectl sees why', async (t) => {
  const namespace = await testNamespace(t, kc);
  await objects.createProvider(namespace, 'openai', {
    agentTypes: ['opencode'],
    authTokenSecretRef: { name: 'openai-key', key: 'token' },
  });
  const readProvider = () => objects.readProvider(namespace, 'openai');
  const missing = await eventually(
    'the provider to report its missing Secret',
    readProvider,
    (p) => p.status?.ready === false,
  );
  assert.equal(missing.status?.conditions?.[0]?.reason, 'SecretNotFound');
  assert.match(missing.status?.conditions?.[0]?.message ?? '', /openai-key/);

  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'openai-key' }, stringData: { token: 'secret-value' } },
  });
  const ready = await eventually(
    'the provider to become ready',
    readProvider,
    (p) => p.status?.ready === true,
  );
  assert.equal(ready.status?.conditions?.[0]?.reason, 'SecretFound');
  assert.ok(!JSON.stringify(ready).includes('secret-value'));
});

test('restarting a running session ends its current attempt and runs the next one on the same workspace', async (t) => {
  const namespace = await testNamespace(t, kc);
  const jobs = await recordJobs(namespace);
  t.after(() => jobs.stop());
  const created = await createSession(namespace, 'rerun', spec(0, '1h', { timeout: '10m' }));
  await waitForPhase(namespace, 'rerun', ['Running']);
  const pvcBefore = (await children(namespace, 'rerun')).pvcs;
  await startSessionWorkflow(fixture.client, {
    taskQueue: fixture.worker.taskQueue,
    input: { namespace, name: 'rerun', uid: created.metadata.uid! },
    signal: 'restart',
  });
  const second = await eventually(
    'the runner of attempt 2 to start',
    () => readSession(namespace, 'rerun'),
    (s) =>
      s.status?.attempt === 2 &&
      s.status.phase === 'Running' &&
      s.status.conditions?.find((c) => c.type === 'RunnerStarted')?.status === 'True',
  );
  assert.match(second.status?.runnerPodName ?? '', /^rerun-a2-/);
  await eventually(
    'the first Job to be gone',
    () => children(namespace, 'rerun'),
    (c) => c.jobs.join() === 'rerun-a2',
  );
  assert.deepEqual((await children(namespace, 'rerun')).pvcs, pvcBefore);
  assert.deepEqual([...jobs.uids.keys()].sort(), ['rerun-a1', 'rerun-a2']);
});
