/**
 * Upgrades that do not break sessions in flight: every history recorded under
 * test/workflows/histories (by test/workflows/record-histories.ts, from an earlier version of the
 * workflow) replays against today's src/workflows. A change that makes the workflow issue other
 * commands for the same events fails here with a nondeterminism error, before a worker running it
 * meets a real session started by the old code. No server is needed: replay runs in this process.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { repoRoot } from '../../src/processes/tools.js';
import {
  workflowInterceptorModules,
  workflowSpanSinks,
} from '../../src/observability/worker-interceptors.js';
import { sessionWorkflowId } from '../../src/workflows/session-contract.js';
import { historyFromJson } from './support/history-json.js';
import { installQuietRuntime, SESSION_NAMESPACE, WORKFLOWS_PATH } from './support/session-environment.js';

const HISTORIES_DIR = join(repoRoot, 'test', 'workflows', 'histories');

// A recorded session's name is its file's name.
const recorded = readdirSync(HISTORIES_DIR)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({
    session: basename(file, '.json'),
    workflowId: sessionWorkflowId(SESSION_NAMESPACE, basename(file, '.json')),
    history: historyFromJson(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))),
  }));

// On both bundles a worker may load: tracing must not change what the workflow commands.
for (const traced of [false, true]) {
  describe(`sessions recorded with earlier versions of the workflow replay on today’s code (${traced ? 'traced' : 'plain'} bundle)`, () => {
    // One replay worker (and one workflow bundle) for every history.
    const errors = new Map<string, Error | undefined>();
    before(async () => {
      installQuietRuntime();
      const replays = Worker.runReplayHistories(
        {
          workflowsPath: WORKFLOWS_PATH,
          interceptors: { workflowModules: workflowInterceptorModules(traced) },
          sinks: workflowSpanSinks({ spanProcessor: new NoopSpanProcessor(), resource: Resource.empty() }),
        },
        recorded,
      );
      for await (const result of replays) errors.set(result.workflowId, result.error);
    });

    it('has histories to replay', () => {
      assert.ok(recorded.length >= 7, `only ${recorded.length} histories under ${HISTORIES_DIR}`);
    });

    for (const { session, workflowId } of recorded) {
      it(`${session} replays without a nondeterminism error`, () => {
        assert.ok(errors.has(workflowId), `${session} was not replayed`);
        const error = errors.get(workflowId);
        assert.equal(error, undefined, `${session}: ${error?.name}: ${error?.message}`);
      });
    }
  });
}
