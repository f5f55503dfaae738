/**
 * The NamespacePolicy rules as a ValidatingAdmissionPolicy, so `kubectl apply` of an AgentSession
 * that breaks its namespace's policy is refused by the API server itself, before any workflow
 * starts, with no webhook to run or to keep available. It is generated from POLICY_RULES (the CEL
 * written beside each TypeScript check), never written by hand, so the three enforcement points
 * cannot drift apart; `npm run policy:sync` writes it into the chart.
 *
 * A policy change must never break a running session: only the spec is judged, and on UPDATE only
 * the spec fields that changed. Status writes go through the status subresource, which the
 * `agentsessions` resource rule does not match, and metadata-only updates (annotations, owner
 * references) do not pass the match condition.
 */
import { stringify } from 'yaml';
import { GROUP, KIND, NAMESPACE_POLICY_NAME, PLURAL, VERSION } from '../resources/constants.js';
import { POLICY_RULES, type PolicyRule } from './policy-rules.js';

/** The name of both objects; the chart prefixes it with the release's name past the first. */
export const ADMISSION_POLICY_NAME = 'shepherd-namespace-policy';

/** The ValidatingAdmissionPolicy and its binding, as the API server takes them. */
export interface AdmissionObjects {
  policy: Record<string, unknown>;
  binding: Record<string, unknown>;
}

const LABELS = { 'app.kubernetes.io/name': 'shepherd', 'app.kubernetes.io/part-of': 'shepherd' };

/**
 * CEL, true on an UPDATE whose spec field `path` is as it was (both unset, or equal): a field the
 * session already had was admitted under the policy of its day and is not judged again.
 */
export function unchangedExpression(path: string): string {
  const old = `oldObject.spec.${path}`;
  const now = `object.spec.${path}`;
  return `(request.operation == 'UPDATE' && has(oldObject.spec) && (has(${old}) ? has(${now}) && ${now} == ${old} : !has(${now})))`;
}

/**
 * The validation of one rule. A policy without a spec sets no rule; the rest is the rule's own
 * CEL. `has()` of a field under `params.spec` fails when spec itself is absent, hence the guard.
 */
function validation(entry: PolicyRule, namespaceName: string) {
  const { rule, field } = entry;
  return {
    expression: `!has(params.spec) || ${unchangedExpression(entry.specPath)} || (${entry.cel})`,
    // The API server falls back to `message` should the expression fail to evaluate.
    message: `NamespacePolicy ${namespaceName} rule ${rule}: ${field} breaks the namespace's policy`,
    messageExpression: `'NamespacePolicy ' + request.namespace + '/${namespaceName} rule ${rule}: ${field} ' + (${entry.celDetail})`,
    reason: 'Forbidden',
  };
}

/** The policy and binding built from POLICY_RULES. */
export function admissionObjects(): AdmissionObjects {
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: ADMISSION_POLICY_NAME, labels: LABELS },
    spec: {
      failurePolicy: 'Fail',
      paramKind: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND.namespacePolicy },
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ['CREATE', 'UPDATE'],
            // `agentsessions` alone does not match `agentsessions/status`: the worker's status
            // writes never meet this policy.
            resources: [PLURAL.agentSession],
          },
        ],
      },
      matchConditions: [
        {
          // An UPDATE that leaves the spec as it was (labels, annotations, owner references) is
          // not judged at all, whatever the policy says now.
          name: 'spec-written',
          expression:
            "request.operation != 'UPDATE' || !has(oldObject.spec) || !has(object.spec) || object.spec != oldObject.spec",
        },
      ],
      validations: POLICY_RULES.map((entry) => validation(entry, NAMESPACE_POLICY_NAME)),
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: ADMISSION_POLICY_NAME, labels: LABELS },
    spec: {
      policyName: ADMISSION_POLICY_NAME,
      // No namespace: the params are the NamespacePolicy in the namespace of the session. A
      // namespace without one is not limited here (the workflow applies the installation's
      // default policy there).
      paramRef: { name: NAMESPACE_POLICY_NAME, parameterNotFoundAction: 'Allow' },
      validationActions: ['Deny'],
    },
  };
  return { policy, binding };
}

const HEADER = (what: string) =>
  [
    `# ${what} of the NamespacePolicy rules, generated from src/policy/policy-rules.ts by`,
    '# src/policy/admission-policy.ts. Do not edit: run npm run policy:sync.',
    '',
  ].join('\n');

/** The two chart files: the policy and the binding, each a YAML document with its header. */
export function admissionFiles(): { policy: string; binding: string } {
  const { policy, binding } = admissionObjects();
  // lineWidth 0: the CEL stays on one line, as the API server shows it back.
  const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });
  return {
    policy: HEADER('The ValidatingAdmissionPolicy') + yaml(policy),
    binding: HEADER('The ValidatingAdmissionPolicyBinding') + yaml(binding),
  };
}
