/**
 * The API's Prometheus metrics, in a registry of its own (not prom-client's global one) so two
 * apps in one process — tests do that — never clash over metric names.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The metrics the app records. */
export interface ApiMetrics {
  registry: Registry;
  /** Request latency by method, route pattern (never the raw URL: bounded cardinality) and status. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Sessions created through the API, by runtime. */
  sessionsCreated: Counter<'runtime'>;
  /** Stop, restart, delete, prompt, answer and approve requests accepted, by action and runtime. */
  sessionActions: Counter<'action' | 'runtime'>;
  /**
   * Webhook deliveries by source and outcome: accepted, duplicate, ignored, challenge, refused
   * (bad signature), invalid (authentic but malformed), busy (the start queue was full).
   */
  webhookDeliveries: Counter<'source' | 'outcome'>;
}

/**
 * Creates the registry and metrics.
 *
 * @param processMetrics Also collect Node's process metrics (memory, event loop lag, GC).
 */
export function createApiMetrics(processMetrics = true): ApiMetrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'shepherd_api_http_request_duration_seconds',
      help: 'Duration of HTTP requests to the Shepherd API.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    sessionsCreated: new Counter({
      name: 'shepherd_api_sessions_created_total',
      help: 'Sessions created through the API.',
      labelNames: ['runtime'],
      registers: [registry],
    }),
    sessionActions: new Counter({
      name: 'shepherd_api_session_actions_total',
      help: 'Stop, restart, delete, prompt, answer and approve requests accepted by the API.',
      labelNames: ['action', 'runtime'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'shepherd_api_webhook_deliveries_total',
      help: 'Webhook deliveries received, by source and outcome.',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
  };
}
