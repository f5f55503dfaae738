/**
 * What the worker shows an operator without a cluster: its metrics endpoint reports a session's
 * start, turns and end once however often the same status is written, with the reason it ended;
 * spans leave the process naming their session; and tracing stays off unless an OTLP endpoint is
 * named, refusing settings it cannot honour with the variable named.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  InMemorySpanExporter,
  BasicTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { AgentSessionStatus } from '../../src/resources/types.js';
import { sessionSpanExporter } from '../../src/observability/session-span-exporter.js';
import { tracingWanted } from '../../src/observability/tracing.js';
import { createWorkerMetrics } from '../../src/observability/worker-metrics.js';
import { startHealthServer } from '../../src/worker/health-server.js';

const condition = (type: string, status: 'True' | 'False', reason: string, at: string) => ({
  type,
  status,
  reason,
  message: '',
  lastTransitionTime: at,
});

describe('the worker metrics', () => {
  it('count a session’s start, turn and end once each, with the final phase and reason, on /metrics', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    const source = { workflowId: 'agent-session/team-a/fix', runId: 'run-1' };
    const running: AgentSessionStatus = {
      phase: 'Running',
      startTime: '2026-01-01T00:00:00Z',
      conditions: [condition('JobCreated', 'True', 'Created', '2026-01-01T00:00:02Z')],
      turns: [
        {
          number: 1,
          source: 'api',
          startTime: '2026-01-01T00:00:02Z',
          completionTime: '2026-01-01T00:01:02Z',
          result: 'Succeeded',
        },
      ],
    };
    const done: AgentSessionStatus = {
      ...running,
      phase: 'Succeeded',
      completionTime: '2026-01-01T00:02:00Z',
      conditions: [
        ...running.conditions!,
        condition('Completed', 'True', 'RunnerSucceeded', '2026-01-01T00:02:00Z'),
      ],
    };
    // A retried write and a later write of the same run count nothing twice.
    for (const status of [running, running, done, done]) metrics.observeStatus(source, status);
    metrics.observeActivity('launchRunner', 12, 340, 'ok');
    metrics.observeRunnerSignal(
      { kind: 'ended', attempt: 1, termination: { exitCode: 0, reason: 'Completed' } },
      25,
      new Date(Date.now() - 60_000),
    );

    const server = await startHealthServer(0, () => true, metrics.registry);
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /^shepherd_session_start_seconds_count 1$/m);
      assert.match(text, /^shepherd_session_start_seconds_sum 2$/m);
      assert.match(text, /^shepherd_turn_duration_seconds_count\{result="Succeeded"\} 1$/m);
      assert.match(text, /^shepherd_session_exits_total\{phase="Succeeded",reason="RunnerSucceeded"\} 1$/m);
      assert.match(text, /^shepherd_session_duration_seconds_sum\{phase="Succeeded"\} 120$/m);
      assert.match(text, /^shepherd_activity_schedule_to_start_seconds_count\{activity="launchRunner"\} 1$/m);
      assert.match(text, /^shepherd_runner_watcher_lag_seconds_count\{event="ended"\} 1$/m);
      assert.match(text, /^shepherd_attempt_duration_seconds_count\{reason="Completed"\} 1$/m);
    } finally {
      server.close();
    }
  });
});

describe('the spans the worker exports', () => {
  it('name their session, read from the Temporal workflow id, and leave other spans alone', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(sessionSpanExporter(exporter))],
    });
    const tracer = provider.getTracer('test');
    tracer
      .startSpan('RunActivity:launchRunner', {
        attributes: { temporalWorkflowId: 'agent-session/team-a/fix' },
      })
      .end();
    tracer
      .startSpan('RunWorkflow:agentSessionWorkflow', {
        attributes: { workflowId: 'agent-session/team-b/docs' },
      })
      .end();
    tracer
      .startSpan('RunWorkflow:namespaceWorkflow', { attributes: { workflowId: 'shepherd-namespace/team-a' } })
      .end();
    await provider.forceFlush();
    const byName = new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
    assert.equal(byName.get('RunActivity:launchRunner')?.attributes['shepherd.session'], 'fix');
    assert.equal(byName.get('RunActivity:launchRunner')?.attributes['shepherd.namespace'], 'team-a');
    assert.equal(byName.get('RunWorkflow:agentSessionWorkflow')?.attributes['shepherd.session'], 'docs');
    assert.equal(byName.get('RunWorkflow:namespaceWorkflow')?.attributes['shepherd.session'], undefined);
    assert.ok(
      (byName.get('RunActivity:launchRunner')?.duration[1] ?? -1) >= 0,
      'the span’s own fields still read',
    );
  });
});

describe('tracing configuration', () => {
  it('is off by default and when disabled; on with an OTLP endpoint', () => {
    assert.equal(tracingWanted({}), false);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
    assert.equal(
      tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }),
      true,
    );
    assert.equal(
      tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
      false,
    );
    assert.equal(
      tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
      false,
    );
  });

  it('refuses an exporter or protocol it lacks, naming the variable and the fix', () => {
    assert.throws(
      () => tracingWanted({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
      /OTEL_TRACES_EXPORTER="zipkin".*set it to otlp or none/,
    );
    assert.throws(
      () =>
        tracingWanted({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }),
      /OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported.*http\/protobuf/,
    );
  });
});
