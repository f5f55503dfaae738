/**
 * The whole dev environment — Kubernetes control plane with a KWOK node, and Temporal: the dev
 * server (SQLite), or the Temporal server on PostgreSQL that production runs — started in one
 * private directory and stopped as a unit. Used in-process by the test driver and the benchmark,
 * and detached by `npm run env:up`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Daemon, stopGroup } from '../processes/daemon.js';
import { type DevUser, startKubeControlPlane } from './kube-control-plane.js';
import { startTemporalDevServer } from '../processes/temporal-dev-server.js';
import { startTemporalPostgresServer } from '../processes/temporal-postgres-server.js';
import { missingTools, temporalPostgresToolPaths, toolPaths } from '../processes/tools.js';

const DIR_PREFIX = 'shepherd-env-';

/** Which Temporal the environment runs. */
export type TemporalBackend = 'dev' | 'postgres';

/**
 * The backend `SHEPHERD_TEMPORAL_BACKEND` selects: `dev` (the default) or `postgres`.
 *
 * @throws Error naming the variable and its values when it holds anything else.
 */
export function temporalBackendFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalBackend {
  const value = env.SHEPHERD_TEMPORAL_BACKEND ?? 'dev';
  if (value === 'dev' || value === 'postgres') return value;
  throw new Error(
    `SHEPHERD_TEMPORAL_BACKEND=${JSON.stringify(value)} is not a Temporal backend: use dev (the dev server on SQLite) or postgres (the Temporal server on PostgreSQL)`,
  );
}

/** What a running environment offers its users. */
export interface Environment {
  dir: string;
  kubeconfigPath: string;
  kubeServer: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalBackend: TemporalBackend;
  /** The Temporal server's own Prometheus metrics, one URL per server process. */
  temporalMetricsUrls: string[];
  /** The PostgreSQL-backed server's Go profiles, one URL per process; none for the dev server. */
  temporalPprofUrls: string[];
  /** etcd's Prometheus metrics (its database size and quota among them). */
  etcdMetricsUrl: string;
  /** Every process the environment started (each leads its own process group), by name. */
  processes: { name: string; pid: number }[];
  temporalUiUrl?: string;
  /** Unprivileged Kubernetes users: alice and bob. */
  users: DevUser[];
  /** Environment variables that point a client at this environment. */
  variables: Record<string, string>;
  /** Directories of the environment's kubectl and temporal, to put first on PATH. */
  binDirs: string[];
  /** Time from start to ready, in milliseconds. */
  startMs: number;
  /** Stops every process and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@link startEnvironment}. */
export interface EnvironmentOptions {
  /**
   * The dev server (SQLite, one history shard), or the Temporal server on a private PostgreSQL
   * with several history shards. @default 'dev'
   */
  temporalBackend?: TemporalBackend;
  /** History shards of the PostgreSQL-backed Temporal. @default 4 */
  historyShards?: number;
  /** Serve the Temporal Web UI (the dev server's; the other backend has none). @default false */
  temporalUi?: boolean;
  /**
   * Keep the dev server's state in a SQLite file in the environment directory (PostgreSQL keeps
   * its own there anyway). @default false
   */
  temporalPersistent?: boolean;
  /**
   * Whether this process owns the environment: an owned environment whose owner died is removed
   * by the next start. `env:up` passes false; `env:down` stops it. @default true
   */
  owned?: boolean;
}

interface StateFile {
  ownerPid: number | null;
  pids: number[];
}

function writeState(dir: string, state: StateFile): void {
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops the processes recorded in `dir` and removes it. */
export async function stopEnvironmentDir(dir: string): Promise<void> {
  const statePath = join(dir, 'state.json');
  if (existsSync(statePath)) {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
    // Reverse start order: clients of the API server go before it, and it goes before etcd.
    for (const pid of [...state.pids].reverse()) await stopGroup(pid);
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes environments left behind by a test run that was killed before it could clean up
 * (its owner process is gone). Detached `env:up` environments are left alone.
 */
export async function removeOrphanedEnvironments(root = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, entry);
    try {
      const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateFile;
      if (state.ownerPid === null || pidAlive(state.ownerPid)) continue;
    } catch {
      continue;
    }
    await stopEnvironmentDir(dir);
    removed.push(dir);
  }
  return removed;
}

/** Starts the environment; on any failure, stops what was started and removes the directory. */
export async function startEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const started = Date.now();
  const backend = options.temporalBackend ?? 'dev';
  const tools = toolPaths();
  const postgresTools = temporalPostgresToolPaths();
  const missing = [...missingTools(tools), ...(backend === 'postgres' ? missingTools(postgresTools) : [])];
  if (missing.length > 0) {
    const extra = backend === 'postgres' ? ' -- kubernetes etcd kwok temporal temporal-server postgres' : '';
    throw new Error(`missing tools: ${missing.join(', ')}; run \`npm run setup${extra}\` first`);
  }
  if (backend === 'postgres' && options.temporalUi) {
    throw new Error(
      'the Temporal Web UI comes with the dev server: start the environment with temporalBackend dev',
    );
  }
  await removeOrphanedEnvironments();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const state: StateFile = { ownerPid: options.owned === false ? null : process.pid, pids: [] };
  const processes: { name: string; pid: number }[] = [];
  const onDaemon = (daemon: Daemon) => {
    state.pids.push(daemon.pid);
    processes.push({ name: daemon.name, pid: daemon.pid });
    writeState(dir, state);
  };
  writeState(dir, state);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopEnvironmentDir(dir);
  };
  try {
    // allSettled, not all: on a failure, stop only after the other half has finished starting,
    // so no process it starts afterwards escapes the cleanup.
    const [kubeResult, temporalResult] = await Promise.allSettled([
      startKubeControlPlane(dir, tools, onDaemon),
      backend === 'postgres'
        ? startTemporalPostgresServer(
            dir,
            postgresTools,
            { ...(options.historyShards ? { historyShards: options.historyShards } : {}) },
            onDaemon,
          )
        : startTemporalDevServer(
            dir,
            tools.temporal,
            {
              ui: options.temporalUi ?? false,
              ...(options.temporalPersistent ? { dbFile: join(dir, 'temporal.db') } : {}),
            },
            onDaemon,
          ),
    ]);
    if (kubeResult.status === 'rejected') throw kubeResult.reason;
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    const kube = kubeResult.value;
    const temporal = temporalResult.value;
    const variables: Record<string, string> = {
      KUBECONFIG: kube.kubeconfigPath,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      SHEPHERD_TEMPORAL_BACKEND: backend,
      SHEPHERD_ENV_DIR: dir,
      SHEPHERD_KUBECTL: tools.kubectl,
      SHEPHERD_TEMPORAL: tools.temporal,
    };
    for (const user of kube.users) {
      variables[`SHEPHERD_TEST_${user.name.toUpperCase()}_KUBECONFIG`] = user.kubeconfigPath;
      variables[`SHEPHERD_TEST_${user.name.toUpperCase()}_TOKEN`] = user.token;
    }
    if (temporal.uiUrl) variables.TEMPORAL_UI_URL = temporal.uiUrl;
    return {
      dir,
      kubeconfigPath: kube.kubeconfigPath,
      kubeServer: kube.server,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      temporalBackend: backend,
      temporalMetricsUrls: temporal.metricsUrls,
      temporalPprofUrls: temporal.pprofUrls,
      etcdMetricsUrl: `${kube.etcdUrl}/metrics`,
      processes,
      ...(temporal.uiUrl ? { temporalUiUrl: temporal.uiUrl } : {}),
      users: kube.users,
      variables,
      binDirs: [dirname(tools.kubectl), dirname(tools.temporal)],
      startMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Shell `export` lines for an environment's variables, and its tools first on PATH. */
export function exportLines(env: Pick<Environment, 'variables' | 'binDirs'>): string {
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  return [
    ...Object.entries(env.variables).map(([key, value]) => `export ${key}=${quote(value)}`),
    `export PATH=${env.binDirs.map(quote).join(':')}:"$PATH"`,
  ].join('\n');
}

/** The process environment of a child that should use this environment. */
export function childEnv(env: Pick<Environment, 'variables' | 'binDirs'>): NodeJS.ProcessEnv {
  return { ...process.env, ...env.variables, PATH: [...env.binDirs, process.env.PATH ?? ''].join(':') };
}
