/**
 * Writes the namespace workflow's totals — the month's spending and tokens, the sessions running
 * and queued — into the status of the namespace's NamespacePolicy `default`, where `kubectl get
 * namespacepolicies` shows them. A namespace without its own policy (the installation default
 * applies) has nowhere to show them: the namespace workflow's query still has them.
 */
import * as k8s from '@kubernetes/client-node';
import { GROUP, NAMESPACE_POLICY_NAME, PLURAL, VERSION } from '../../resources/constants.js';
import type { NamespaceUsageStatus } from '../../workflows/namespace-contract.js';

/** A writer of NamespacePolicy status through `kubeConfig`. */
export function namespacePolicyStatusWriter(
  kubeConfig: k8s.KubeConfig,
): (namespace: string, status: NamespaceUsageStatus) => Promise<void> {
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  return async (namespace, status) => {
    try {
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL.namespacePolicy,
          name: NAMESPACE_POLICY_NAME,
          body: { status },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return;
      throw error;
    }
  };
}
