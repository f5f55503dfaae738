/**
 * OpenTelemetry tracing for the worker and the API, configured only by the standard OTEL_*
 * variables and off unless an OTLP endpoint is named: OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns it on, OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none keeps it off. Spans go out over OTLP/HTTP protobuf in batches (the
 * exporter reads the endpoint, headers and timeout itself, the batch processor OTEL_BSP_*), with
 * the resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The SDK is the 1.x line,
 * because that is what @temporalio/interceptors-opentelemetry builds on.
 *
 * Off, nothing is registered: the OpenTelemetry API's tracers are no-ops, and the workflow span
 * sink gets a processor that drops everything.
 */
import { type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { sessionSpanExporter } from './session-span-exporter.js';

/** The tracing of one process. */
export interface Tracing {
  /** Whether spans are exported. */
  enabled: boolean;
  /** Shepherd's own tracer (API requests, Kubernetes calls). */
  tracer: Tracer;
  /** Where the workflow's spans (made in the sandbox, handed out through a sink) are sent. */
  spanProcessor: SpanProcessor;
  /** The process's resource: service name and OTEL_RESOURCE_ATTRIBUTES. */
  resource: Resource;
  /** Exports what is buffered and stops; bounded by the exporter's timeout. */
  shutdown(): Promise<void>;
}

/** The OTLP protocols the exporter speaks. */
const PROTOCOL = 'http/protobuf';

/**
 * Whether `env` asks for traces to be exported.
 *
 * @throws Error naming the variable when it asks for an exporter or protocol Shepherd lacks.
 */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  const unknown = exporters.find((name) => name !== 'otlp');
  if (unknown) {
    throw new Error(
      `OTEL_TRACES_EXPORTER="${env.OTEL_TRACES_EXPORTER}" names "${unknown}": Shepherd exports traces only over OTLP; set it to otlp or none`,
    );
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name];
    if (protocol !== undefined && protocol !== '' && protocol !== PROTOCOL) {
      throw new Error(
        `${name}="${protocol}" is not supported: Shepherd exports traces over OTLP/HTTP; set it to ${PROTOCOL} (port 4318 of a collector)`,
      );
    }
  }
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Starts tracing for the process `serviceName` (the default of OTEL_SERVICE_NAME) when `env`
 * asks for it, registering the tracer provider and W3C trace-context propagation globally.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  const resource = new Resource({ 'service.name': serviceName }).merge(
    detectResourcesSync({ detectors: [envDetectorSync] }),
  );
  if (!tracingWanted(env)) {
    return {
      enabled: false,
      tracer: trace.getTracer('shepherd'),
      spanProcessor: new NoopSpanProcessor(),
      resource,
      shutdown: () => Promise.resolve(),
    };
  }
  const spanProcessor = new BatchSpanProcessor(sessionSpanExporter(new OTLPTraceExporter()));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    enabled: true,
    tracer: provider.getTracer('shepherd'),
    spanProcessor,
    resource,
    shutdown: () => provider.shutdown(),
  };
}
