/**
 * AgentProvider readiness: a provider is ready only when the Secret its `authTokenSecretRef`
 * names exists and holds the key. Computed here once for both users: the session
 * activities (a session is never started on an unready provider) and the provider status
 * reconciler, which keeps `status.ready` and the `Ready` condition true to that for `kubectl`.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { type ReconcileLoop, createReconcileLoop } from '../../reconcile/reconcile-loop.js';
import { type WatchNamespaces, customObjectCollection, listWatched } from '../../reconcile/watch-scope.js';
import { setStatusCondition } from '../../resources/conditions.js';
import { GROUP, PLURAL, VERSION } from '../../resources/constants.js';
import type { AgentProvider } from '../../resources/types.js';

/** Whether a provider is ready, and why, in words that name the Secret and key (never a value). */
export interface ProviderReadiness {
  ready: boolean;
  reason: 'SecretFound' | 'SecretNotFound' | 'SecretKeyMissing' | 'NoTokenNeeded';
  message: string;
}

/** Reads the provider's Secret (only to see whether the key is there) and says whether it is ready. */
export async function providerReadiness(
  core: k8s.CoreV1Api,
  namespace: string,
  provider: AgentProvider,
): Promise<ProviderReadiness> {
  const ref = provider.spec.authTokenSecretRef;
  if (!ref) return { ready: true, reason: 'NoTokenNeeded', message: 'the provider needs no auth token' };
  let secret: k8s.V1Secret;
  try {
    secret = await core.readNamespacedSecret({ name: ref.name, namespace });
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) {
      return {
        ready: false,
        reason: 'SecretNotFound',
        message: `Secret ${ref.name} named by authTokenSecretRef does not exist in namespace ${namespace}; create it with key ${ref.key}`,
      };
    }
    throw error;
  }
  if (secret.data?.[ref.key] === undefined) {
    return {
      ready: false,
      reason: 'SecretKeyMissing',
      message: `Secret ${ref.name} has no key ${ref.key}; add it or point authTokenSecretRef.key at the right key`,
    };
  }
  return { ready: true, reason: 'SecretFound', message: `Secret ${ref.name} holds key ${ref.key}` };
}

/** The provider with its status set from `readiness` (Ready condition with SetStatusCondition semantics). */
export function withReadiness(
  provider: AgentProvider,
  readiness: ProviderReadiness,
  now: Date,
): AgentProvider {
  const { conditions } = setStatusCondition(
    provider.status?.conditions,
    {
      type: 'Ready',
      status: readiness.ready ? 'True' : 'False',
      reason: readiness.reason,
      message: readiness.message,
      ...(provider.metadata.generation === undefined
        ? {}
        : { observedGeneration: provider.metadata.generation }),
    },
    now,
  );
  return { ...provider, status: { ...provider.status, ready: readiness.ready, conditions } };
}

/** Options of {@link createProviderStatusReconciler}. */
export interface ProviderStatusReconcilerOptions {
  kubeConfig: k8s.KubeConfig;
  logger: Logger;
  /** The namespaces whose AgentProviders are checked. @default every namespace */
  namespaces?: WatchNamespaces;
  /** How often every AgentProvider is checked. @default 10000 */
  intervalMs?: number;
}

/**
 * Keeps every AgentProvider's status true to its Secret: lists the providers every `intervalMs`
 * and writes the status of those whose readiness changed. Level-triggered and idempotent, so any
 * number of workers may run it.
 */
export function createProviderStatusReconciler(
  options: ProviderStatusReconcilerOptions,
): Pick<ReconcileLoop, 'start' | 'stop'> {
  const core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const custom = options.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const intervalMs = options.intervalMs ?? 10_000;

  const providers = customObjectCollection(custom, {
    group: GROUP,
    version: VERSION,
    plural: PLURAL.agentProvider,
  });

  const reconcileAll = async () => {
    // Typed by client-node's object shape; the API returns plain AgentProvider JSON.
    const listed = (await listWatched(options.namespaces, providers)) as unknown as AgentProvider[];
    for (const provider of listed) {
      const namespace = provider.metadata.namespace ?? '';
      const updated = withReadiness(provider, await providerReadiness(core, namespace, provider), new Date());
      if (JSON.stringify(updated.status) === JSON.stringify(provider.status)) continue;
      try {
        await custom.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL.agentProvider,
          name: provider.metadata.name,
          body: updated,
        });
        options.logger.info(
          { namespace, provider: provider.metadata.name, ready: updated.status?.ready },
          'provider status updated',
        );
      } catch (error) {
        // A conflict or a deleted provider: the next round sees the current object.
        options.logger.debug(
          { namespace, provider: provider.metadata.name, error: (error as Error).message },
          'provider status not written',
        );
      }
    }
  };

  const loop = createReconcileLoop({
    name: 'provider status reconciler',
    logger: options.logger,
    resync: reconcileAll,
    resyncIntervalMs: intervalMs,
    resyncAtStart: true,
  });
  return { start: () => loop.start(), stop: () => loop.stop() };
}
