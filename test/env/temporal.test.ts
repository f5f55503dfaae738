/** The Temporal dev server is real: a workflow runs on it and is found by a search-attribute query. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/common/search-attributes.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import type { phaseWorkflow } from './fixtures/phase-workflow.js';

// The worker's own INFO lines would drown the test report.
Runtime.install({ logger: new DefaultLogger('WARN') });

test('a workflow runs on the dev server and is found by a search-attribute query', async (t) => {
  const address = envVar('TEMPORAL_ADDRESS');
  const taskQueue = `env-test-${randomSuffix()}`;
  const tenant = `tenant-${randomSuffix()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  t.after(() => nativeConnection.close());
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./fixtures/phase-workflow.ts', import.meta.url)),
  });
  const connection = await Connection.connect({ address });
  t.after(() => connection.close());
  const client = new Client({ connection });

  const result = await worker.runUntil(async () => {
    const handle = await client.workflow.start<typeof phaseWorkflow>('phaseWorkflow', {
      taskQueue,
      workflowId: `env-test/${tenant}`,
      args: ['Succeeded'],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTE_KEYS.namespace, value: tenant }],
    });
    return handle.result();
  });
  assert.equal(result, 'reached Succeeded');

  const query = `${SEARCH_ATTRIBUTE_KEYS.namespace.name} = '${tenant}' AND ${SEARCH_ATTRIBUTE_KEYS.phase.name} = 'Succeeded'`;
  const found = await eventually(
    'the workflow to be visible to the query',
    async () => {
      const executions = [];
      for await (const execution of client.workflow.list({ query })) executions.push(execution);
      return executions;
    },
    (executions) => executions.length === 1,
  );
  assert.equal(found[0]?.workflowId, `env-test/${tenant}`);
  assert.equal(found[0]?.status.name, 'COMPLETED');
});
