/**
 * API configuration from the environment. Only the API's `main` reads it.
 */
import { type TemporalConnectOptions, temporalTarget } from '../common/temporal-connection.js';
import { defaultPolicyFromEnv } from '../policy/effective-policy.js';
import type { NamespacePolicySpec } from '../resources/types.js';
import { parseWatchNamespaces } from '../reconcile/watch-scope.js';
import { defaultDataDir } from '../runtime/local/local-sessions.js';
import { SESSION_TASK_QUEUE } from '../workflows/session-contract.js';

/** What the API needs to know. */
export interface ApiConfig {
  /** `SHEPHERD_RUNTIME`: `kubernetes` (AgentSession CRs) or `local` (workflows only). @default kubernetes */
  runtime: 'kubernetes' | 'local';
  /** `SHEPHERD_API_HOST`. @default 0.0.0.0 on kubernetes, 127.0.0.1 locally */
  host: string;
  /**
   * Local mode on a loopback host: answer only requests addressed to loopback (DNS rebinding).
   * Derived from `runtime` and `host`.
   */
  loopbackOnly: boolean;
  /** `SHEPHERD_API_PORT`. @default 8080 */
  port: number;
  /** `TEMPORAL_ADDRESS` (default 127.0.0.1:7233) with TLS, API key and gRPC metadata (`TEMPORAL_TLS*`, `TEMPORAL_API_KEY`, …). */
  temporalConnection: TemporalConnectOptions;
  /** `TEMPORAL_NAMESPACE`. @default default */
  temporalNamespace: string;
  /** `SHEPHERD_TASK_QUEUE`. @default shepherd-sessions */
  taskQueue: string;
  /** `KUBECONFIG`; unset means in-cluster, else ~/.kube/config. */
  kubeconfig?: string;
  /**
   * The namespaces the API serves (`SHEPHERD_WATCH_NAMESPACES`, comma-separated): AgentTriggers
   * are watched in each of them instead of across the cluster, and `/user/namespaces` offers only
   * them, so a Role per namespace is enough. Unset: every namespace.
   */
  watchNamespaces?: readonly string[];
  /** `SHEPHERD_API_TOKEN`: local mode's static bearer token. */
  apiToken?: string;
  /** `SHEPHERD_DATA_DIR`: local mode's data directory (runner logs). @default ~/.local/share/shepherd */
  dataDir: string;
  /** `LOG_LEVEL`. @default info */
  logLevel: string;
  /**
   * `SHEPHERD_TRIGGERS_FILE`: local mode's AgentTriggers and their Secrets (multi-document YAML,
   * as `kubectl apply` takes them), read again when it changes. Unset: no triggers, and every
   * webhook delivery is refused. On Kubernetes the AgentTriggers of the cluster are used.
   */
  triggersFile?: string;
  /**
   * `SHEPHERD_DEFAULT_POLICY`: the NamespacePolicy spec (JSON) of namespaces without one of their
   * own, as the worker has it (the chart's `defaultPolicy`). Unset: no limits.
   */
  defaultPolicy?: NamespacePolicySpec;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Reads {@link ApiConfig} from `env`; throws naming the variable on a bad value. */
export function apiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const runtime = env.SHEPHERD_RUNTIME ?? 'kubernetes';
  if (runtime !== 'kubernetes' && runtime !== 'local') {
    throw new Error(`SHEPHERD_RUNTIME must be "kubernetes" or "local", not "${runtime}"`);
  }
  const port = Number(env.SHEPHERD_API_PORT ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SHEPHERD_API_PORT must be a port number, not "${env.SHEPHERD_API_PORT}"`);
  }
  const host = env.SHEPHERD_API_HOST ?? (runtime === 'local' ? '127.0.0.1' : '0.0.0.0');
  if (runtime === 'local' && !LOOPBACK.has(host) && !env.SHEPHERD_API_TOKEN) {
    // Local mode has no RBAC: off loopback, anyone who can reach the port could run commands.
    throw new Error(
      `SHEPHERD_API_HOST=${host} exposes the local API beyond this machine; set SHEPHERD_API_TOKEN too, or listen on 127.0.0.1`,
    );
  }
  if (env.SHEPHERD_TRIGGERS_FILE && runtime !== 'local') {
    throw new Error(
      'SHEPHERD_TRIGGERS_FILE is for the local runtime; on Kubernetes apply the AgentTriggers and their Secrets to the cluster instead',
    );
  }
  const temporal = temporalTarget(env);
  const watchNamespaces = parseWatchNamespaces(env.SHEPHERD_WATCH_NAMESPACES, 'SHEPHERD_WATCH_NAMESPACES');
  return {
    runtime,
    host,
    loopbackOnly: runtime === 'local' && LOOPBACK.has(host),
    port,
    temporalConnection: temporal.connection,
    temporalNamespace: temporal.namespace,
    taskQueue: env.SHEPHERD_TASK_QUEUE ?? SESSION_TASK_QUEUE,
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
    ...(watchNamespaces ? { watchNamespaces } : {}),
    ...(env.SHEPHERD_API_TOKEN ? { apiToken: env.SHEPHERD_API_TOKEN } : {}),
    dataDir: defaultDataDir(env),
    logLevel: env.LOG_LEVEL ?? 'info',
    ...(env.SHEPHERD_TRIGGERS_FILE ? { triggersFile: env.SHEPHERD_TRIGGERS_FILE } : {}),
    ...(env.SHEPHERD_DEFAULT_POLICY ? { defaultPolicy: defaultPolicyFromEnv(env) } : {}),
  };
}
