/**
 * The real Temporal server (`temporal server start-dev`, SQLite) on loopback, with Shepherd's
 * search attributes registered, eager activity execution on, and optionally its Web UI.
 */
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { type Daemon, startDaemon, waitUntilReady } from './daemon.js';
import { freePorts } from './ports.js';

/** The running Temporal server. */
export interface TemporalDevServer {
  /** gRPC frontend, `host:port`. */
  address: string;
  /** Web UI URL, when started with the UI. */
  uiUrl?: string;
  namespace: string;
  daemon: Daemon;
  /** Where the server serves its own Prometheus metrics (one URL per server process). */
  metricsUrls: string[];
  /** Where each server process serves Go's profiles (`…/debug/pprof`); the dev server serves none. */
  pprofUrls: string[];
}

/** Options for {@link startTemporalDevServer}. */
export interface TemporalDevServerOptions {
  /** Serve the Web UI. @default false */
  ui?: boolean;
  /**
   * SQLite file, which keeps sessions across server restarts. Without one the server keeps its
   * state in memory: faster, and enough for a test run. @default in memory
   */
  dbFile?: string;
  /** Fixed frontend port. @default a free port */
  port?: number;
  /** Fixed UI port. @default a free port */
  uiPort?: number;
}

/** Starts the dev server and resolves when its frontend answers and the search attributes exist. */
export async function startTemporalDevServer(
  dir: string,
  temporalBin: string,
  options: TemporalDevServerOptions = {},
  onDaemon: (daemon: Daemon) => void = () => undefined,
): Promise<TemporalDevServer> {
  const [freePort, freeUiPort, httpPort, metricsPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const port = options.port ?? freePort;
  const uiPort = options.uiPort ?? freeUiPort;
  const namespace = 'default';
  const args = [
    'server',
    'start-dev',
    '--ip=127.0.0.1',
    `--port=${port}`,
    `--http-port=${httpPort}`,
    `--metrics-port=${metricsPort}`,
    ...(options.dbFile ? [`--db-filename=${options.dbFile}`] : []),
    `--namespace=${namespace}`,
    '--log-level=warn',
    // A session's activities go straight back to the worker that scheduled them, in the answer to
    // its workflow task, instead of through matching (off by default in the server): a trip less
    // per step on the way to a session's Job. Eager workflow start is on by default.
    '--dynamic-config-value=system.enableActivityEagerExecution=true',
    ...Object.values(SEARCH_ATTRIBUTES).map((sa) => `--search-attribute=${sa.name}=${sa.type}`),
    ...(options.ui ? ['--ui-ip=127.0.0.1', `--ui-port=${uiPort}`] : ['--headless']),
  ];
  const daemon = startDaemon({
    name: 'temporal',
    command: temporalBin,
    args,
    logFile: join(dir, 'logs', 'temporal.log'),
  });
  onDaemon(daemon);
  const address = `127.0.0.1:${port}`;
  let connection: Connection | undefined;
  try {
    await waitUntilReady(
      daemon,
      async () => {
        connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
        const attributes = await connection.operatorService.listSearchAttributes({ namespace });
        return Object.values(SEARCH_ATTRIBUTES).every((sa) => sa.name in (attributes.customAttributes ?? {}));
      },
      60_000,
    );
  } finally {
    await connection?.close();
  }
  return {
    address,
    namespace,
    daemon,
    metricsUrls: [`http://127.0.0.1:${metricsPort}/metrics`],
    pprofUrls: [],
    ...(options.ui ? { uiUrl: `http://127.0.0.1:${uiPort}` } : {}),
  };
}
