/**
 * Where the forge, Jira, Slack and webhook credentials of triggers and sessions are read from, as
 * one port with two implementations: Secrets in the trigger's namespace (Kubernetes), or the local
 * resources file and the worker's environment (local runtime). A missing Secret or key is
 * `undefined`, for the caller to turn into an error that names the reference; values never appear
 * in an error.
 */
import * as k8s from '@kubernetes/client-node';
import { statusOf } from '../runtime/kubernetes/api-refusal.js';
import type { LocalResources } from './local-resources.js';

/** A key of a Secret. */
export interface SecretKey {
  name: string;
  key: string;
}

/** Reads Secret values. */
export interface SecretSource {
  /** The value of `ref` in `namespace`, or undefined when the Secret or the key is missing. */
  read(namespace: string, ref: SecretKey): Promise<string | undefined>;
}

/** Secrets of the Kubernetes API, read when asked (callers cache what they must keep). */
export function kubernetesSecretSource(kubeConfig: k8s.KubeConfig): SecretSource {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  return {
    async read(namespace, ref) {
      let secret: k8s.V1Secret;
      try {
        secret = await core.readNamespacedSecret({ name: ref.name, namespace });
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
      const encoded = secret.data?.[ref.key];
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
    },
  };
}

/**
 * The local runtime's secrets: a Secret of that name and namespace in the local resources file,
 * else — as for the session's own secrets in the local runtime — the environment variable named
 * by the key.
 */
export function localSecretSource(
  resources: () => LocalResources,
  env: NodeJS.ProcessEnv = process.env,
): SecretSource {
  return { read: (namespace, ref) => Promise.resolve(localSecretValue(resources(), namespace, ref, env)) };
}

/** The local runtime's value of `ref` in `namespace` (see {@link localSecretSource}), read at once. */
export function localSecretValue(
  resources: LocalResources,
  namespace: string,
  ref: SecretKey,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const secret = resources.secrets.find(
    (s) => s.metadata.name === ref.name && (s.metadata.namespace ?? 'default') === namespace,
  );
  if (secret) {
    const plain = secret.stringData?.[ref.key];
    if (plain !== undefined) return plain;
    const encoded = secret.data?.[ref.key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  }
  const value = env[ref.key];
  return value === undefined || value === '' ? undefined : value;
}
