/**
 * Worker configuration from the environment. Only the worker's `main` reads it; everything else
 * takes its dependencies as arguments.
 */
import { defaultPolicyFromEnv } from '../policy/effective-policy.js';
import type { NamespacePolicySpec } from '../resources/types.js';
import { type TemporalConnectOptions, temporalTarget } from '../common/temporal-connection.js';
import { type ForgeConfig, parseForgesConfig } from '../forges/forge-registry.js';
import { isIP } from 'node:net';
import { parseWatchNamespaces } from '../reconcile/watch-scope.js';
import type { EgressHosts } from '../runtime/kubernetes/builders/session-network-policy.js';
import { defaultDataDir } from '../runtime/local/local-sessions.js';
import { type LeaderElectionConfig, leaderElectionFromEnv } from './leader-election-config.js';
import { SESSION_TASK_QUEUE, type SessionRuntime } from '../workflows/session-contract.js';

/** What the worker needs to know. */
/**
 * Session workflows a worker caches unless told otherwise: about 0.7 MiB each, so with the
 * worker's own few hundred MiB a worker stays within the chart's 2 GiB memory limit however many
 * sessions it serves (BENCHMARKS.md).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 1000;

export interface WorkerConfig {
  /** Where sessions run (`SHEPHERD_RUNTIME`): `kubernetes` or `local`. @default kubernetes */
  runtime: SessionRuntime;
  /** The local runtime's data directory (`SHEPHERD_DATA_DIR`). @default ~/.local/share/shepherd */
  dataDir: string;
  /**
   * Where and how to reach Temporal: the frontend `host:port` (`TEMPORAL_ADDRESS`, default
   * 127.0.0.1:7233) with TLS, API key and gRPC metadata (`TEMPORAL_TLS*`, `TEMPORAL_API_KEY`,
   * `TEMPORAL_GRPC_META_*`, or a `TEMPORAL_CONFIG_FILE` profile).
   */
  temporalConnection: TemporalConnectOptions;
  /** Temporal namespace (`TEMPORAL_NAMESPACE`). @default default */
  temporalNamespace: string;
  /** Task queue (`SHEPHERD_TASK_QUEUE`). @default shepherd-sessions */
  taskQueue: string;
  /** Kubeconfig file (`KUBECONFIG`); unset means in-cluster, else ~/.kube/config. */
  kubeconfig?: string;
  /**
   * The namespaces Shepherd is limited to (`SHEPHERD_WATCH_NAMESPACES`, comma-separated): every
   * list and watch is made in each of them instead of across the cluster, so a Role per namespace
   * is enough. Unset: every namespace.
   */
  watchNamespaces?: readonly string[];
  /** Only AgentSessions matching this label selector are started by this worker's controller (`SHEPHERD_SESSION_SELECTOR`). */
  sessionSelector?: string;
  /**
   * Kubernetes runtime: the replicas elect, over a Lease, the one that runs the runner watcher, the
   * controller and the provider check (`SHEPHERD_LEADER_ELECTION*`, see leader-election-config.ts).
   * Undefined: off, or the local runtime. @default on
   */
  leaderElection?: LeaderElectionConfig;
  /** Run the CR controller (`SHEPHERD_CONTROLLER`, "false" to disable). @default true */
  controller: boolean;
  /** A pre-built workflow bundle (`SHEPHERD_WORKFLOW_BUNDLE`); unset means the workflow sources. */
  workflowBundle?: string;
  /**
   * Local runtime: a pre-built runner bundle to run (`SHEPHERD_RUNNER_BUNDLE`); unset means the
   * runner is bundled from its sources into the data directory at start.
   */
  runnerBundle?: string;
  /** pino level (`LOG_LEVEL`). @default info */
  logLevel: string;
  /**
   * Session workflows kept in the worker's cache (`SHEPHERD_MAX_CACHED_WORKFLOWS`). A session
   * waits on signals most of its life; past this many, the least recently used is evicted and
   * replayed from its history when its next signal comes, so memory is bounded whatever the number
   * of open sessions. @default {@link DEFAULT_MAX_CACHED_WORKFLOWS}
   */
  maxCachedWorkflows?: number;
  /** How often AgentProvider status is checked against its Secret (`SHEPHERD_PROVIDER_RESYNC_MS`). @default 10000 */
  providerResyncMs?: number;
  /**
   * The forges pull requests are opened on besides github.com (`SHEPHERD_FORGES`, a JSON array of
   * `{type, url, apiUrl?}`), parsed and checked.
   */
  forges?: ForgeConfig[];
  /**
   * The addresses of the hosts runners reach (`SHEPHERD_EGRESS_HOSTS`, a JSON object of host →
   * array of CIDRs), for the egress NetworkPolicy of sessions whose NamespacePolicy restricts
   * egress. Host names are lower-cased. Unset: none, so a restricted session fails naming the host.
   */
  egressHosts?: EgressHosts;
  /** The API's address as people reach it, for links in comments (`SHEPHERD_PUBLIC_API_URL`). */
  publicApiUrl?: string;
  /** The Temporal Web UI's address, for links in comments (`SHEPHERD_TEMPORAL_UI_URL`). */
  temporalUiUrl?: string;
  /** Local runtime: the AgentTriggers and their Secrets (`SHEPHERD_TRIGGERS_FILE`). */
  triggersFile?: string;
  /** The port of `/healthz` and `/readyz` (`SHEPHERD_HEALTH_PORT`); unset: no probe server. */
  healthPort?: number;
  /**
   * The NamespacePolicy spec of namespaces without one of their own (`SHEPHERD_DEFAULT_POLICY`,
   * JSON; the chart's `defaultPolicy`). @default no limits
   */
  defaultPolicy?: NamespacePolicySpec;
}

/** An http(s) URL from `name`, or a clear error. */
function httpUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an http(s) URL such as https://shepherd.example.com, not "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${name} must be an http(s) URL such as https://shepherd.example.com, not "${value}"`);
  return value.replace(/\/+$/, '');
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`${name} must be a whole number of milliseconds, not "${value}"`);
  return n;
}

function port(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535)
    throw new Error(`${name} must be a port number, not "${value}"`);
  return n;
}

const EGRESS_EXAMPLE = '{"api.anthropic.com":["160.79.104.0/23"],"github.com":["140.82.112.0/20"]}';

// A host name as a URL carries it: labels of letters, digits and inner hyphens. No scheme, port,
// path or wildcard, since the lookup is by the exact host of a URL.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether `value` is an IPv4 or IPv6 CIDR (address/prefix length), as a NetworkPolicy's ipBlock takes. */
export function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const family = isIP(match[1]!);
  const bits = Number(match[2]);
  return family !== 0 && bits <= (family === 4 ? 32 : 128);
}

/**
 * Parses `SHEPHERD_EGRESS_HOSTS`: a JSON object of host name → non-empty array of CIDRs.
 *
 * @throws Error naming the variable and the entry at fault.
 */
export function parseEgressHosts(value: string | undefined): EgressHosts | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const name = 'SHEPHERD_EGRESS_HOSTS';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new Error(
      `${name} is not JSON (${(error as Error).message}): set it to an object such as ${EGRESS_EXAMPLE}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${name} must be a JSON object of host → CIDRs such as ${EGRESS_EXAMPLE}`);
  }
  const hosts: Record<string, string[]> = {};
  for (const [key, cidrs] of Object.entries(parsed)) {
    const host = key.toLowerCase();
    if (!HOST_NAME.test(host)) {
      throw new Error(
        `${name} has the key "${key}", which is not a host name: use the bare host of the URL, e.g. api.anthropic.com (no scheme, port, path or wildcard)`,
      );
    }
    if (Object.hasOwn(hosts, host)) throw new Error(`${name} names the host ${host} twice`);
    if (!Array.isArray(cidrs) || cidrs.length === 0 || !cidrs.every((cidr) => typeof cidr === 'string')) {
      throw new Error(`${name}["${key}"] must be a non-empty array of CIDRs such as ["140.82.112.0/20"]`);
    }
    const bad = cidrs.find((cidr) => !isCidr(cidr));
    if (bad !== undefined) {
      throw new Error(
        `${name}["${key}"] has "${bad}", which is not a CIDR: write an IPv4 or IPv6 address, "/" and the prefix length, e.g. 140.82.112.0/20`,
      );
    }
    hosts[host] = [...cidrs];
  }
  return hosts;
}

/** Reads {@link WorkerConfig} from `env`; throws naming the variable on a bad value. */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const controller = env.SHEPHERD_CONTROLLER ?? 'true';
  if (controller !== 'true' && controller !== 'false') {
    throw new Error(`SHEPHERD_CONTROLLER must be "true" or "false", not "${controller}"`);
  }
  const runtime = env.SHEPHERD_RUNTIME ?? 'kubernetes';
  if (runtime !== 'kubernetes' && runtime !== 'local') {
    throw new Error(`SHEPHERD_RUNTIME must be "kubernetes" or "local", not "${runtime}"`);
  }
  const temporal = temporalTarget(env);
  const watchNamespaces = parseWatchNamespaces(env.SHEPHERD_WATCH_NAMESPACES, 'SHEPHERD_WATCH_NAMESPACES');
  const egressHosts = parseEgressHosts(env.SHEPHERD_EGRESS_HOSTS);
  const taskQueue = env.SHEPHERD_TASK_QUEUE ?? SESSION_TASK_QUEUE;
  const leaderElection =
    runtime === 'kubernetes'
      ? leaderElectionFromEnv(env, {
          taskQueue,
          ...(env.SHEPHERD_SESSION_SELECTOR ? { sessionSelector: env.SHEPHERD_SESSION_SELECTOR } : {}),
          ...(watchNamespaces ? { namespaces: watchNamespaces } : {}),
        })
      : undefined;
  return {
    runtime,
    dataDir: defaultDataDir(env),
    temporalConnection: temporal.connection,
    temporalNamespace: temporal.namespace,
    taskQueue,
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
    ...(watchNamespaces ? { watchNamespaces } : {}),
    ...(env.SHEPHERD_SESSION_SELECTOR ? { sessionSelector: env.SHEPHERD_SESSION_SELECTOR } : {}),
    controller: controller === 'true',
    ...(leaderElection ? { leaderElection } : {}),
    ...(env.SHEPHERD_WORKFLOW_BUNDLE ? { workflowBundle: env.SHEPHERD_WORKFLOW_BUNDLE } : {}),
    ...(env.SHEPHERD_RUNNER_BUNDLE ? { runnerBundle: env.SHEPHERD_RUNNER_BUNDLE } : {}),
    logLevel: env.LOG_LEVEL ?? 'info',
    ...(env.SHEPHERD_MAX_CACHED_WORKFLOWS
      ? {
          maxCachedWorkflows: positiveInt(env.SHEPHERD_MAX_CACHED_WORKFLOWS, 'SHEPHERD_MAX_CACHED_WORKFLOWS'),
        }
      : {}),
    ...(env.SHEPHERD_PROVIDER_RESYNC_MS
      ? { providerResyncMs: positiveInt(env.SHEPHERD_PROVIDER_RESYNC_MS, 'SHEPHERD_PROVIDER_RESYNC_MS') }
      : {}),
    forges: parseForgesConfig(env.SHEPHERD_FORGES),
    ...(egressHosts ? { egressHosts } : {}),
    ...(env.SHEPHERD_PUBLIC_API_URL
      ? { publicApiUrl: httpUrl(env.SHEPHERD_PUBLIC_API_URL, 'SHEPHERD_PUBLIC_API_URL') }
      : {}),
    ...(env.SHEPHERD_TEMPORAL_UI_URL
      ? { temporalUiUrl: httpUrl(env.SHEPHERD_TEMPORAL_UI_URL, 'SHEPHERD_TEMPORAL_UI_URL') }
      : {}),
    ...(env.SHEPHERD_TRIGGERS_FILE ? { triggersFile: env.SHEPHERD_TRIGGERS_FILE } : {}),
    ...(env.SHEPHERD_HEALTH_PORT
      ? { healthPort: port(env.SHEPHERD_HEALTH_PORT, 'SHEPHERD_HEALTH_PORT') }
      : {}),
    ...(env.SHEPHERD_DEFAULT_POLICY ? { defaultPolicy: defaultPolicyFromEnv(env) } : {}),
  };
}
