/**
 * The interceptors of every Temporal client the worker and the API make: starting a workflow,
 * signalling it and sending it an update become spans, and the caller's trace context travels in
 * the request's headers, so the workflow's spans continue the trace that asked for them.
 */
import type { ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';

/** Temporal's OpenTelemetry client interceptor (a no-op while tracing is off). */
export function clientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}
