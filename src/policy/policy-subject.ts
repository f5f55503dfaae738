/**
 * What the NamespacePolicy rules look at, built from an AgentSession spec with the namespace's
 * AgentConfig defaults applied as `resolveSession` applies them: the API and the workflow check
 * the session that will run, not only what its author wrote.
 */
import type { AgentConfig, AgentSessionSpec } from '../resources/types.js';
import { agentFor, BUILT_IN_DEFAULTS } from '../session/resolve-session.js';
import type { PolicySubject } from './policy-rules.js';

/** The policy subject of `spec` in a namespace whose AgentConfig is `config`. */
export function policySubject(spec: AgentSessionSpec, config?: AgentConfig): PolicySubject {
  const defaults = config?.spec ?? {};
  const timeout = spec.timeout ?? defaults.defaultTimeout;
  const workspaceSize = spec.workspace?.size ?? defaults.storageSize ?? BUILT_IN_DEFAULTS.workspaceSize;
  return {
    agent: agentFor(spec, config),
    ...(spec.model === undefined ? {} : { model: spec.model }),
    image: spec.image ?? defaults.defaultImage ?? BUILT_IN_DEFAULTS.image,
    repoUrls: (spec.repos ?? []).map((repo) => repo.url),
    ...(spec.pullRequest?.forge?.url ? { forgeUrl: spec.pullRequest.forge.url } : {}),
    ...(timeout === undefined ? {} : { timeout }),
    ...(spec.retries === undefined ? {} : { retries: spec.retries }),
    ...(spec.resources ? { resources: spec.resources } : {}),
    workspaceSize,
    nodeSelector: spec.nodeSelector ?? {},
    tolerations: spec.tolerations ?? [],
    podLabels: spec.podMetadata?.labels ?? {},
    podAnnotations: spec.podMetadata?.annotations ?? {},
  };
}
