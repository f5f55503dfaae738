/**
 * The configuration of a Temporal server on PostgreSQL, as the YAML files `temporal-server --config`
 * reads: the static config (persistence on two PostgreSQL databases, several history shards, the
 * four services on loopback ports) and the dynamic config beside it. Pure, so the shape a test
 * environment and the benchmark run is unit-tested without a server.
 */
import { stringify } from 'yaml';

/** The services one Temporal server is made of; each may run in a process of its own. */
export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** Ports and settings for {@link temporalServerConfig}. */
export interface TemporalServerConfigOptions {
  /** PostgreSQL on loopback, user `temporal`, databases `temporal` and `temporal_visibility`. */
  postgresPort: number;
  /** Each service's gRPC and membership port. */
  ports: Record<TemporalService, { grpc: number; membership: number }>;
  /** The frontend's HTTP API port. */
  frontendHttpPort: number;
  /** Where the server serves its own Prometheus metrics. */
  metricsPort: number;
  /** Where it serves Go's profiles (`/debug/pprof/`), on loopback. */
  pprofPort: number;
  /** History shards: fixed for the life of the database. */
  historyShards: number;
  /** The dynamic config file, absolute. */
  dynamicConfigFile: string;
  /** @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

function datastore(database: string, port: number, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `127.0.0.1:${port}`,
      connectProtocol: 'tcp',
      user: 'temporal',
      password: 'temporal',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** The static config file's content. */
export function temporalServerConfig(options: TemporalServerConfigOptions): string {
  const services = Object.fromEntries(
    TEMPORAL_SERVICES.map((service) => [
      service,
      {
        rpc: {
          grpcPort: options.ports[service].grpc,
          membershipPort: options.ports[service].membership,
          bindOnLocalHost: true,
          ...(service === 'frontend' ? { httpPort: options.frontendHttpPort } : {}),
        },
      },
    ]),
  );
  return stringify({
    log: { stdout: true, level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.historyShards,
      datastores: {
        'postgres-default': datastore('temporal', options.postgresPort, 20),
        'postgres-visibility': datastore('temporal_visibility', options.postgresPort, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: options.pprofPort, host: '127.0.0.1' },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${options.metricsPort}`,
        },
      },
    },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${options.ports.frontend.grpc}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  });
}

/**
 * The dynamic config: a namespace registered in a test visible within half a second rather than
 * the two-second default refresh (a namespace's search attributes, on SQL visibility aliases of
 * its pre-allocated columns, come with it), the visibility rate the dev server also raises, since
 * the local runtime lists its sessions by search attribute, and eager activity execution, as the
 * dev server is started with: a workflow task that schedules an activity gets it back in its
 * completion when the worker has a free slot, sparing a poll. Not the dev server's forced search
 * attribute refresh: "not to be turned on in production", it reads the cluster metadata from
 * PostgreSQL, under one lock per service, on every validation, visibility write and history read.
 */
export function temporalDynamicConfig(): string {
  const value = (v: unknown) => [{ value: v, constraints: {} }];
  return stringify({
    'system.namespaceCacheRefreshInterval': value('500ms'),
    'frontend.namespaceRPS.visibility': value(100),
    'system.enableActivityEagerExecution': value(true),
  });
}
