/**
 * The embedded default: on one machine, with no cluster, the real Temporal dev server (Web UI,
 * SQLite in the data directory so sessions survive a restart), the worker on the local runtime,
 * and the API on loopback. `npm start` runs it; the demo and the CLI find it through the stack
 * file it writes into the data directory.
 */
import { jiraTicketStarter } from '../triggers/jira/jira-ticket-start.js';
import { parseForgesConfig } from '../forges/forge-registry.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.js';
import { localAuthenticator } from '../api/auth.js';
import { localBackend } from '../runtime/local/local-backend.js';
import { startServer } from '../api/server.js';
import { stopGroup } from '../processes/daemon.js';
import { freePorts } from '../processes/ports.js';
import { startTemporalDevServer } from '../processes/temporal-dev-server.js';
import { localFollowUps } from '../triggers/conversations/runtime-follow-ups.js';
import { startLocalTriggerCatalog } from '../triggers/local-trigger-catalog.js';
import { toolPaths } from '../processes/tools.js';
import { startSessionWorker } from '../worker/session-worker.js';
import { SESSION_TASK_QUEUE } from '../workflows/session-contract.js';

/** Where a running embedded stack can be reached; written to `<dataDir>/stack.json`. */
export interface StackInfo {
  temporalAddress: string;
  temporalUiUrl: string;
  apiUrl?: string;
  dataDir: string;
  taskQueue: string;
  /** The process running the stack. */
  pid: number;
  /** The Temporal dev server's process (group), so a later start can stop one left behind. */
  temporalPid: number;
}

/** Options of {@link startEmbeddedStack}. */
export interface EmbeddedStackOptions {
  dataDir: string;
  /** Temporal frontend port. @default 7233, or a free port when that is taken */
  temporalPort?: number;
  /** Web UI port. @default 8233, or a free port when that is taken */
  uiPort?: number;
  /** API port. @default 8080, or a free port when that is taken */
  apiPort?: number;
  /** The AgentTriggers webhooks are routed by (see SHEPHERD_TRIGGERS_FILE). @default none */
  triggersFile?: string;
  logger: Logger;
}

/** The stack file of a data directory. */
export function stackFile(dataDir: string): string {
  return join(dataDir, 'stack.json');
}

/** Reads the stack file, or undefined when no stack is running there. */
export function readStackInfo(dataDir: string): StackInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(stackFile(dataDir), 'utf8')) as StackInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

async function portOr(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      void freePorts(1).then(([port]) => resolve(port!));
    });
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(preferred)));
  });
}

/**
 * Stops the Temporal server of a stack whose process died without stopping it (SIGKILL), so two
 * servers never share one SQLite file.
 */
async function stopLeftoverStack(dataDir: string): Promise<void> {
  let info: StackInfo;
  try {
    info = JSON.parse(readFileSync(stackFile(dataDir), 'utf8')) as StackInfo;
  } catch {
    return;
  }
  if (info.temporalPid) await stopGroup(info.temporalPid);
  rmSync(stackFile(dataDir), { force: true });
}

/** Starts everything; `stop` stops it all. */
export async function startEmbeddedStack(options: EmbeddedStackOptions) {
  const { dataDir, logger } = options;
  if (readStackInfo(dataDir)) throw new Error(`a Shepherd stack is already running with data in ${dataDir}`);
  await stopLeftoverStack(dataDir);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const temporalPort = options.temporalPort ?? (await portOr(7233));
  const uiPort = options.uiPort ?? (await portOr(8233));
  const temporal = await startTemporalDevServer(dataDir, toolPaths().temporal, {
    ui: true,
    dbFile: join(dataDir, 'temporal.db'),
    port: temporalPort,
    uiPort,
  });
  const stops: (() => Promise<void>)[] = [() => stopGroup(temporal.daemon.pid)];
  const stop = async () => {
    rmSync(stackFile(dataDir), { force: true });
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    // Chosen before the worker starts: its feedback links to the session in the API.
    const apiPort = options.apiPort ?? (await portOr(8080));
    const worker = await startSessionWorker(
      {
        runtime: 'local',
        dataDir,
        temporalConnection: { address: temporal.address },
        temporalNamespace: temporal.namespace,
        taskQueue: SESSION_TASK_QUEUE,
        controller: false,
        logLevel: 'info',
        forges: parseForgesConfig(process.env.SHEPHERD_FORGES),
        publicApiUrl: `http://127.0.0.1:${apiPort}`,
        ...(temporal.uiUrl ? { temporalUiUrl: temporal.uiUrl } : {}),
        ...(options.triggersFile ? { triggersFile: options.triggersFile } : {}),
      },
      logger.child({ component: 'worker' }),
    );
    stops.push(() => worker.stop());
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: temporal.namespace });
    const catalog = startLocalTriggerCatalog({
      file: options.triggersFile,
      logger: logger.child({ component: 'triggers' }),
    });
    stops.push(() => catalog.stop());
    const backend = localBackend({ client, taskQueue: SESSION_TASK_QUEUE, dataDir });
    const app = await buildApp(
      {
        backend,
        auth: localAuthenticator(process.env.SHEPHERD_API_TOKEN),
        loopbackOnly: true,
        webhooks: {
          catalog,
          startJiraTicket: jiraTicketStarter({ client, taskQueue: SESSION_TASK_QUEUE }),
          followUps: localFollowUps({
            backend,
            triggersFile: options.triggersFile,
            client,
            forges: parseForgesConfig(process.env.SHEPHERD_FORGES),
            logger: logger.child({ component: 'follow-ups' }),
          }),
        },
      },
      { loggerInstance: logger.child({ component: 'api' }) },
    );
    const server = await startServer(app, {
      host: '127.0.0.1',
      port: apiPort,
    });
    stops.push(() => server.close());
    const info: StackInfo = {
      temporalAddress: temporal.address,
      temporalUiUrl: temporal.uiUrl ?? '',
      apiUrl: server.url,
      dataDir,
      taskQueue: SESSION_TASK_QUEUE,
      pid: process.pid,
      temporalPid: temporal.daemon.pid,
    };
    writeFileSync(stackFile(dataDir), JSON.stringify(info, null, 2));
    return { info, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
