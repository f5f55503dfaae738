/**
 * The real worker process and a Temporal client for one test file: the CRDs installed and the
 * worker started before its tests, both stopped after them. Test files that drive sessions through
 * the worker share this set-up instead of each writing it out.
 */
import { after, before } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { installCrds } from './crds.js';
import { envVar } from './kube.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/** What the file's tests use; read it inside tests, once `before` has run. */
export interface WorkerFixture {
  readonly worker: WorkerProcess;
  readonly client: Client;
}

/** Registers the file's before and after hooks; `env` goes to the worker process. */
export function useWorker(kubeConfig: k8s.KubeConfig, env: NodeJS.ProcessEnv = {}): WorkerFixture {
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  let client: Client | undefined;
  before(async () => {
    await installCrds(kubeConfig);
    worker = await startWorkerProcess(env);
    connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
    client = new Client({ connection });
  });
  after(async () => {
    await worker?.stop();
    await connection?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the worker fixture is set up in before(): use it inside tests');
    return value;
  };
  return {
    get worker() {
      return started(worker);
    },
    get client() {
      return started(client);
    },
  };
}
