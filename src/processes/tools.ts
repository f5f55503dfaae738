/**
 * Where the pinned real components live. scripts/setup-tools.sh puts each tool at
 * `<cache>/<tool>-<version>/<binary>`; an environment variable naming a binary overrides that.
 * The environment's tools, the test server the workflow tests run on, the agent CLIs the runner
 * tests drive, the Gitea the forge tests run against, the OpenTelemetry Collector the
 * observability test exports to, and the Node 24 the tests also run on are
 * listed apart, so starting an environment never asks for Java or npm, nor builds Gitea.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemporalPostgresTools } from './temporal-postgres-server.js';

/** Repository root, found from this file's location. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute paths of the binaries the environment runs. */
export interface ToolPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  temporal: string;
}

/** Pinned versions from tools/versions.env. */
export interface ToolVersions {
  KUBERNETES_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
  TEMPORAL_CLI_VERSION: string;
  TEMPORAL_SERVER_VERSION: string;
  TEMPORAL_TEST_SERVER_VERSION: string;
  SCHEMATHESIS_VERSION: string;
  HADOLINT_VERSION: string;
  CLAUDE_CODE_VERSION: string;
  OPENCODE_VERSION: string;
  GITEA_VERSION: string;
  HELM_VERSION: string;
  NODE24_VERSION: string;
  OTELCOL_VERSION: string;
}

/** Absolute paths of what the workflow tests run: only the time-skipping test server. */
export interface TestToolPaths {
  /** The wrapper script that starts the Java test server; its first argument is the port. */
  temporalTestServer: string;
}

/** Parses tools/versions.env (KEY=VALUE lines, `#` comments). */
export function readToolVersions(root = repoRoot): ToolVersions {
  const text = readFileSync(join(root, 'tools', 'versions.env'), 'utf8');
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(\S+)\s*$/.exec(line);
    if (match?.[1] && match[2]) values[match[1]] = match[2];
  }
  const keys = [
    'KUBERNETES_VERSION',
    'ETCD_VERSION',
    'KWOK_VERSION',
    'TEMPORAL_CLI_VERSION',
    'TEMPORAL_SERVER_VERSION',
    'TEMPORAL_TEST_SERVER_VERSION',
    'SCHEMATHESIS_VERSION',
    'HADOLINT_VERSION',
    'CLAUDE_CODE_VERSION',
    'OPENCODE_VERSION',
    'GITEA_VERSION',
    'HELM_VERSION',
    'NODE24_VERSION',
    'OTELCOL_VERSION',
  ];
  for (const key of keys) {
    if (!values[key]) throw new Error(`tools/versions.env does not set ${key}`);
  }
  return values as unknown as ToolVersions;
}

/** The cache directory: $SHEPHERD_CACHE, else ~/.cache/shepherd. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHEPHERD_CACHE ?? join(homedir(), '.cache', 'shepherd');
}

/** Resolves every tool's path: the SHEPHERD_<TOOL> variable if set, else its cache location. */
export function toolPaths(env: NodeJS.ProcessEnv = process.env, root = repoRoot): ToolPaths {
  const v = readToolVersions(root);
  const cache = cacheDir(env);
  const k8s = join(cache, `kubernetes-${v.KUBERNETES_VERSION}`);
  return {
    etcd: env.SHEPHERD_ETCD ?? join(cache, `etcd-${v.ETCD_VERSION}`, 'etcd'),
    kubeApiserver: env.SHEPHERD_KUBE_APISERVER ?? join(k8s, 'kube-apiserver'),
    kubeControllerManager: env.SHEPHERD_KUBE_CONTROLLER_MANAGER ?? join(k8s, 'kube-controller-manager'),
    kubeScheduler: env.SHEPHERD_KUBE_SCHEDULER ?? join(k8s, 'kube-scheduler'),
    kubectl: env.SHEPHERD_KUBECTL ?? join(k8s, 'kubectl'),
    kwok: env.SHEPHERD_KWOK ?? join(cache, `kwok-${v.KWOK_VERSION}`, 'kwok'),
    temporal: env.SHEPHERD_TEMPORAL ?? join(cache, `temporal-${v.TEMPORAL_CLI_VERSION}`, 'temporal'),
  };
}

/**
 * The PostgreSQL-backed Temporal's binaries: $SHEPHERD_TEMPORAL_SERVER, $SHEPHERD_TEMPORAL_SQL_TOOL
 * and $SHEPHERD_POSTGRES_BIN if set, else their cache locations (`<cache>/postgresql/bin` is the
 * link scripts/setup-tools.sh makes to the system's PostgreSQL).
 */
export function temporalPostgresToolPaths(
  env: NodeJS.ProcessEnv = process.env,
  root = repoRoot,
): TemporalPostgresTools {
  const v = readToolVersions(root);
  const dir = join(cacheDir(env), `temporal-server-${v.TEMPORAL_SERVER_VERSION}`);
  return {
    temporalServer: env.SHEPHERD_TEMPORAL_SERVER ?? join(dir, 'temporal-server'),
    temporalSqlTool: env.SHEPHERD_TEMPORAL_SQL_TOOL ?? join(dir, 'temporal-sql-tool'),
    postgresBin: env.SHEPHERD_POSTGRES_BIN ?? join(cacheDir(env), 'postgresql', 'bin'),
  };
}

/**
 * Resolves the test server's wrapper: $SHEPHERD_TEMPORAL_TEST_SERVER if set, else its cache
 * location.
 */
export function testToolPaths(env: NodeJS.ProcessEnv = process.env, root = repoRoot): TestToolPaths {
  const v = readToolVersions(root);
  return {
    temporalTestServer:
      env.SHEPHERD_TEMPORAL_TEST_SERVER ??
      join(cacheDir(env), `temporal-test-server-${v.TEMPORAL_TEST_SERVER_VERSION}`, 'temporal-test-server'),
  };
}

/**
 * The Schemathesis `st` executable the API contract test runs: $SHEPHERD_SCHEMATHESIS if set,
 * else its cache location (a link into its venv).
 */
export function schemathesisPath(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return env.SHEPHERD_SCHEMATHESIS ?? join(cacheDir(env), `schemathesis-${v.SCHEMATHESIS_VERSION}`, 'st');
}

/**
 * The hadolint binary the Dockerfile test runs: $SHEPHERD_HADOLINT if set, else its cache
 * location (a link into its venv).
 */
export function hadolintPath(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return env.SHEPHERD_HADOLINT ?? join(cacheDir(env), `hadolint-${v.HADOLINT_VERSION}`, 'hadolint');
}

/**
 * The Gitea binary the forge tests start: $SHEPHERD_GITEA if set, else its cache location. A
 * build from the module proxy keeps its templates and options beside it, in the same directory.
 */
export function giteaPath(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return env.SHEPHERD_GITEA ?? join(cacheDir(env), `gitea-${v.GITEA_VERSION}`, 'gitea');
}

/** The helm binary the chart tests and the test run's chart install use: $SHEPHERD_HELM, else the cache's. */
export function helmPath(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return env.SHEPHERD_HELM ?? join(cacheDir(env), `helm-${v.HELM_VERSION}`, 'helm');
}

/**
 * The OpenTelemetry Collector the observability test exports traces to: $SHEPHERD_OTELCOL if set,
 * else its cache location.
 */
export function otelcolPath(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return env.SHEPHERD_OTELCOL ?? join(cacheDir(env), `otelcol-${v.OTELCOL_VERSION}`, 'otelcol');
}

/**
 * The Node 24 binary `npm test` runs the unit, runner and local-mode tests on a second time:
 * $SHEPHERD_NODE24 if set, else its cache location (npm links the package's `bin/node` as
 * `<cache>/node-<version>/node_modules/.bin/node`).
 */
export function node24Path(env: NodeJS.ProcessEnv = process.env, root = repoRoot): string {
  const v = readToolVersions(root);
  return (
    env.SHEPHERD_NODE24 ?? join(cacheDir(env), `node-${v.NODE24_VERSION}`, 'node_modules', '.bin', 'node')
  );
}

/** Absolute paths of the agent CLIs, as npm installs them under their cache directory. */
export interface AgentToolPaths {
  claude: string;
  opencode: string;
}

/**
 * Resolves the agent CLIs: $SHEPHERD_CLAUDE / $SHEPHERD_OPENCODE if set, else their cache
 * location (`<cache>/claude-code-<version>/node_modules/.bin/claude`, likewise for opencode).
 */
export function agentToolPaths(env: NodeJS.ProcessEnv = process.env, root = repoRoot): AgentToolPaths {
  const v = readToolVersions(root);
  const cache = cacheDir(env);
  return {
    claude:
      env.SHEPHERD_CLAUDE ??
      join(cache, `claude-code-${v.CLAUDE_CODE_VERSION}`, 'node_modules', '.bin', 'claude'),
    opencode:
      env.SHEPHERD_OPENCODE ??
      join(cache, `opencode-${v.OPENCODE_VERSION}`, 'node_modules', '.bin', 'opencode'),
  };
}

/** Names of the tools whose binary is not there yet. */
export function missingTools(
  paths: ToolPaths | TestToolPaths | AgentToolPaths | TemporalPostgresTools,
): string[] {
  return (Object.entries(paths) as [string, string][])
    .filter(([, path]) => !existsSync(path))
    .map(([name]) => name);
}
