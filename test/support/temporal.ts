/**
 * Temporal for integration tests: a worker in this process running a fixture workflow, and a
 * client, against the dev server that `npm test` starts — in a Temporal namespace of their own.
 * The fixture workflows use real session workflow ids, and every worker's runner watcher in the
 * same test run signals those ids in its own namespace; a namespace per test file keeps another
 * file's watcher (or controller) from reaching this file's workflows.
 */
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/common/search-attributes.js';
import { envVar, randomSuffix } from './kube.js';

/** `temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD`: every Shepherd attribute is a Keyword. */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

let runtimeInstalled = false;

/** A running fixture worker and a client on the same namespace. */
export interface FixtureWorker {
  client: Client;
  /** The Temporal namespace made for this worker. */
  namespace: string;
  taskQueue: string;
  /** Shuts the worker down and closes both connections. */
  close(): Promise<void>;
}

/**
 * Registers a fresh Temporal namespace and starts a worker there for the workflows in
 * `workflowsPath`.
 *
 * @param workflowsPath Absolute path of the fixture's workflow module.
 */
export async function startFixtureWorker(workflowsPath: string): Promise<FixtureWorker> {
  if (!runtimeInstalled) {
    // The worker's own INFO lines would drown the test report.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const address = envVar('TEMPORAL_ADDRESS');
  const namespace = `test-${randomSuffix()}`;
  const taskQueue = `test-${randomSuffix()}`;
  const connection = await Connection.connect({ address });
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  // Session workflows are started with Shepherd's search attributes, which the dev server
  // registered for its own namespace only.
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      Object.values(SEARCH_ATTRIBUTES).map((attribute) => [attribute.name, INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection: nativeConnection, namespace, taskQueue, workflowsPath });
  const running = worker.run();
  const client = new Client({ connection, namespace });
  return {
    client,
    namespace,
    taskQueue,
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
