/**
 * The ValidatingAdmissionPolicy in the chart is generated from the policy rules: the committed
 * files must be what the generator writes now, and the policy must hold one validation per rule,
 * judge only the spec, and leave a namespace without a NamespacePolicy alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { admissionFiles, admissionObjects } from '../../src/policy/admission-policy.js';
import { POLICY_RULES } from '../../src/policy/policy-rules.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';

const dir = new URL('../../charts/shepherd/files/admission/', import.meta.url);

interface Validation {
  expression: string;
  messageExpression: string;
  reason: string;
}

describe('NamespacePolicy admission policy', () => {
  it('the chart holds what src/policy/admission-policy.ts generates', () => {
    const files = admissionFiles();
    for (const [name, text] of [
      ['validating-admission-policy.yaml', files.policy],
      ['validating-admission-policy-binding.yaml', files.binding],
    ] as const) {
      assert.equal(
        readFileSync(new URL(name, dir), 'utf8'),
        text,
        `charts/shepherd/files/admission/${name} is out of date: run npm run policy:sync`,
      );
    }
  });

  it('has one validation per rule, each naming the rule and field in its message', () => {
    const { policy } = admissionObjects();
    const spec = (policy as { spec: { validations: Validation[] } }).spec;
    assert.equal(spec.validations.length, POLICY_RULES.length);
    POLICY_RULES.forEach((rule, i) => {
      const validation = spec.validations[i]!;
      assert.ok(validation.expression.includes(rule.cel));
      assert.ok(
        validation.messageExpression.includes(`/default rule ${rule.rule}: ${rule.field} '`),
        validation.messageExpression,
      );
      assert.equal(validation.reason, 'Forbidden');
    });
  });

  it('matches AgentSession creates and updates, not their status, and allows a namespace without a policy', () => {
    const { policy, binding } = admissionObjects();
    assert.deepEqual((policy as { spec: { matchConstraints: unknown } }).spec.matchConstraints, {
      resourceRules: [
        {
          apiGroups: [GROUP],
          apiVersions: [VERSION],
          operations: ['CREATE', 'UPDATE'],
          resources: [PLURAL.agentSession],
        },
      ],
    });
    assert.deepEqual((binding as { spec: unknown }).spec, {
      policyName: 'shepherd-namespace-policy',
      paramRef: { name: 'default', parameterNotFoundAction: 'Allow' },
      validationActions: ['Deny'],
    });
    assert.equal(
      (parse(admissionFiles().policy) as { spec: { failurePolicy: string } }).spec.failurePolicy,
      'Fail',
    );
  });
});
