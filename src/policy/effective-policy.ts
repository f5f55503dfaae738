/**
 * Which NamespacePolicy rules hold in a namespace: its own NamespacePolicy named `default` when
 * it has one, else the installation's default policy (the chart's `defaultPolicy` values, given
 * to the worker and the API as SHEPHERD_DEFAULT_POLICY). A namespace's own policy replaces the
 * default whole rather than merging with it, so what a namespace allows is read in one object.
 */
import type { NamespacePolicy, NamespacePolicySpec } from '../resources/types.js';

/** The rules of a namespace, and where they come from (for messages and status). */
export interface EffectivePolicy {
  spec: NamespacePolicySpec;
  /** `namespace` for the namespace's own NamespacePolicy, `default` for the installation's. */
  source: 'namespace' | 'default';
}

/** The policy of a namespace whose NamespacePolicy `default` is `own` (undefined when it has none). */
export function effectivePolicy(
  own: NamespacePolicy | undefined,
  installationDefault: NamespacePolicySpec,
): EffectivePolicy {
  return own
    ? { spec: own.spec ?? {}, source: 'namespace' }
    : { spec: installationDefault, source: 'default' };
}

/**
 * The installation's default policy from SHEPHERD_DEFAULT_POLICY (a NamespacePolicy spec as
 * JSON); none means no limits.
 *
 * @throws Error naming the variable when it is not a JSON object.
 */
export function defaultPolicyFromEnv(env: NodeJS.ProcessEnv): NamespacePolicySpec {
  const text = env.SHEPHERD_DEFAULT_POLICY?.trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `SHEPHERD_DEFAULT_POLICY is not JSON (${(error as Error).message}); set it to a NamespacePolicy spec as a JSON object`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('SHEPHERD_DEFAULT_POLICY must be a JSON object: a NamespacePolicy spec');
  }
  return parsed;
}
