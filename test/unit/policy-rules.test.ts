/**
 * The NamespacePolicy rules' TypeScript side: patterns, hosts, quantities and durations compared
 * as the rule says, defaults from the AgentConfig applied before the check, the Secrets a session
 * references found wherever it names them, and the default policy read from the environment.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultPolicyFromEnv, effectivePolicy } from '../../src/policy/effective-policy.js';
import { matchesPattern, policyViolations, urlHost } from '../../src/policy/policy-rules.js';
import { policySubject } from '../../src/policy/policy-subject.js';
import {
  applyPolicy,
  resolvedPolicy,
  secretIsUsable,
  secretReferences,
} from '../../src/policy/session-policy.js';
import type { AgentConfig, AgentSessionSpec, NamespacePolicy } from '../../src/resources/types.js';
import { PolicyViolationError } from '../../src/session/errors.js';

const config = (spec: AgentConfig['spec']): AgentConfig => ({
  apiVersion: 'shepherd.dev/v1alpha1',
  kind: 'AgentConfig',
  metadata: { name: 'default' },
  spec,
});

test('a pattern is an exact value or a prefix ending in *', () => {
  assert.ok(matchesPattern('claude-sonnet-4', 'claude-sonnet-*'));
  assert.ok(matchesPattern('gpt-4o', 'gpt-4o'));
  assert.ok(!matchesPattern('gpt-4o-mini', 'gpt-4o'));
  assert.ok(!matchesPattern('claude-opus', 'claude-sonnet-*'));
});

test('the host of https, ssh and scp-like URLs; none for a local path', () => {
  assert.equal(urlHost('https://git.example.com:8443/team/x.git'), 'git.example.com');
  assert.equal(urlHost('ssh://git@git.example.com/team/x.git'), 'git.example.com');
  assert.equal(urlHost('git@github.com:team/x.git'), 'github.com');
  assert.equal(urlHost('/srv/git/x.git'), '');
  assert.equal(urlHost('file:///srv/git/x.git'), '');
});

test('quantities and durations are compared by value, not as text', () => {
  const subject = policySubject({
    timeout: '90m',
    resources: { limits: { memory: '4096Mi', cpu: '1500m' } },
    workspace: { size: '20Gi' },
  });
  assert.deepEqual(
    policyViolations('ns', subject, {
      maxTimeout: '2h',
      maxResources: { memory: '4Gi', cpu: 2 },
      maxWorkspaceSize: '20Gi',
    }),
    [],
  );
  const over = policyViolations('ns', subject, { maxTimeout: '1h', maxResources: { cpu: '1' } });
  assert.deepEqual(
    over.map((v) => v.message),
    [
      'NamespacePolicy ns/default rule maxTimeout: spec.timeout 90m is longer than the policy allows; set at most 1h',
      'NamespacePolicy ns/default rule maxResources: spec.resources asks for more than the policy allows: limits.cpu 1500m (at most 1)',
    ],
  );
});

test('an empty allow list allows nothing and says so', () => {
  const [violation] = policyViolations('ns', policySubject({ agent: 'claude' }), { allowedAgents: [] });
  assert.equal(
    violation?.message,
    'NamespacePolicy ns/default rule allowedAgents: spec.agent claude is not allowed; the policy allows none',
  );
});

test("the AgentConfig's defaults are what the rules check when the spec leaves a field out", () => {
  const subject = policySubject({}, config({ defaultImage: 'evil/miner:1', defaultAgent: 'opencode' }));
  const rules = policyViolations('ns', subject, {
    allowedImages: ['shepherd/*'],
    allowedAgents: ['claude'],
  }).map((v) => v.rule);
  assert.deepEqual(rules, ['allowedAgents', 'allowedImages']);
});

test('tolerations match an allowed one field by field; pod metadata by prefix', () => {
  const policy = {
    allowedTolerations: [{ key: 'dedicated', value: 'agents' }],
    allowedPodMetadataPrefixes: ['team.example.com/'],
  };
  const ok = policySubject({
    tolerations: [{ key: 'dedicated', value: 'agents', effect: 'NoSchedule' }],
    podMetadata: { labels: { 'team.example.com/cost': 'a' } },
  });
  assert.deepEqual(policyViolations('ns', ok, policy), []);
  const bad = policySubject({
    tolerations: [{ key: 'dedicated', operator: 'Exists' }],
    podMetadata: { annotations: { 'sidecar.istio.io/inject': 'false' } },
  });
  assert.deepEqual(
    policyViolations('ns', bad, policy).map((v) => v.message),
    [
      "NamespacePolicy ns/default rule allowedTolerations: spec.tolerations dedicated Exists is not allowed; ask for one the policy's allowedTolerations lists",
      'NamespacePolicy ns/default rule allowedPodMetadataPrefixes: spec.podMetadata key sidecar.istio.io/inject is not allowed; use a key starting with team.example.com/',
    ],
  );
});

test('every Secret a session references is found, with the field that names it', () => {
  const spec: AgentSessionSpec = {
    provider: { authTokenSecretRef: { name: 'token', key: 'k' } },
    repos: [{ url: 'https://x/y.git', credentialsSecretRef: { name: 'git', key: 'k' } }],
    env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env', key: 'k' } } }],
  };
  const refs = secretReferences(
    spec,
    config({ env: [{ name: 'B', valueFrom: { secretKeyRef: { name: 'config-env', key: 'k' } } }] }),
    undefined,
  );
  assert.deepEqual(refs, [
    { name: 'token', field: 'spec.provider.authTokenSecretRef' },
    { name: 'git', field: 'spec.repos[0].credentialsSecretRef' },
    { name: 'config-env', field: 'AgentConfig default spec.env[0].valueFrom.secretKeyRef' },
    { name: 'env', field: 'spec.env[0].valueFrom.secretKeyRef' },
  ]);
  assert.ok(secretIsUsable({ 'shepherd.dev/usable': 'true', other: 'x' }, { 'shepherd.dev/usable': 'true' }));
  assert.ok(!secretIsUsable({ 'shepherd.dev/usable': 'false' }, { 'shepherd.dev/usable': 'true' }));
  assert.ok(!secretIsUsable(undefined, { 'shepherd.dev/usable': 'true' }));
});

test("a namespace's own policy replaces the installation's default whole", () => {
  const own = { spec: { maxRetries: 5 } } as NamespacePolicy;
  assert.deepEqual(effectivePolicy(own, { maxRetries: 1, allowedImages: [] }), {
    spec: { maxRetries: 5 },
    source: 'namespace',
  });
  assert.equal(effectivePolicy(undefined, { maxRetries: 1 }).source, 'default');
});

test('applyPolicy throws every broken rule and returns what acts while the session runs', () => {
  assert.throws(
    () =>
      applyPolicy('ns', { retries: 3, image: 'x' }, undefined, {
        spec: { maxRetries: 1, allowedImages: ['y'] },
        source: 'default',
      }),
    (error: unknown) =>
      error instanceof PolicyViolationError &&
      /rule allowedImages: spec\.image x .*; NamespacePolicy ns\/default rule maxRetries: spec\.retries 3 /.test(
        error.message,
      ),
  );
  assert.equal(resolvedPolicy({ maxRetries: 1 }), undefined);
  assert.deepEqual(resolvedPolicy({ maxConcurrentSessions: 2, tools: { denied: ['Bash'] } }), {
    maxConcurrentSessions: 2,
    tools: { denied: ['Bash'] },
  });
});

test('SHEPHERD_DEFAULT_POLICY is a JSON object or a clear error', () => {
  assert.deepEqual(defaultPolicyFromEnv({}), {});
  assert.deepEqual(defaultPolicyFromEnv({ SHEPHERD_DEFAULT_POLICY: '{"maxRetries":1}' }), { maxRetries: 1 });
  assert.throws(
    () => defaultPolicyFromEnv({ SHEPHERD_DEFAULT_POLICY: '[1]' }),
    /SHEPHERD_DEFAULT_POLICY must be a JSON object/,
  );
  assert.throws(
    () => defaultPolicyFromEnv({ SHEPHERD_DEFAULT_POLICY: '{' }),
    /SHEPHERD_DEFAULT_POLICY is not JSON/,
  );
});
