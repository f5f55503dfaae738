/**
 * `npm run bench:sessions -- [--sessions N] [--rate R] [--duration S] [--backend dev|postgres]
 * [--workers W] [--shards K] [--cache C] [--policy] [--limit L] [--profile-at T,…] [--out DIR]`:
 * holds N concurrent sessions through W worker processes (one task queue) on the real environment,
 * whose Temporal is the dev server (SQLite, one shard) or the Temporal server on PostgreSQL with K
 * history shards, and reports
 *  - sessions held: the most runner pods running at once;
 *  - session start latency: AgentSession created → its Job exists (p50/p99), at R sessions/s,
 *    beside the same objects created directly with the Kubernetes client (the ratio);
 *  - exit → status latency: the runner pod observed terminated → the CR observed Succeeded (p50/p99);
 *  - each worker process's peak RSS, and the peak of its event loop's p99 lag (its /metrics);
 *  - each environment process's peak RSS with its children's (kube-apiserver, etcd, Temporal,
 *    PostgreSQL, …), the machine's least available memory, and etcd's largest database size
 *    beside its quota;
 *  - with several workers, how often their leader Lease changed hands;
 *  - the Temporal server's workflow-task schedule-to-start p95 over the run (its own metric);
 *  - how many sessions finished Succeeded, and Jobs per attempt (must be exactly one).
 * Every runner runs S seconds on the KWOK node (so all N overlap) and exits 0. `--cache C` bounds
 * each worker's workflow cache (SHEPHERD_MAX_CACHED_WORKFLOWS): with C below a worker's share of
 * N, idle sessions are evicted and replayed when their runner ends. It writes the figures as JSON
 * and a PNG plot (latency distributions, RSS over time) into DIR (default bench-results/), with the
 * workflow history of the median start. Progress is printed every 15 s from the first session on,
 * with why each Pending pod waits and the PVCs' phases, and once a minute what loads the control
 * plane (cluster-load.ts) and the cores each process used; etcd's heap profile and goroutines are
 * saved as its memory passes 2, 4 and 8 GiB, and the control plane's and the workers' logs are kept
 * beside the result. `--profile-at T,…` saves 30 s CPU profiles of the API server, etcd and the
 * PostgreSQL-backed Temporal server T seconds after the first session (the dev server serves
 * none). Ctrl-C ends the wait and reports and writes what was observed, marked interrupted.
 *
 * With `--policy` the namespace has a NamespacePolicy setting every rule the sessions keep, so
 * comparing two runs shows what the validate step's policy checks add to a start (the environment
 * installs no chart, so no admission policy: its CEL runs inside the API server's create, outside
 * the worker). `--limit L` adds `maxConcurrentSessions: L` (alone: a policy with only that): each
 * session then takes a slot from the namespace workflow before it starts, and with L ≥ N the run
 * shows what the semaphore adds to a start; with L < N the later sessions wait Queued, so their
 * start includes that wait and the run holds L at once.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import https, { request } from 'node:https';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { FAKE_POD_ANNOTATIONS } from '../src/devenv/kwok-stages.js';
import { startEnvironment, type TemporalBackend } from '../src/devenv/environment.js';
import { freePorts } from '../src/processes/ports.js';
import { missingTools, temporalPostgresToolPaths, toolPaths } from '../src/processes/tools.js';
import { GROUP, PLURAL, USABLE_SECRET_LABEL, VERSION } from '../src/resources/constants.js';
import type { AgentSession, NamespacePolicySpec } from '../src/resources/types.js';
import { buildSessionJob } from '../src/runtime/kubernetes/builders/session-job.js';
import { buildSessionPvc } from '../src/runtime/kubernetes/builders/session-pvc.js';
import {
  buildRunnerRole,
  buildRunnerRoleBinding,
  buildRunnerServiceAccount,
} from '../src/runtime/kubernetes/builders/session-rbac.js';
import { buildSessionSecret } from '../src/runtime/kubernetes/builders/session-secret.js';
import { resolveSession } from '../src/session/resolve-session.js';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../src/worker/config.js';
import { sessionWorkflowId } from '../src/workflows/session-contract.js';
import { installCrds } from '../test/support/crds.js';
import { shepherdObjects } from '../test/support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process.js';
import {
  describeLoad,
  loadBetween,
  loadCounters,
  type LoadCounters,
  type LoadSample,
} from './cluster-load.js';
import { bucketDelta, histogramBuckets, histogramQuantile } from './histogram-quantile.js';
import { percentile } from './percentile.js';
import { renderPlot } from './plot.js';
import { metricValue } from './prometheus-text.js';
import { availableGiB, coresBetween, rssMiB, usageByName } from './process-usage.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    rate: { type: 'string', default: '5' },
    duration: { type: 'string', default: '60' },
    backend: { type: 'string', default: 'dev' },
    workers: { type: 'string', default: '1' },
    shards: { type: 'string', default: '4' },
    cache: { type: 'string' },
    policy: { type: 'boolean', default: false },
    limit: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    'profile-at': { type: 'string' },
  },
});
const total = Number(values.sessions);
const rate = Number(values.rate);
const durationS = Number(values.duration);
const workerCount = Number(values.workers);
if (values.backend !== 'dev' && values.backend !== 'postgres') {
  throw new Error(
    `--backend ${values.backend}: use dev (the dev server) or postgres (the Temporal server on PostgreSQL)`,
  );
}
if (!Number.isInteger(workerCount) || workerCount < 1)
  throw new Error(`--workers ${values.workers}: a count ≥ 1`);
const backend: TemporalBackend = values.backend;
const profileAtS = (values['profile-at'] ?? '').split(',').filter(Boolean).map(Number);
if (profileAtS.some((t) => !Number.isFinite(t) || t < 0)) {
  throw new Error(
    `--profile-at ${values['profile-at']}: seconds after the first session, comma-separated (e.g. 600,1200)`,
  );
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// Ctrl-C (SIGINT) ends the wait: what was observed until then is reported and written, marked
// interrupted, and the environment is stopped. A second one ends the process at once.
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.log('# interrupted: reporting what was observed so far (Ctrl-C again to quit at once)');
  process.once('SIGINT', () => process.exit(130));
});

if (missingTools(toolPaths()).length > 0) throw new Error('tools missing: run `npm run setup` first');
if (backend === 'postgres' && missingTools(temporalPostgresToolPaths()).length > 0) {
  throw new Error(
    'the Temporal server or PostgreSQL is missing: run `npm run setup -- temporal-server postgres` first',
  );
}
const env = await startEnvironment({ temporalBackend: backend, historyShards: Number(values.shards) });
Object.assign(process.env, env.variables);
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const objects = shepherdObjects(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
const workers: WorkerProcess[] = [];

/**
 * The history of session `name`'s workflow as lines `+<ms since createdAt> <event>`, activities
 * and markers (a local activity's) named: where a start's time goes.
 */
async function sessionTimeline(
  address: string,
  namespace: string,
  name: string,
  createdAt: number,
): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const history = await client.workflow.getHandle(sessionWorkflowId(namespace, name)).fetchHistory();
    return (history.events ?? []).map((event) => {
      const at =
        Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      const type =
        proto.temporal.api.enums.v1.EventType[event.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? '?';
      const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
      const named = activity ?? event.markerRecordedEventAttributes?.markerName;
      return `+${String(at - createdAt).padStart(6)} ms ${type}${named ? ` ${named}` : ''}`;
    });
  } finally {
    await connection.close();
  }
}

/** Each worker's event loop lag p99 in seconds, from its /metrics; undefined where it did not answer. */
async function eventLoopLags(ports: readonly number[]): Promise<(number | undefined)[]> {
  return Promise.all(
    ports.map(async (port) => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
          signal: AbortSignal.timeout(5000),
        });
        return metricValue(await response.text(), 'nodejs_eventloop_lag_p99_seconds');
      } catch {
        return undefined;
      }
    }),
  );
}

/** The server's workflow-task schedule-to-start histogram, summed over its processes. */
async function scheduleToStart(): Promise<Map<number, number>> {
  const sum = new Map<number, number>();
  for (const url of env.temporalMetricsUrls) {
    const text = await (await fetch(url)).text();
    const buckets = histogramBuckets(text, 'task_schedule_to_start_latency', { task_type: 'Workflow' });
    for (const [bound, count] of buckets) sum.set(bound, (sum.get(bound) ?? 0) + count);
  }
  return sum;
}

/** A path of the API server as the admin reads it (its /metrics, its profiles). */
async function apiserverGet(path: string, timeoutMs = 10_000): Promise<Buffer> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(`${env.kubeServer}${path}`, { ...options, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`${path}: HTTP ${response.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}
const apiserverText = async (path: string) => (await apiserverGet(path)).toString('utf8');

/** Why a Pending pod has not started: the scheduler's reason, or that the fake kubelet has it. */
function pendingCause(pod: k8s.V1Pod): string {
  if (pod.spec?.nodeName) return 'on the node, not started';
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status !== 'False') return 'not yet seen by the scheduler';
  if (scheduled.message?.includes('unbound immediate PersistentVolumeClaims')) return 'unbound PVC';
  return `unschedulable (${scheduled.reason ?? '?'})`;
}

/** Counts of each value, largest first, as `value n, …`. */
function tally(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .sort(([, a], [, b]) => b - a)
    .map(([value, n]) => `${value} ${n}`)
    .join(', ');
}

const etcdUrl = env.etcdMetricsUrl.replace(/\/metrics$/, '');
mkdirSync(values.out, { recursive: true });
const runName = `sessions-${backend}-${total}-${workerCount}w-${new Date().toISOString().replaceAll(':', '')}`;
const base = join(values.out, runName);

/** The body of `url`, within `timeoutMs`; an HTTP error is thrown, not returned as the body. */
async function fetchBytes(url: string, timeoutMs: number): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Saves etcd's heap profile and its goroutines (with their stacks) as `<base>-etcd-<label>.*`. */
async function etcdProfiles(label: string): Promise<void> {
  try {
    writeFileSync(
      `${base}-etcd-${label}-heap.pb.gz`,
      await fetchBytes(`${etcdUrl}/debug/pprof/heap`, 30_000),
    );
    const goroutines = await fetch(`${etcdUrl}/debug/pprof/goroutine?debug=1`, {
      signal: AbortSignal.timeout(30_000),
    });
    writeFileSync(`${base}-etcd-${label}-goroutines.txt`, await goroutines.text());
    console.log(`# saved etcd's heap profile and goroutines at ${label} (${base}-etcd-${label}-*)`);
  } catch (error) {
    console.log(`# etcd's profiles at ${label} could not be read (${String(error)})`);
  }
}

/**
 * Saves 30-second CPU profiles of the API server, etcd and the Temporal server, taken at once, as
 * `<base>-<process>-cpu-<label>.pb.gz`: where the cores go (`go tool pprof -top <file>`).
 */
async function cpuProfiles(label: string): Promise<void> {
  const seconds = 30;
  const timeoutMs = (seconds + 30) * 1000;
  const temporal = env.temporalPprofUrls;
  const profiles: [string, Promise<Buffer>][] = [
    ['kube-apiserver', apiserverGet(`/debug/pprof/profile?seconds=${seconds}`, timeoutMs)],
    ['etcd', fetchBytes(`${etcdUrl}/debug/pprof/profile?seconds=${seconds}`, timeoutMs)],
    ...temporal.map((url, i): [string, Promise<Buffer>] => [
      temporal.length === 1 ? 'temporal' : `temporal-${i + 1}`,
      fetchBytes(`${url}/profile?seconds=${seconds}`, timeoutMs),
    ]),
  ];
  const saved: string[] = [];
  for (const [name, profile] of profiles) {
    try {
      writeFileSync(`${base}-${name}-cpu-${label}.pb.gz`, await profile);
      saved.push(name);
    } catch (error) {
      console.log(`# the CPU profile of ${name} at ${label} could not be read (${String(error)})`);
    }
  }
  console.log(
    `# saved CPU profiles at ${label} of ${saved.join(', ') || 'none'} (${base}-<process>-cpu-${label}.pb.gz)`,
  );
}

try {
  await installCrds(kc);
  // One worker runs as a single-worker installation does, without leader election (so its
  // controller's starts are eager); several elect a leader for the watcher and controller.
  const workerEnv = {
    ...(values.cache ? { SHEPHERD_MAX_CACHED_WORKFLOWS: values.cache } : {}),
    ...(workerCount === 1 ? { SHEPHERD_LEADER_ELECTION: 'false' } : {}),
  };
  // Each worker serves /metrics on its own port, for its event loop lag.
  const healthPorts = await freePorts(workerCount);
  for (const port of healthPorts) {
    workers.push(await startWorkerProcess({ ...workerEnv, SHEPHERD_HEALTH_PORT: String(port) }, workers[0]));
  }
  const worker = workers[0]!;
  console.log(
    `# Temporal: ${backend}${backend === 'postgres' ? ` (${values.shards} history shards)` : ''}; ${workerCount} worker${workerCount === 1 ? '' : 's'}${values.cache ? `, cache ${values.cache} each` : ''}`,
  );
  const namespace = 'bench';
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (values.policy || limit !== undefined) {
    const rules: NamespacePolicySpec = {
      allowedAgents: ['command'],
      allowedImages: ['shepherd/runner:*'],
      maxTimeout: '24h',
      maxRetries: 3,
      maxResources: { cpu: '4', memory: '8Gi' },
      maxWorkspaceSize: '100Gi',
      allowedNodeSelectorKeys: [],
      allowedTolerations: [],
      allowedPodMetadataPrefixes: ['kwok.shepherd.dev/'],
      usableSecrets: { matchLabels: { [USABLE_SECRET_LABEL]: 'true' } },
    };
    const spec: NamespacePolicySpec = {
      ...(values.policy ? rules : {}),
      ...(limit === undefined ? {} : { maxConcurrentSessions: limit }),
    };
    await objects.createPolicy(namespace, spec);
    console.log(
      `# the namespace has a NamespacePolicy${values.policy ? ' setting every rule' : ''}${
        limit === undefined ? '' : `, maxConcurrentSessions ${limit}`
      }`,
    );
  }
  const created = new Map<string, number>();
  const jobSeen = new Map<string, number>();
  const jobUids = new Map<string, Set<string>>();
  const podEnded = new Map<string, number>();
  const succeeded = new Map<string, number>();
  const running = new Set<string>();
  /** Why each Pending pod waits, by session. */
  const pending = new Map<string, string>();
  const claimPhases = new Map<string, string>();
  let held = 0;

  const informers = [
    k8s.makeInformer(kc, `/apis/batch/v1/namespaces/${namespace}/jobs`, () =>
      batch.listNamespacedJob({ namespace }),
    ),
    k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace })),
    k8s.makeInformer(
      kc,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL.agentSession}`,
      () =>
        custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL.agentSession,
        }) as never,
    ),
    k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () =>
      core.listNamespacedPersistentVolumeClaim({ namespace }),
    ),
  ] as const;
  const onJob = (job: k8s.V1Job) => {
    const session = job.metadata?.annotations?.['shepherd.dev/session-name'];
    if (!session) return;
    if (!jobSeen.has(session)) jobSeen.set(session, Date.now());
    const uids = jobUids.get(job.metadata!.name!) ?? new Set<string>();
    uids.add(job.metadata!.uid!);
    jobUids.set(job.metadata!.name!, uids);
  };
  informers[0].on('add', onJob);
  const onPod = (pod: k8s.V1Pod) => {
    const session = pod.metadata?.annotations?.['shepherd.dev/session-name'];
    if (!session) return;
    const state = pod.status?.containerStatuses?.[0]?.state;
    if (pod.status?.phase === 'Pending') pending.set(session, pendingCause(pod));
    else pending.delete(session);
    if (state?.running && !podEnded.has(session)) {
      running.add(session);
      held = Math.max(held, running.size);
    }
    if (!podEnded.has(session) && state?.terminated) {
      podEnded.set(session, Date.now());
      running.delete(session);
    }
  };
  informers[1].on('add', onPod);
  informers[1].on('update', onPod);
  const onSession = (s: AgentSession) => {
    if (s.status?.phase === 'Succeeded' && !succeeded.has(s.metadata.name))
      succeeded.set(s.metadata.name, Date.now());
  };
  informers[2].on('update', onSession as never);
  const onClaim = (claim: k8s.V1PersistentVolumeClaim) =>
    claimPhases.set(claim.metadata!.name!, claim.status?.phase ?? 'Pending');
  informers[3].on('add', onClaim);
  informers[3].on('update', onClaim);
  informers[3].on('delete', (claim) => claimPhases.delete(claim.metadata!.name!));
  for (const informer of informers) await informer.start();

  /** etcd's database: its size and the part in use, in MiB, and its quota. */
  let etcdPeakDbMiB = 0;
  let etcdQuotaMiB: number | undefined;
  let latestEtcdDb: { size: number; inUse: number } | undefined;
  const etcdDb = async () => {
    try {
      const text = await (await fetch(env.etcdMetricsUrl, { signal: AbortSignal.timeout(5000) })).text();
      const mib = (metric: string) => (metricValue(text, metric) ?? NaN) / 2 ** 20;
      const size = mib('etcd_mvcc_db_total_size_in_bytes');
      etcdQuotaMiB = mib('etcd_server_quota_backend_bytes');
      if (Number.isFinite(size)) etcdPeakDbMiB = Math.max(etcdPeakDbMiB, size);
      latestEtcdDb = { size, inUse: mib('etcd_mvcc_db_total_size_in_use_in_bytes') };
    } catch {
      latestEtcdDb = undefined;
    }
  };
  const peakRss = workers.map(() => 0);
  const rssSamples: { t: number; process: string; mib: number }[] = [];
  // The environment's processes too: on a long run the machine's memory, not a worker's, may run out.
  const envPeakRss = new Map<string, number>();
  const envRss = new Map<string, number>();
  let latestAvailableGiB: number | undefined;
  let leastAvailableGiB = Infinity;
  const sampleStarted = Date.now();
  let samples = 0;
  const sampler = setInterval(() => {
    const t = (Date.now() - sampleStarted) / 1000;
    workers.forEach((w, i) => {
      const mib = rssMiB(w.child.pid!);
      if (mib === undefined) return;
      peakRss[i] = Math.max(peakRss[i]!, mib);
      rssSamples.push({ t, process: `worker ${i + 1}`, mib });
    });
    latestAvailableGiB = availableGiB();
    leastAvailableGiB = Math.min(leastAvailableGiB, latestAvailableGiB ?? Infinity);
    samples += 1;
    if (samples % 5 !== 1) return;
    void etcdDb();
    envRss.clear();
    for (const [name, usage] of usageByName(env.processes)) envRss.set(name, usage.rssMiB);
    for (const [name, mib] of envRss) {
      envPeakRss.set(name, Math.max(envPeakRss.get(name) ?? 0, mib));
      rssSamples.push({ t, process: name, mib });
    }
    // etcd's memory has been what ends a long run: its profiles as it grows say what holds it.
    const etcdGiB = (envRss.get('etcd') ?? 0) / 1024;
    while (etcdGiB >= nextEtcdProfileGiB) {
      void etcdProfiles(`${nextEtcdProfileGiB}GiB`);
      nextEtcdProfileGiB *= 2;
    }
  }, 2000);
  let nextEtcdProfileGiB = 2;

  // Once a minute, what loads the control plane (the API server's reads of etcd, etcd's watchers),
  // and the cores each process used: on two cores, whoever takes them slows everyone else.
  const loadSamples: LoadSample[] = [];
  const cpuSamples: { t: number; cores: Record<string, number> }[] = [];
  let lastLoad: LoadCounters | undefined;
  let lastCpu: { atMs: number; ms: Map<string, number> } | undefined;
  const readCpu = () => {
    const processes = [
      ...env.processes,
      ...workers.map((w, i) => ({ name: `worker ${i + 1}`, pid: w.child.pid! })),
    ];
    const ms = new Map([...usageByName(processes)].map(([name, usage]) => [name, usage.cpuMs]));
    const now = { atMs: Date.now(), ms };
    if (lastCpu) {
      const cores = coresBetween(lastCpu.ms, now.ms, (now.atMs - lastCpu.atMs) / 1000);
      cpuSamples.push({
        t: Math.round((now.atMs - sampleStarted) / 1000),
        cores: Object.fromEntries(cores),
      });
    }
    lastCpu = now;
  };
  const readLoad = async () => {
    readCpu();
    try {
      const [apiserver, etcd] = await Promise.all([
        apiserverText('/metrics'),
        fetch(env.etcdMetricsUrl, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()),
      ]);
      const counters = loadCounters(Date.now(), apiserver, etcd);
      if (lastLoad) loadSamples.push(loadBetween(lastLoad, counters, sampleStarted));
      lastLoad = counters;
    } catch (error) {
      console.log(`#   control plane metrics could not be read (${String(error)})`);
    }
  };
  await readLoad();
  const loadSampler = setInterval(() => void readLoad(), 60_000);

  // Baseline: the same child objects created directly with the Kubernetes client, at the same
  // rate, with nothing in between: what a session start is compared with.
  const baselineCount = Math.min(total, 100);
  const baselineNs = 'bench-baseline';
  await core.createNamespace({ body: { metadata: { name: baselineNs } } });
  const baseline: number[] = [];
  console.log(
    `# baseline: ${baselineCount} sets of PVC, Secret, ServiceAccount, Role, RoleBinding and Job at ${rate}/s`,
  );
  const baselineStarted = Date.now();
  await Promise.all(
    Array.from({ length: baselineCount }, async (_, i) => {
      const due = baselineStarted + (i * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const t0 = Date.now();
      const resolved = resolveSession({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'AgentSession',
        metadata: {
          name: `b-${i}`,
          namespace: baselineNs,
          uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
        },
        spec: { agent: 'command', command: ['true'], image: 'shepherd/runner:bench' },
      });
      // No owner exists for these, so no ownerReferences (the garbage collector would delete them).
      const bare = <T extends { metadata?: k8s.V1ObjectMeta }>(object: T): T => ({
        ...object,
        metadata: { ...object.metadata, ownerReferences: [] },
      });
      const namespace = baselineNs;
      await Promise.all([
        core.createNamespacedPersistentVolumeClaim({ namespace, body: bare(buildSessionPvc(resolved)) }),
        core.createNamespacedSecret({ namespace, body: bare(buildSessionSecret(resolved, {})) }),
        core.createNamespacedServiceAccount({ namespace, body: bare(buildRunnerServiceAccount(resolved)) }),
        rbac.createNamespacedRole({ namespace, body: bare(buildRunnerRole(resolved)) }),
        rbac.createNamespacedRoleBinding({ namespace, body: bare(buildRunnerRoleBinding(resolved)) }),
      ]);
      await batch.createNamespacedJob({ namespace, body: bare(buildSessionJob(resolved, 1)) });
      baseline.push(Date.now() - t0);
    }),
  );
  await core.deleteNamespace({ name: baselineNs });

  console.log(`# creating ${total} sessions at ${rate}/s, each running ${durationS} s`);
  const scheduleBefore = await scheduleToStart();
  const started = Date.now();
  // Profiles still being taken when the run ends are waited for, not lost with the environment.
  const profiling: Promise<void>[] = [];
  const profilers = profileAtS.map((t) => setTimeout(() => profiling.push(cpuProfiles(`t${t}s`)), t * 1000));
  // Progress from the first session on, so a long run shows early whether the starts keep up.
  // The workers' leader Lease (the environment runs no other Shepherd worker), and who holds it.
  const leaderLease = async () => {
    const leases = await coordination.listLeaseForAllNamespaces();
    const lease = leases.items.find((l) => l.metadata?.name?.startsWith('shepherd-worker-'));
    return lease ? { holder: lease.spec?.holderIdentity ?? '' } : undefined;
  };
  const leaderIndex = (identity: string) => {
    const i = workers.findIndex((w) => identity.startsWith(`${w.child.pid}@`));
    return i < 0 ? identity : `worker ${i + 1}`;
  };
  const peakLagS = workers.map(() => 0);
  let leaseHolder: string | undefined;
  let leaseChanges = 0;
  const reporter = setInterval(() => {
    void (async () => {
      const rss = workers.map((w) => rssMiB(w.child.pid!)?.toFixed(0) ?? 'exited').join('/');
      const lags = await eventLoopLags(healthPorts);
      lags.forEach((lag, i) => {
        if (lag !== undefined) peakLagS[i] = Math.max(peakLagS[i]!, lag);
      });
      const lease = workerCount > 1 ? await leaderLease().catch(() => undefined) : undefined;
      if (lease?.holder) {
        if (leaseHolder !== undefined && lease.holder !== leaseHolder) leaseChanges += 1;
        leaseHolder = lease.holder;
      }
      const leader =
        leaseHolder === undefined ? '' : `, leader ${leaderIndex(leaseHolder)} (${leaseChanges} changes)`;
      const db = latestEtcdDb;
      const envLine = [...envRss]
        .sort(([, a], [, b]) => b - a)
        .map(([name, mib]) => `${name} ${mib.toFixed(0)}`)
        .join(', ');
      console.log(
        `# t+${fmt(Date.now() - started)}: created ${created.size}, jobs ${jobSeen.size}, pods pending ${pending.size}, running ${running.size}, pods ended ${podEnded.size}, succeeded ${succeeded.size}, worker RSS ${rss} MiB, event loop lag p99 ${lags.map((lag) => (lag === undefined ? '-' : lag.toFixed(2))).join('/')} s${leader}`,
      );
      const claims = [...claimPhases.values()];
      console.log(`#   pending: ${tally(pending.values()) || 'none'}; PVCs: ${tally(claims) || 'none'}`);
      // The minute's samples, printed once: by the progress line that follows them.
      const fresh = (sample: { t: number } | undefined) =>
        sample !== undefined && Date.now() - sampleStarted - sample.t * 1000 < 15_000;
      const load = loadSamples.at(-1);
      if (fresh(load)) console.log(`#   ${describeLoad(load!)}`);
      const cpu = cpuSamples.at(-1);
      if (fresh(cpu))
        console.log(
          `#   cores used: ${Object.entries(cpu!.cores)
            .filter(([, cores]) => cores >= 0.01)
            .map(([name, cores]) => `${name} ${cores}`)
            .join(', ')}`,
        );
      console.log(
        `#   available ${latestAvailableGiB?.toFixed(1) ?? '-'} GiB; etcd db ${db ? `${db.size.toFixed(0)} MiB (${db.inUse.toFixed(0)} in use)` : '-'}; RSS MiB: ${envLine}`,
      );
    })();
  }, 15_000);
  for (let i = 0; i < total && !interrupted; i += 1) {
    const name = `s-${String(i).padStart(4, '0')}`;
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    created.set(name, Date.now());
    void objects
      .createSession(
        namespace,
        name,
        {
          agent: 'command',
          command: ['true'],
          image: 'shepherd/runner:bench',
          podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.duration]: `${durationS}s` } },
        },
        worker.labels,
      )
      .catch((error: unknown) => console.error(`create ${name}: ${String(error)}`));
  }
  const deadline = Date.now() + durationS * 1000 + 600_000;
  while (succeeded.size < total && Date.now() < deadline && !interrupted) await sleep(1000);
  clearInterval(reporter);
  for (const profiler of profilers) clearTimeout(profiler);
  await Promise.all(profiling);
  clearInterval(sampler);
  clearInterval(loadSampler);
  if (interrupted || succeeded.size < total) await etcdProfiles('end');
  for (const informer of informers) await informer.stop();
  const scheduleP95 = histogramQuantile(0.95, bucketDelta(await scheduleToStart(), scheduleBefore)) * 1000;

  const startLatency = [...jobSeen].map(([name, at]) => at - created.get(name)!);
  const exitLatency = [...succeeded]
    .filter(([name]) => podEnded.has(name))
    .map(([name, at]) => at - podEnded.get(name)!);
  const duplicateJobs = [...jobUids.values()].filter((uids) => uids.size > 1).length;
  const jobObjects = [...jobUids.values()].reduce((n, uids) => n + uids.size, 0);
  const p = (samples: number[]) => ({ p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) });
  const result = {
    when: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    options: {
      sessions: total,
      rate,
      durationS,
      backend,
      historyShards: backend === 'postgres' ? Number(values.shards) : 1,
      workers: workerCount,
      cachePerWorker: values.cache ? Number(values.cache) : DEFAULT_MAX_CACHED_WORKFLOWS,
      policy: values.policy,
      limit: limit ?? null,
    },
    interrupted,
    created: created.size,
    held,
    succeeded: succeeded.size,
    start: p(startLatency),
    baseline: p(baseline),
    ratio: {
      p50: percentile(startLatency, 50) / percentile(baseline, 50),
      p99: percentile(startLatency, 99) / percentile(baseline, 99),
    },
    exitToStatus: p(exitLatency),
    workerPeakRssMiB: peakRss.map((mib) => Math.round(mib)),
    workerPeakEventLoopLagP99S: peakLagS.map((lag) => Number(lag.toFixed(3))),
    environmentPeakRssMiB: Object.fromEntries([...envPeakRss].map(([name, mib]) => [name, Math.round(mib)])),
    leastAvailableMemoryGiB: Number.isFinite(leastAvailableGiB) ? Number(leastAvailableGiB.toFixed(2)) : null,
    etcdPeakDbMiB: Math.round(etcdPeakDbMiB),
    etcdQuotaMiB: etcdQuotaMiB === undefined || Number.isNaN(etcdQuotaMiB) ? null : Math.round(etcdQuotaMiB),
    leaderLeaseChanges: workerCount > 1 ? leaseChanges : null,
    workflowTaskScheduleToStartP95Ms: Number.isNaN(scheduleP95) ? null : Math.round(scheduleP95),
    attempts: jobUids.size,
    jobsPerAttempt: jobUids.size === 0 ? null : jobObjects / jobUids.size,
    duplicateJobs,
    controlPlaneLoad: loadSamples,
    coresByProcess: cpuSamples,
  };
  console.log(
    `sessions: ${total}${interrupted ? ` (interrupted: ${created.size} created)` : ''}, held at once: ${held}, succeeded: ${succeeded.size}`,
  );
  console.log(`start (created → Job exists): p50 ${fmt(result.start.p50Ms)}, p99 ${fmt(result.start.p99Ms)}`);
  console.log(
    `baseline (same objects, direct client): p50 ${fmt(result.baseline.p50Ms)}, p99 ${fmt(result.baseline.p99Ms)}; ratio p50 ${result.ratio.p50.toFixed(1)}x, p99 ${result.ratio.p99.toFixed(1)}x`,
  );
  console.log(
    `exit → status Succeeded: p50 ${fmt(result.exitToStatus.p50Ms)}, p99 ${fmt(result.exitToStatus.p99Ms)}`,
  );
  console.log(`worker peak RSS: ${result.workerPeakRssMiB.map((mib) => `${mib} MiB`).join(', ')}`);
  console.log(
    `worker peak event loop lag p99: ${result.workerPeakEventLoopLagP99S.map((lag) => `${lag} s`).join(', ')}${
      result.leaderLeaseChanges === null
        ? ''
        : `; the leader Lease changed hands ${result.leaderLeaseChanges} times`
    }`,
  );
  console.log(
    `environment peak RSS: ${Object.entries(result.environmentPeakRssMiB)
      .map(([name, mib]) => `${name} ${mib} MiB`)
      .join(
        ', ',
      )}; least available memory ${result.leastAvailableMemoryGiB ?? '-'} GiB; etcd db peak ${result.etcdPeakDbMiB} MiB of ${result.etcdQuotaMiB ?? '-'} MiB quota`,
  );
  console.log(
    `workflow task schedule-to-start p95 (Temporal server): ${result.workflowTaskScheduleToStartP95Ms ?? '-'} ms`,
  );
  console.log(
    `attempts: ${result.attempts}, Jobs per attempt: ${result.jobsPerAttempt ?? '-'}, attempts with more than one Job: ${duplicateJobs}`,
  );
  const median = [...jobSeen].find(([name, at]) => at - created.get(name)! === result.start.p50Ms)?.[0];
  if (median) {
    // A saturated or interrupted run may not answer in time; the figures are written regardless.
    try {
      const timeline = await sessionTimeline(env.temporalAddress, namespace, median, created.get(median)!);
      console.log(`# the median start, ${median}: its workflow history, from the AgentSession's creation`);
      for (const line of timeline) console.log(`#   ${line}`);
      (result as Record<string, unknown>).medianStartTimeline = timeline;
    } catch (error) {
      console.log(`# the median start, ${median}: its workflow history could not be read (${String(error)})`);
    }
  }

  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    `${base}.png`,
    await renderPlot({
      title: `${total} sessions, ${workerCount} worker${workerCount === 1 ? '' : 's'}, Temporal ${backend}, ${rate}/s`,
      latencies: { start: startLatency, 'baseline (direct client)': baseline, 'exit → status': exitLatency },
      rss: rssSamples,
    }),
  );
  console.log(`# wrote ${base}.json and ${base}.png`);
} finally {
  for (const w of workers) await w.stop();
  // The control plane's logs outlive the environment, whose directory goes with it.
  const logs = join(env.dir, 'logs');
  mkdirSync(`${base}-logs`, { recursive: true });
  for (const file of readdirSync(logs)) copyFileSync(join(logs, file), join(`${base}-logs`, file));
  for (const w of workers) copyFileSync(w.logFile, join(`${base}-logs`, basename(w.logFile)));
  await env.stop();
}
