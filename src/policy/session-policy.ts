/**
 * A session under its namespace's policy: the rules checked (a broken one throws
 * `PolicyViolationError` naming the rule and the field), the Secrets it references listed so the
 * worker can check their labels before it reads one, and the parts of the policy that act while
 * the session runs picked out for the resolved session. Pure: the caller reads the objects.
 */
import type {
  AgentConfig,
  AgentProvider,
  AgentSessionSpec,
  NamespacePolicySpec,
} from '../resources/types.js';
import { PolicyViolationError } from '../session/errors.js';
import type { ResolvedPolicy } from '../session/resolved-session.js';
import type { EffectivePolicy } from './effective-policy.js';
import { type PolicyViolation, policyViolations } from './policy-rules.js';
import { policySubject } from './policy-subject.js';

/** A Secret a session makes Shepherd (or its runner pod) read, and the field that names it. */
export interface SecretReference {
  name: string;
  field: string;
}

/** Every Secret `spec` references, directly or through its provider and the AgentConfig's env. */
export function secretReferences(
  spec: AgentSessionSpec,
  config: AgentConfig | undefined,
  provider: AgentProvider | undefined,
): SecretReference[] {
  const refs: SecretReference[] = [];
  if (spec.provider?.authTokenSecretRef) {
    refs.push({ name: spec.provider.authTokenSecretRef.name, field: 'spec.provider.authTokenSecretRef' });
  } else if (provider?.spec.authTokenSecretRef) {
    refs.push({
      name: provider.spec.authTokenSecretRef.name,
      field: `AgentProvider ${provider.metadata.name} spec.authTokenSecretRef`,
    });
  }
  (spec.repos ?? []).forEach((repo, index) => {
    if (repo.credentialsSecretRef) {
      refs.push({ name: repo.credentialsSecretRef.name, field: `spec.repos[${index}].credentialsSecretRef` });
    }
  });
  const env = [
    ...(config?.spec?.env ?? []).map((variable, index) => ({
      variable,
      field: `AgentConfig default spec.env[${index}]`,
    })),
    ...(spec.env ?? []).map((variable, index) => ({ variable, field: `spec.env[${index}]` })),
  ];
  for (const { variable, field } of env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) refs.push({ name: ref.name, field: `${field}.valueFrom.secretKeyRef` });
  }
  return refs;
}

/** Whether a Secret's labels make it usable under `labels` (every one present with its value). */
export function secretIsUsable(
  secretLabels: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(labels).every(([key, value]) => secretLabels?.[key] === value);
}

/** The message for a Secret the policy does not let sessions use. */
export function unusableSecretMessage(
  namespace: string,
  ref: SecretReference,
  labels: Record<string, string>,
): string {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return `NamespacePolicy ${namespace}/default rule usableSecrets: ${ref.field} names Secret ${ref.name}, which is not labelled ${wanted}; label it (kubectl label secret ${ref.name} -n ${namespace} ${wanted}) or reference another`;
}

/** Every rule `spec` breaks once the AgentConfig's defaults apply, in the rule table's order. */
export function sessionViolations(
  namespace: string,
  spec: AgentSessionSpec,
  config: AgentConfig | undefined,
  policy: EffectivePolicy,
): PolicyViolation[] {
  return policyViolations(namespace, policySubject(spec, config), policy.spec);
}

/**
 * Checks `spec` against the policy and returns what of it the session carries.
 *
 * @throws PolicyViolationError for the first rule broken (every broken rule is in its message).
 */
export function applyPolicy(
  namespace: string,
  spec: AgentSessionSpec,
  config: AgentConfig | undefined,
  policy: EffectivePolicy,
): ResolvedPolicy | undefined {
  const violations = sessionViolations(namespace, spec, config, policy);
  if (violations.length > 0) {
    throw new PolicyViolationError(violations.map((violation) => violation.message).join('; '));
  }
  return resolvedPolicy(policy.spec);
}

/** The parts of a policy that act while a session runs; undefined when it sets none. */
export function resolvedPolicy(spec: NamespacePolicySpec): ResolvedPolicy | undefined {
  const resolved: ResolvedPolicy = {
    ...(spec.usableSecrets ? { usableSecretLabels: { ...spec.usableSecrets.matchLabels } } : {}),
    ...(spec.tools ? { tools: structuredClone(spec.tools) } : {}),
    ...(spec.egress ? { egress: structuredClone(spec.egress) } : {}),
    ...(spec.maxConcurrentSessions === undefined
      ? {}
      : { maxConcurrentSessions: spec.maxConcurrentSessions }),
    ...(spec.budget ? { budget: { ...spec.budget } } : {}),
  };
  return Object.keys(resolved).length > 0 ? resolved : undefined;
}
