/**
 * One session, watched as an operator watches it: the API and the worker export their spans over
 * OTLP to a real OpenTelemetry Collector, and the session's trace is read back from what the
 * collector wrote. It runs unbroken from the API request through the Temporal client's start,
 * the workflow and its activities down to the Kubernetes calls that made the runner's Job, and
 * every span of it names the session. The worker's and the API's /metrics count the session, its
 * attempt and how it ended, and the worker's activity log lines carry namespace, session and
 * attempt.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../../src/api/app.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { freePorts } from '../../src/processes/ports.js';
import { clientInterceptors } from '../../src/observability/client-interceptors.js';
import { traceKubernetesCalls } from '../../src/observability/kubernetes-spans.js';
import { startTracing, type Tracing } from '../../src/observability/tracing.js';
import { kubernetesAuthenticator } from '../../src/runtime/kubernetes/kubernetes-auth.js';
import { kubernetesBackend } from '../../src/runtime/kubernetes/kubernetes-backend.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig, processKubeConfig } from '../support/kube.js';
import {
  aliceHeaders,
  createApiNamespace,
  fakeRunSession,
  grantSessions,
} from '../support/kubernetes-api.js';
import { type CollectedSpan, type OtelCollector, startOtelCollector } from '../support/otel-collector.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = shepherdObjects(kc);

let collector: OtelCollector;
let worker: WorkerProcess;
let workerMetricsUrl: string;
let tracing: Tracing;
let connection: Connection;
let server: RunningServer;
let ns: string;

before(async () => {
  await installCrds(kc);
  collector = await startOtelCollector();
  // Short batches, so the test need not wait the default 5 s for each export.
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' };
  const [healthPort] = await freePorts(1);
  workerMetricsUrl = `http://127.0.0.1:${healthPort}/metrics`;
  worker = await startWorkerProcess({
    ...otel,
    SHEPHERD_HEALTH_PORT: String(healthPort),
    LOG_LEVEL: 'debug',
    // The API starts the session's workflow right after it creates the AgentSession; a controller
    // seeing the new object may start it first (either start is the same run), and the trace
    // would then begin at the controller. The trace asserted here is the API's.
    SHEPHERD_CONTROLLER: 'false',
  });
  // The API in this process, assembled as its main assembles it.
  Object.assign(process.env, otel);
  tracing = startTracing('shepherd-api');
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  const client = new Client({ connection, interceptors: clientInterceptors() });
  const apiKube = traceKubernetesCalls(processKubeConfig('api'), tracing.tracer);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const app = await buildApp({
    backend: kubernetesBackend({ kubeConfig: apiKube, client, taskQueue: worker.taskQueue, logger: silent }),
    auth: kubernetesAuthenticator({ kubeConfig: apiKube }),
    metrics: createApiMetrics(false),
    tracer: tracing.tracer,
    auditLogger: silent,
  });
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
  ns = await createApiNamespace(kc, 'observe');
  await grantSessions(kc, ns, 'alice');
});

after(async () => {
  await server?.close();
  await worker?.stop();
  await tracing?.shutdown();
  await connection?.close();
  await collector?.stop();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

const ms = (span: CollectedSpan) =>
  (Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6).toFixed(1);

/** The chain of span names from `span` up to the trace's root. */
function ancestry(span: CollectedSpan, byId: Map<string, CollectedSpan>): string[] {
  const names = [span.name];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId))
    names.push(parent.name);
  return names;
}

test('one session’s trace runs from the API request to the Kubernetes calls, every span naming the session; the metrics count it', async () => {
  const name = 'traced';
  const response = await fetch(`${server.url}/api/v1/namespaces/${ns}/sessions`, {
    method: 'POST',
    headers: { ...aliceHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify(fakeRunSession(name, worker.labels, { exitCode: 0, duration: '2s' })),
  });
  assert.equal(response.status, 201, await response.text());
  const done = await eventually(
    'the session to end',
    () => objects.readSession(ns, name),
    (s) => ['Succeeded', 'Failed', 'Stopped', 'TimedOut'].includes(s.status?.phase ?? ''),
    180_000,
  );
  assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  await tracing.spanProcessor.forceFlush();

  const found = await eventually(
    'the API request span',
    () => Promise.resolve(collector.spans().find((s) => s.name === 'POST /api/v1/namespaces/:ns/sessions')),
    (s) => s !== undefined,
    30_000,
  );
  const request = found!;
  const traceSpans = (spans: CollectedSpan[]) => spans.filter((s) => s.traceId === request.traceId);
  // The workflow's span ends with the workflow, and reaches the collector with the worker's next batch.
  const spans = traceSpans(
    await eventually(
      'the workflow’s spans',
      () => Promise.resolve(collector.spans()),
      (all) =>
        traceSpans(all).some((s) => s.name === 'RunWorkflow:agentSessionWorkflow') &&
        traceSpans(all).some((s) => s.name === 'kubernetes createNamespacedJob'),
      60_000,
    ),
  );
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  // The report's trace: every span of the session, in the order they started.
  const sorted = [...spans].sort((a, b) =>
    BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1,
  );
  console.log(`# trace ${request.traceId}: ${spans.length} spans`);
  for (const span of sorted) {
    const depth = ancestry(span, byId).length - 1;
    console.log(`# ${'  '.repeat(depth)}${span.name} [${span.service}] ${ms(span)} ms`);
  }

  // One trace, API → workflow → activities → Kubernetes.
  const names = new Set(spans.map((s) => s.name));
  for (const expected of [
    'POST /api/v1/namespaces/:ns/sessions',
    'kubernetes createNamespacedCustomObject',
    'StartWorkflow:agentSessionWorkflow',
    'RunWorkflow:agentSessionWorkflow',
    'StartActivity:launchRunner',
    'RunActivity:launchRunner',
    'kubernetes createNamespacedJob',
    'RunActivity:mirrorStatus',
  ]) {
    assert.ok(names.has(expected), `the trace has no ${expected}: ${[...names].join(', ')}`);
  }
  const job = spans.find((s) => s.name === 'kubernetes createNamespacedJob')!;
  assert.deepEqual(ancestry(job, byId).slice(0, 2), [
    'kubernetes createNamespacedJob',
    'RunActivity:launchRunner',
  ]);
  assert.equal(
    ancestry(job, byId).at(-1),
    'POST /api/v1/namespaces/:ns/sessions',
    'the Job’s call leads back to the request',
  );
  assert.equal(job.service, 'shepherd-worker');
  assert.equal(request.service, 'shepherd-api');
  for (const span of spans) {
    // Each read of the collector's file parses new objects: the request is known by its id.
    if (span.spanId !== request.spanId)
      assert.ok(byId.has(span.parentSpanId), `${span.name} hangs from a span outside the trace`);
    assert.equal(span.attributes['shepherd.session'], name, `${span.name} does not name the session`);
    assert.equal(span.attributes['shepherd.namespace'], ns, `${span.name} does not name the namespace`);
  }
  assert.equal(spans.find((s) => s.name === 'RunActivity:launchRunner')?.attributes['shepherd.attempt'], 1);

  // The worker's metrics: the session's phase, its attempt, how it ended, the watcher's lag.
  const workerMetrics = await eventually(
    'the worker to count the session Succeeded',
    () => fetch(workerMetricsUrl).then((r) => r.text()),
    (text) => /^shepherd_sessions\{phase="Succeeded"\} [1-9]/m.test(text),
    60_000,
  );
  assert.match(workerMetrics, /^shepherd_session_exits_total\{phase="Succeeded",reason="[A-Za-z]+"\} 1$/m);
  // The watcher sees every runner of the cluster, other test files' too: at least this one's.
  assert.match(workerMetrics, /^shepherd_attempt_duration_seconds_count\{reason="[A-Za-z]+"\} [1-9]\d*$/m);
  assert.match(workerMetrics, /^shepherd_session_start_seconds_count 1$/m);
  assert.match(workerMetrics, /^shepherd_runner_watcher_lag_seconds_count\{event="ended"\} [1-9]\d*$/m);
  assert.match(
    workerMetrics,
    /^shepherd_activity_schedule_to_start_seconds_count\{activity="launchRunner"\} 1$/m,
  );
  const apiMetrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(apiMetrics, /^shepherd_api_sessions_created_total\{runtime="kubernetes"\} 1$/m);

  // The worker's log: the launch, in the session's scope and trace.
  const launched = readFileSync(worker.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find(
      (line) =>
        line.msg === 'activity completed' && line.activity === 'launchRunner' && line.session === name,
    );
  assert.ok(launched, `no log line of the launch in ${worker.logFile}`);
  assert.equal(launched.namespace, ns);
  assert.equal(launched.attempt, 1);
  assert.equal(launched.trace_id, request.traceId);
});
