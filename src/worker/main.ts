/**
 * `npm run worker`: the Shepherd worker process (workflows, Kubernetes activities, Job/Pod watcher,
 * AgentSession controller), configured from the environment (see config.ts).
 */
import { pino } from 'pino';
import { workerConfigFromEnv } from './config.js';
import { startHealthServer } from './health-server.js';
import { startSessionWorker } from './session-worker.js';

const config = workerConfigFromEnv();
const logger = pino({ level: config.logLevel, base: { service: 'shepherd-worker' } });
const worker = await startSessionWorker(config, logger);
const health =
  config.healthPort === undefined
    ? undefined
    : await startHealthServer(config.healthPort, () => worker.polling());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    void worker.stop();
  });
}
try {
  await worker.done;
  health?.close();
  process.exit(0);
} catch {
  process.exit(1);
}
