/**
 * `npm run worker`: the Shepherd worker process (workflows, Kubernetes activities, Job/Pod watcher,
 * AgentSession controller), configured from the environment (see config.ts; tracing from the
 * standard OTEL_* variables, see observability/tracing.ts).
 */
import { pino } from 'pino';
import { sessionLogFields } from '../observability/session-context.js';
import { startTracing } from '../observability/tracing.js';
import { workerConfigFromEnv } from './config.js';
import { startHealthServer } from './health-server.js';
import { startSessionWorker } from './session-worker.js';

const config = workerConfigFromEnv();
const tracing = startTracing('shepherd-worker');
const logger = pino({
  level: config.logLevel,
  base: { service: 'shepherd-worker' },
  mixin: sessionLogFields,
});
const worker = await startSessionWorker(config, logger, tracing);
const health =
  config.healthPort === undefined
    ? undefined
    : await startHealthServer(config.healthPort, () => worker.polling(), worker.metrics.registry);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    void worker.stop();
  });
}
try {
  await worker.done;
  health?.close();
  await tracing.shutdown().catch(() => undefined);
  process.exit(0);
} catch {
  await tracing.shutdown().catch(() => undefined);
  process.exit(1);
}
