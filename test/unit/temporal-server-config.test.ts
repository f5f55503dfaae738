/**
 * The PostgreSQL-backed Temporal's configuration: the files temporal-server reads, the ports it
 * can store, and the option that selects the backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { temporalBackendFromEnv } from '../../src/devenv/environment.js';
import { freeLowPorts } from '../../src/processes/ports.js';
import { temporalDynamicConfig, temporalServerConfig } from '../../src/processes/temporal-server-config.js';

interface Rpc {
  grpcPort: number;
  membershipPort: number;
  bindOnLocalHost: boolean;
  httpPort?: number;
}
/** The parts of temporal-server's config file the tests read. */
interface ServerConfig {
  persistence: {
    numHistoryShards: number;
    visibilityStore: string;
    datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }>;
  };
  services: Record<string, { rpc: Rpc }>;
  clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
  global: { metrics: { prometheus: { listenAddress: string } }; pprof: { port: number; host: string } };
  dynamicConfigClient: { filepath: string };
}

const ports = {
  frontend: { grpc: 40001, membership: 21001 },
  history: { grpc: 40002, membership: 21002 },
  matching: { grpc: 40003, membership: 21003 },
  worker: { grpc: 40004, membership: 21004 },
};

test('the server config puts both stores on the private PostgreSQL and every service on its own ports', () => {
  const config = parse(
    temporalServerConfig({
      postgresPort: 5999,
      ports,
      frontendHttpPort: 40005,
      metricsPort: 40006,
      pprofPort: 40007,
      historyShards: 8,
      dynamicConfigFile: '/env/dynamic.yaml',
    }),
  ) as ServerConfig;
  assert.equal(config.persistence.numHistoryShards, 8);
  for (const [store, database] of [
    ['postgres-default', 'temporal'],
    ['postgres-visibility', 'temporal_visibility'],
  ] as const) {
    const sql = config.persistence.datastores[store]?.sql;
    assert.ok(sql, store);
    assert.equal(sql.pluginName, 'postgres12');
    assert.equal(sql.databaseName, database);
    assert.equal(sql.connectAddr, '127.0.0.1:5999');
  }
  assert.equal(config.persistence.visibilityStore, 'postgres-visibility');
  assert.deepEqual(config.services.history?.rpc, {
    grpcPort: 40002,
    membershipPort: 21002,
    bindOnLocalHost: true,
  });
  assert.equal(config.services.frontend?.rpc.httpPort, 40005);
  assert.equal(config.clusterMetadata.clusterInformation.active.rpcAddress, '127.0.0.1:40001');
  assert.equal(config.global.metrics.prometheus.listenAddress, '127.0.0.1:40006');
  assert.deepEqual(config.global.pprof, { port: 40007, host: '127.0.0.1' });
  assert.equal(config.dynamicConfigClient.filepath, '/env/dynamic.yaml');
});

test("the dynamic config is in the server file format, without the dev server's test-only settings", () => {
  const dynamic = parse(temporalDynamicConfig()) as Record<string, { value: unknown; constraints: object }[]>;
  assert.deepEqual(dynamic['system.namespaceCacheRefreshInterval'], [{ value: '500ms', constraints: {} }]);
  // Forcing a read of the cluster metadata on every search attribute lookup serialises the
  // server on PostgreSQL; SQL visibility's attributes come with the namespace anyway.
  assert.equal(dynamic['system.forceSearchAttributesCacheRefreshOnRead'], undefined);
  for (const values of Object.values(dynamic)) {
    assert.equal(values.length, 1);
    assert.ok('value' in (values[0] as object));
  }
});

test('membership ports fit the smallint column Temporal keeps them in, and are distinct', async () => {
  const low = await freeLowPorts(6);
  assert.equal(new Set(low).size, 6);
  for (const port of low) assert.ok(port >= 20_000 && port <= 32_767, `${port}`);
});

test('SHEPHERD_TEMPORAL_BACKEND selects the backend and names its values when wrong', () => {
  assert.equal(temporalBackendFromEnv({}), 'dev');
  assert.equal(temporalBackendFromEnv({ SHEPHERD_TEMPORAL_BACKEND: 'postgres' }), 'postgres');
  assert.throws(
    () => temporalBackendFromEnv({ SHEPHERD_TEMPORAL_BACKEND: 'mysql' }),
    /SHEPHERD_TEMPORAL_BACKEND="mysql" is not a Temporal backend: use dev .* or postgres/,
  );
});
