/**
 * The interceptors and sinks that make the worker observable, in one place for everything that
 * builds a worker or a workflow bundle: Temporal's OpenTelemetry interceptors (workflow, activity)
 * and Shepherd's activity interceptor (the client's are in client-interceptors.ts). The workflow interceptors run inside the
 * workflow bundle, so every bundle the worker may load (the production image's, the test run's,
 * the replay test's) is built with {@link WORKFLOW_INTERCEPTOR_MODULES}; they add spans, never
 * commands (what they do differently across SDK versions is behind the SDK's own flags), so
 * recorded histories still replay.
 */
import { createRequire as moduleRequire } from 'node:module';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Logger } from '../common/logger.js';
import { sessionActivityInterceptor } from './activity-interceptor.js';
import type { Tracing } from './tracing.js';
import type { WorkerMetrics } from './worker-metrics.js';

// Named apart from `createRequire` and `require`: the image's bundle declares both in its banner
// (src/runner/bundle.ts), and the same names here would be declared twice in its chunk.
const localRequire = moduleRequire(import.meta.url);

/** The modules of workflow interceptors every workflow bundle includes. */
export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [
  localRequire.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * The worker's interceptors, logging each activity attempt to `logger`. `bundled`: the workflow code is a pre-built bundle, which carries
 * its workflow interceptors already.
 */
export function workerInterceptors(
  metrics: WorkerMetrics,
  logger: Logger,
  bundled: boolean,
): WorkerInterceptors {
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
      sessionActivityInterceptor(metrics, logger),
    ],
    ...(bundled ? {} : { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] }),
  };
}

/** The sink the workflow interceptors hand their spans to: the process's span processor. */
export function workflowSpanSinks(
  tracing: Pick<Tracing, 'spanProcessor' | 'resource'>,
): InjectedSinks<OpenTelemetrySinks> {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}
