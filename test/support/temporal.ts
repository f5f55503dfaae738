/**
 * Temporal for integration tests: a worker in this process running a fixture workflow, and a
 * client, against the dev server that `npm test` starts — in a Temporal namespace of their own.
 * The fixture workflows use real session workflow ids, and every worker's runner watcher in the
 * same test run signals those ids in its own namespace; a namespace per test file keeps another
 * file's watcher (or controller) from reaching this file's workflows.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { addSearchAttributes, registerNamespace } from '../../src/processes/temporal-namespace.js';
import { envVar, randomSuffix } from './kube.js';

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
  await registerNamespace(connection, namespace);
  // Session workflows are started with Shepherd's search attributes, which the dev server
  // registered for its own namespace only.
  await addSearchAttributes(connection, namespace);
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
