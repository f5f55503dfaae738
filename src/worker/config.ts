/**
 * Worker configuration from the environment. Only the worker's `main` reads it; everything else
 * takes its dependencies as arguments.
 */
import { SESSION_TASK_QUEUE } from '../workflows/session-contract.js';

/** What the worker needs to know. */
export interface WorkerConfig {
  /** Temporal frontend `host:port` (`TEMPORAL_ADDRESS`). @default 127.0.0.1:7233 */
  temporalAddress: string;
  /** Temporal namespace (`TEMPORAL_NAMESPACE`). @default default */
  temporalNamespace: string;
  /** Task queue (`SHEPHERD_TASK_QUEUE`). @default shepherd-sessions */
  taskQueue: string;
  /** Kubeconfig file (`KUBECONFIG`); unset means in-cluster, else ~/.kube/config. */
  kubeconfig?: string;
  /** Only AgentSessions matching this label selector are started by this worker's controller (`SHEPHERD_SESSION_SELECTOR`). */
  sessionSelector?: string;
  /** Run the CR controller (`SHEPHERD_CONTROLLER`, "false" to disable). @default true */
  controller: boolean;
  /** pino level (`LOG_LEVEL`). @default info */
  logLevel: string;
}

/** Reads {@link WorkerConfig} from `env`; throws naming the variable on a bad value. */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const controller = env.SHEPHERD_CONTROLLER ?? 'true';
  if (controller !== 'true' && controller !== 'false') {
    throw new Error(`SHEPHERD_CONTROLLER must be "true" or "false", not "${controller}"`);
  }
  return {
    temporalAddress: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.SHEPHERD_TASK_QUEUE ?? SESSION_TASK_QUEUE,
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
    ...(env.SHEPHERD_SESSION_SELECTOR ? { sessionSelector: env.SHEPHERD_SESSION_SELECTOR } : {}),
    controller: controller === 'true',
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}
