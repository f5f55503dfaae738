/**
 * Puts the session on every span before it leaves the process: `shepherd.namespace` and
 * `shepherd.session`. Temporal's interceptors name only the workflow id on their spans (the
 * workflow's own spans get it as `workflowId` from the sink, client and activity spans as
 * `temporalWorkflowId`), and a session's workflow id is `agent-session/<namespace>/<name>`, so the
 * session is read from it; Shepherd's own spans set the attributes themselves. An exporter
 * wrapper rather than a span processor, because the workflow id is set after a span starts.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { parseSessionWorkflowId } from '../workflows/session-contract.js';

/** The span attribute naming the session's Kubernetes namespace (tenant). */
export const NAMESPACE_ATTRIBUTE = 'shepherd.namespace';
/** The span attribute naming the session inside its namespace. */
export const SESSION_ATTRIBUTE = 'shepherd.session';

/** The session attributes of a span with these attributes, derived from a workflow id if need be. */
export function sessionAttributes(attributes: Attributes): Attributes {
  if (typeof attributes[SESSION_ATTRIBUTE] === 'string') return {};
  const workflowId = attributes.temporalWorkflowId ?? attributes.workflowId;
  const ref = typeof workflowId === 'string' ? parseSessionWorkflowId(workflowId) : undefined;
  return ref ? { [NAMESPACE_ATTRIBUTE]: ref.namespace, [SESSION_ATTRIBUTE]: ref.name } : {};
}

/** Wraps `exporter` so that the spans it exports name their session. */
export function sessionSpanExporter(exporter: SpanExporter): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      const named = spans.map((span) => {
        const extra = sessionAttributes(span.attributes);
        if (Object.keys(extra).length === 0) return span;
        // The span's other fields (some of them getters) are read through the prototype.
        return Object.create(span, {
          attributes: { value: { ...span.attributes, ...extra }, enumerable: true },
        }) as ReadableSpan;
      });
      exporter.export(named, done);
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
}
