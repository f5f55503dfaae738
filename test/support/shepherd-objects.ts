/**
 * Creating and reading Shepherd's custom resources in tests (and the benchmark), as `kubectl apply`
 * and `kubectl get` would.
 */
import * as k8s from '@kubernetes/client-node';
import {
  AGENT_CONFIG_NAME,
  GROUP,
  KIND,
  NAMESPACE_POLICY_NAME,
  PLURAL,
  VERSION,
} from '../../src/resources/constants.js';
import type {
  AgentConfig,
  AgentConfigSpec,
  AgentProvider,
  AgentProviderSpec,
  AgentSession,
  AgentSessionSpec,
  NamespacePolicy,
  NamespacePolicySpec,
} from '../../src/resources/types.js';

type Kind = keyof typeof KIND;

/** Clients for one cluster's Shepherd objects. */
export function shepherdObjects(kc: k8s.KubeConfig) {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const create = <T>(
    kind: Kind,
    namespace: string,
    name: string,
    spec: unknown,
    labels?: Record<string, string>,
  ) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL[kind],
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: KIND[kind],
        metadata: { name, ...(labels ? { labels } : {}) },
        spec,
      },
    }) as Promise<T>;
  const read = <T>(kind: Kind, namespace: string, name: string) =>
    custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL[kind],
      name,
    }) as Promise<T>;
  return {
    createSession: (
      namespace: string,
      name: string,
      spec: AgentSessionSpec,
      labels?: Record<string, string>,
    ) => create<AgentSession>('agentSession', namespace, name, spec, labels),
    readSession: (namespace: string, name: string) => read<AgentSession>('agentSession', namespace, name),
    /** Changes fields of a session's spec, as `kubectl patch --type merge` does. */
    patchSession: (namespace: string, name: string, spec: Partial<AgentSessionSpec>) =>
      custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL.agentSession,
          name,
          body: { spec },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ) as Promise<AgentSession>,
    createProvider: (namespace: string, name: string, spec: AgentProviderSpec) =>
      create<AgentProvider>('agentProvider', namespace, name, spec),
    readProvider: (namespace: string, name: string) => read<AgentProvider>('agentProvider', namespace, name),
    /** The namespace's AgentConfig, under the one name that counts. */
    createConfig: (namespace: string, spec: AgentConfigSpec) =>
      create<AgentConfig>('agentConfig', namespace, AGENT_CONFIG_NAME, spec),
    /** The namespace's NamespacePolicy, under the one name that counts. */
    createPolicy: (namespace: string, spec: NamespacePolicySpec) =>
      create<NamespacePolicy>('namespacePolicy', namespace, NAMESPACE_POLICY_NAME, spec),
    readPolicy: (namespace: string) =>
      read<NamespacePolicy>('namespacePolicy', namespace, NAMESPACE_POLICY_NAME),
  };
}
