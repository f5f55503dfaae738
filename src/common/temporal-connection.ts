/**
 * How the worker and the API reach Temporal: the standard Temporal client configuration
 * (`@temporalio/envconfig`: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS*`, `TEMPORAL_GRPC_META_*`, and a `TEMPORAL_CONFIG_FILE`/`TEMPORAL_PROFILE` profile),
 * so a self-hosted Temporal with mTLS and Temporal Cloud with an API key are configured the same
 * way as for the `temporal` CLI and every other SDK. One home for it, so the worker's two
 * connections and the API's never disagree.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';

/** The options both `Connection.connect` and `NativeConnection.connect` take. */
export interface TemporalConnectOptions {
  address: string;
  tls?: NonNullable<ReturnType<typeof loadClientConnectConfig>['connectionOptions']['tls']>;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** Where to connect and which namespace to use. */
export interface TemporalTarget {
  connection: TemporalConnectOptions;
  namespace: string;
}

/**
 * Reads the Temporal target from `env` (defaults: `127.0.0.1:7233`, namespace `default`, no TLS).
 * Throws an error naming the setting when a certificate file cannot be read or a value is bad;
 * the error never carries the API key.
 */
export function temporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  let loaded;
  try {
    loaded = loadClientConnectConfig({
      overrideEnvVars: Object.fromEntries(
        Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
    });
  } catch (error) {
    throw new Error(
      `the Temporal connection settings (TEMPORAL_* variables or TEMPORAL_CONFIG_FILE) are invalid: ${(error as Error).message}`,
    );
  }
  const { address, tls, apiKey, metadata } = loaded.connectionOptions;
  const connection: TemporalConnectOptions = { address: address ?? '127.0.0.1:7233' };
  if (tls) connection.tls = tls;
  if (typeof apiKey === 'string' && apiKey) connection.apiKey = apiKey;
  if (metadata && Object.keys(metadata).length > 0) connection.metadata = metadata as Record<string, string>;
  return { connection, namespace: loaded.namespace ?? 'default' };
}
