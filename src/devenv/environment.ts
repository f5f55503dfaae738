/**
 * The whole dev environment — Kubernetes control plane with a KWOK node, and the Temporal dev
 * server — started in one private directory and stopped as a unit. Used in-process by the test
 * driver and detached by `npm run env:up`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Daemon, stopGroup } from '../processes/daemon.js';
import { type DevUser, startKubeControlPlane } from './kube-control-plane.js';
import { startTemporalDevServer } from '../processes/temporal-dev-server.js';
import { missingTools, toolPaths } from '../processes/tools.js';

const DIR_PREFIX = 'shepherd-env-';

/** What a running environment offers its users. */
export interface Environment {
  dir: string;
  kubeconfigPath: string;
  kubeServer: string;
  temporalAddress: string;
  temporalNamespace: string;
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
  /** Serve the Temporal Web UI. @default false */
  temporalUi?: boolean;
  /** Keep Temporal's state in a SQLite file in the environment directory. @default false */
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
  const tools = toolPaths();
  const missing = missingTools(tools);
  if (missing.length > 0) {
    throw new Error(`missing tools: ${missing.join(', ')}; run \`npm run setup\` first`);
  }
  await removeOrphanedEnvironments();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const state: StateFile = { ownerPid: options.owned === false ? null : process.pid, pids: [] };
  const onDaemon = (daemon: Daemon) => {
    state.pids.push(daemon.pid);
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
      startTemporalDevServer(
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
