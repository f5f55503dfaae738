/**
 * A production-shaped Temporal on loopback: a private PostgreSQL cluster (the system's PostgreSQL,
 * initialised in the environment directory), its two databases created and migrated by Temporal's
 * own `temporal-sql-tool`, and `temporal-server` itself with several history shards, its frontend,
 * history, matching and worker services in one process or in four. It answers the same questions
 * as the dev server (src/processes/temporal-dev-server.ts): a frontend address with the `default`
 * namespace and Shepherd's search attributes registered.
 *
 * PostgreSQL refuses to run as root; as root, its programs run as the `postgres` system user (the
 * distribution's package creates it) through `setpriv`, which execs in place, so the daemon's pid
 * is the postmaster's own and stopping the environment stops it. Durability settings are off
 * (fsync, synchronous commit): the cluster lives as long as the environment and is never reused.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { execa } from 'execa';
import { type Daemon, startDaemon, waitUntilReady } from './daemon.js';
import { freeLowPorts, freePorts } from './ports.js';
import { addSearchAttributes, missingSearchAttributes, registerNamespace } from './temporal-namespace.js';
import { TEMPORAL_SERVICES, temporalDynamicConfig, temporalServerConfig } from './temporal-server-config.js';
import type { TemporalDevServer } from './temporal-dev-server.js';

/** The binaries a PostgreSQL-backed Temporal needs. */
export interface TemporalPostgresTools {
  temporalServer: string;
  temporalSqlTool: string;
  /** The directory holding `postgres`, `initdb` and `pg_isready`. */
  postgresBin: string;
}

/** Options for {@link startTemporalPostgresServer}. */
export interface TemporalPostgresOptions {
  /** History shards. @default 4 */
  historyShards?: number;
  /** Run each service in a process of its own instead of all four in one. @default false */
  separateProcesses?: boolean;
  /** Fixed frontend port. @default a free port */
  port?: number;
}

/** The running server; `daemons` in start order (PostgreSQL first). */
export interface TemporalPostgresServer extends TemporalDevServer {
  daemons: Daemon[];
}

/** The uid and gid PostgreSQL's programs run as, or undefined when this process is not root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'PostgreSQL will not run as root and there is no `postgres` user to run it as: run as another user, or create one (the postgresql package does)',
    );
  }
}

/** The command line that runs `bin` as the PostgreSQL user. */
function asPostgres(user: { uid: number; gid: number } | undefined, bin: string, args: string[]) {
  if (!user) return { command: bin, args };
  return {
    command: 'setpriv',
    args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', bin, ...args],
  };
}

/** Starts PostgreSQL and Temporal; resolves when the frontend answers with the namespace ready. */
export async function startTemporalPostgresServer(
  dir: string,
  tools: TemporalPostgresTools,
  options: TemporalPostgresOptions = {},
  onDaemon: (daemon: Daemon) => void = () => undefined,
): Promise<TemporalPostgresServer> {
  const ports = await freePorts(15);
  const take = () => ports.shift() as number;
  const postgresPort = take();
  const frontendPort = options.port ?? take();
  const [frontendRing, historyRing, matchingRing, workerRing] = (await freeLowPorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const servicePorts = {
    frontend: { grpc: frontendPort, membership: frontendRing },
    history: { grpc: take(), membership: historyRing },
    matching: { grpc: take(), membership: matchingRing },
    worker: { grpc: take(), membership: workerRing },
  };
  const frontendHttpPort = take();
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const daemons: Daemon[] = [];
  const started = (daemon: Daemon) => {
    daemons.push(daemon);
    onDaemon(daemon);
    return daemon;
  };

  // PostgreSQL: a cluster of its own, user `temporal` trusted on loopback only. Its programs are
  // named by their real directory: initdb finds postgres beside its own path, which the postgres
  // user could not resolve through a link in root's cache.
  const user = postgresUser();
  const postgresBin = realpathSync(tools.postgresBin);
  const data = join(dir, 'postgres');
  mkdirSync(data, { mode: 0o700 });
  if (user) {
    // The postgres user must reach its data directory inside the environment's private one.
    chmodSync(dir, 0o711);
    chownSync(data, user.uid, user.gid);
  }
  const initdb = asPostgres(user, join(postgresBin, 'initdb'), [
    `--pgdata=${data}`,
    '--username=temporal',
    '--auth=trust',
    '--encoding=UTF8',
    '--no-instructions',
  ]);
  const init = await execa(initdb.command, initdb.args, { reject: false, all: true });
  if (init.exitCode !== 0) throw new Error(`initdb failed (exit ${init.exitCode}): ${init.all ?? ''}`);
  const postgres = asPostgres(user, join(postgresBin, 'postgres'), [
    `-D${data}`,
    '-h127.0.0.1',
    `-p${postgresPort}`,
    `-k${data}`,
    '-cfsync=off',
    '-csynchronous_commit=off',
    '-cfull_page_writes=off',
    '-cmax_connections=400',
  ]);
  const pgDaemon = started(
    startDaemon({ name: 'postgres', ...postgres, logFile: join(logs, 'postgres.log') }),
  );
  await waitUntilReady(
    pgDaemon,
    async () => {
      const ready = await execa(
        join(postgresBin, 'pg_isready'),
        ['-h127.0.0.1', `-p${postgresPort}`, '-Utemporal'],
        { reject: false },
      );
      return ready.exitCode === 0;
    },
    60_000,
  );

  // The schemas, by Temporal's own tool and its embedded migrations.
  const sql = (database: string, ...args: string[]) =>
    execa(tools.temporalSqlTool, [
      '--plugin',
      'postgres12',
      '--ep',
      '127.0.0.1',
      '-p',
      String(postgresPort),
      '-u',
      'temporal',
      '--db',
      database,
      ...args,
    ]);
  for (const [database, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ] as const) {
    await sql(database, 'create-database');
    await sql(database, 'setup-schema', '-v', '0.0');
    await sql(database, 'update-schema', '--schema-name', schema);
  }

  // The server.
  const configDir = join(dir, 'temporal-config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = join(configDir, 'dynamic-config.yaml');
  writeFileSync(dynamicConfigFile, temporalDynamicConfig());
  // One config file per process, which differ only in the ports of the process's own metrics
  // and profiles.
  const groups = options.separateProcesses ? TEMPORAL_SERVICES.map((s) => [s]) : [TEMPORAL_SERVICES];
  const metricsPorts = groups.map(() => take());
  const pprofPorts = groups.map(() => take());
  const serverDaemons = groups.map((services, i) => {
    const name = `temporal-${services.length === 1 ? services[0] : 'server'}`;
    writeFileSync(
      join(configDir, `${name}.yaml`),
      temporalServerConfig({
        postgresPort,
        ports: servicePorts,
        frontendHttpPort,
        metricsPort: metricsPorts[i] as number,
        pprofPort: pprofPorts[i] as number,
        historyShards: options.historyShards ?? 4,
        dynamicConfigFile,
      }),
    );
    const args = ['--root', dir, '--config', 'temporal-config', '--env', name, '--allow-no-auth', 'start'];
    return started(
      startDaemon({
        name,
        command: tools.temporalServer,
        args: [...args, ...services.flatMap((service) => ['--service', service])],
        logFile: join(logs, `${name}.log`),
      }),
    );
  });
  const frontend = serverDaemons[0] as Daemon;

  // The namespace and the search attributes, which the dev server makes by itself.
  const address = `127.0.0.1:${frontendPort}`;
  const namespace = 'default';
  let connection: Connection | undefined;
  try {
    await waitUntilReady(
      frontend,
      async () => {
        if (serverDaemons.some((daemon) => daemon.hasExited())) {
          throw new Error('a Temporal server process exited while starting');
        }
        connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
        await connection.workflowService.getSystemInfo({});
        return true;
      },
      120_000,
    );
    // A restarted server on the same database has the namespace already.
    await registerNamespace(connection as Connection, namespace);
    await waitUntilReady(
      frontend,
      async () => {
        const missing = await missingSearchAttributes(connection as Connection, namespace);
        if (missing === undefined) return false;
        if (missing.length === 0) return true;
        await addSearchAttributes(connection as Connection, namespace, missing);
        return false;
      },
      60_000,
    );
  } finally {
    await connection?.close();
  }
  return {
    address,
    namespace,
    daemon: frontend,
    daemons,
    metricsUrls: metricsPorts.map((port) => `http://127.0.0.1:${port}/metrics`),
    pprofUrls: pprofPorts.map((port) => `http://127.0.0.1:${port}/debug/pprof`),
  };
}
