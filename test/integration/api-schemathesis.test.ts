/**
 * The API's contract, fuzzed: Schemathesis reads /openapi.json of the real API (kubernetes mode,
 * real TokenReview and SubjectAccessReview, AgentSession CRs on the test API server) and sends it
 * generated requests, valid and invalid, with every check on: no 5xx, every status and body
 * documented, invalid input refused, valid input accepted, undeclared methods 405, and stateful
 * sequences through the links (create, then read, stop, delete what was created). The test
 * passes only when Schemathesis's JSON report counts no failure and no error, and prints the
 * counts either way.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { repoRoot, schemathesisPath } from '../../src/processes/tools.js';
import { installCrds } from '../support/crds.js';
import { envVar, kubeConfig, randomSuffix } from '../support/kube.js';
import { aliceHeaders, createApiNamespace, grantSessions, kubernetesApi } from '../support/kubernetes-api.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
/** The whole run's budget: the phases repeat until it is spent (a loaded 2-core machine is slow). */
const MAX_SECONDS = 75;

let connection: Connection;
let app: FastifyInstance;
let server: RunningServer;
let namespace: string;
const reportDir = mkdtempSync(join(tmpdir(), 'shepherd-schemathesis-'));

before(async () => {
  await installCrds(kc);
  namespace = await createApiNamespace(kc, 'fuzz');
  await grantSessions(kc, namespace, 'alice', { logs: true });
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  // No worker: the sessions the fuzzer creates only need to exist as CRs; their workflows wait
  // on a task queue nobody polls and end with the test environment.
  app = await kubernetesApi(new Client({ connection }), `fuzz-${randomSuffix()}`);
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await server?.close();
  await connection?.close();
  if (namespace) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  rmSync(reportDir, { recursive: true, force: true });
});

interface Report {
  exit_code: number;
  operations: { total: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: Array<{ code: string; title: string; count: number; operations: string[] }>;
  errors: unknown[];
}

test('Schemathesis finds no failure in the API, with every check on', { timeout: 300_000 }, async () => {
  const run = await execa(
    schemathesisPath(),
    [
      '--config-file',
      join(repoRoot, 'test', 'integration', 'fixtures', 'schemathesis.toml'),
      'run',
      `${server.url}/openapi.json`,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      '25',
      '--max-time',
      String(MAX_SECONDS),
      // One worker: with two, Hypothesis describes filter lambdas with ast.parse in both threads
      // at once, which CPython 3.11 (before 3.11.8) can fail with "AST constructor recursion
      // depth mismatch" (python/cpython#106905) — a Runtime Error of the fuzzer, not the API.
      '--workers',
      '1',
      '--header',
      `Authorization: ${aliceHeaders().authorization}`,
      '--report',
      'json',
      '--report-dir',
      reportDir,
      '--no-color',
      '--output-truncate',
      'true',
    ],
    { reject: false, all: true, env: { SHEPHERD_FUZZ_NAMESPACE: namespace }, cwd: reportDir },
  );
  const file = readdirSync(reportDir).find((name) => name.startsWith('json-') && name.endsWith('.json'));
  assert.ok(file, `Schemathesis wrote no JSON report (exit ${run.exitCode}):\n${run.all ?? ''}`);
  const report = JSON.parse(readFileSync(join(reportDir, file), 'utf8')) as Report;
  const failures = report.failures.reduce((sum, failure) => sum + failure.count, 0);
  console.log(
    `# schemathesis: ${report.operations.tested}/${report.operations.total} operations, ` +
      `${report.test_cases.generated} cases, ${failures} failures, ${report.errors.length} errors`,
  );
  const summary = report.failures.map((f) => `${f.code} ${f.title} (${f.count}): ${f.operations.join(', ')}`);
  assert.deepEqual(summary, [], `Schemathesis found failures:\n${run.all ?? ''}`);
  assert.equal(report.errors.length, 0, `Schemathesis had errors:\n${run.all ?? ''}`);
  assert.equal(report.operations.errored, 0);
  assert.equal(report.operations.tested, report.operations.total, 'every operation was tested');
  assert.ok(report.test_cases.generated > report.operations.total, 'more than one case per operation');
});
