/**
 * The interceptors and sinks that make the worker observable, in one place for everything that
 * builds a worker or a workflow bundle: Temporal's OpenTelemetry interceptors (workflow, activity)
 * and Shepherd's activity interceptor (the client's are in client-interceptors.ts).
 *
 * The workflow interceptors are compiled into the workflow bundle and run in every activation of
 * every cached workflow, so a bundle carries them only when the worker traces: a pre-built bundle
 * comes in two variants, plain and traced (src/worker/workflow-bundle.ts), and the worker loads
 * the one its OTEL_* settings call for. They add spans, never commands (what they do differently across SDK
 * versions is behind the SDK's own flags), so recorded histories replay on either variant.
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

/** The workflow interceptor modules of a bundle for a worker that traces (`traced`) or not. */
export function workflowInterceptorModules(traced: boolean): string[] {
  return traced
    ? [localRequire.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')]
    : [];
}

/**
 * The worker's interceptors, logging each activity attempt to `logger`. `workflowModules`: the
 * workflow interceptors to compile in when the worker bundles the workflow sources itself (a
 * pre-built bundle carries its own).
 */
export function workerInterceptors(
  metrics: WorkerMetrics,
  logger: Logger,
  workflowModules: string[],
): WorkerInterceptors {
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
      sessionActivityInterceptor(metrics, logger),
    ],
    workflowModules,
  };
}

/** The sink the workflow interceptors hand their spans to: the process's span processor. */
export function workflowSpanSinks(
  tracing: Pick<Tracing, 'spanProcessor' | 'resource'>,
): InjectedSinks<OpenTelemetrySinks> {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}
