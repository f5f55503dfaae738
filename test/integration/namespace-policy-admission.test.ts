/**
 * The NamespacePolicy rules at `kubectl apply`, against the real API server and the chart's
 * ValidatingAdmissionPolicy (the run's release installs it): each rule refuses a session that
 * breaks it with the very message the TypeScript check gives, a session that keeps it is
 * admitted, a namespace without a policy is not limited, and a policy tightened under a running
 * session never stops that session's status, metadata or unrelated spec from being written.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { ADMISSION_POLICY_NAME } from '../../src/policy/admission-policy.js';
import { POLICY_RULES, policyViolations } from '../../src/policy/policy-rules.js';
import { policySubject } from '../../src/policy/policy-subject.js';
import type { AgentSessionSpec, NamespacePolicySpec } from '../../src/resources/types.js';
import { envVar, eventually, kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
const kubectl = (args: string[], input?: string) =>
  execa(envVar('SHEPHERD_KUBECTL'), args, {
    ...(input === undefined ? {} : { input }),
    env: { ...process.env, KUBECONFIG: envVar('KUBECONFIG') },
    reject: false,
  });

const BASE: AgentSessionSpec = { agent: 'command', command: ['true'], desiredState: 'Stopped' };

// JSON, not YAML: kubectl reads YAML 1.1, where a value such as n or yes is a boolean.
function sessionJson(name: string, spec: Partial<AgentSessionSpec>): string {
  return JSON.stringify({
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name },
    spec: { ...BASE, ...spec },
  });
}

function policyJson(spec: NamespacePolicySpec): string {
  return JSON.stringify({
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'NamespacePolicy',
    metadata: { name: 'default' },
    spec,
  });
}

/** One rule's case: a policy that sets it, a session that breaks it and one that keeps it. */
interface RuleCase {
  policy: NamespacePolicySpec;
  violating: Partial<AgentSessionSpec>;
  compliant: Partial<AgentSessionSpec>;
}

const claude = { agent: 'claude', initialPrompt: 'fix it', command: undefined } as const;

/** By `rule field`: every entry of POLICY_RULES must have one (the test below fails otherwise). */
const CASES: Record<string, RuleCase> = {
  'allowedAgents spec.agent': {
    policy: { allowedAgents: ['claude', 'opencode'] },
    violating: {},
    compliant: claude,
  },
  'allowedModels spec.model': {
    policy: { allowedModels: ['claude-sonnet-*', 'gpt-5'] },
    violating: { model: 'gpt-4o' },
    compliant: { model: 'claude-sonnet-4-5' },
  },
  'allowedImages spec.image': {
    policy: { allowedImages: ['ghcr.io/acme/*'] },
    violating: { image: 'docker.io/someone/runner:1' },
    compliant: { image: 'ghcr.io/acme/runner:1' },
  },
  'allowedRepositories spec.repos[].url': {
    policy: { allowedRepositories: ['https://git.example.com/team/*'] },
    violating: {
      repos: [{ url: 'https://git.example.com/team/a.git' }, { url: 'https://git.example.com/other/b.git' }],
    },
    compliant: { repos: [{ url: 'https://git.example.com/team/a.git' }] },
  },
  'allowedForgeHosts spec.repos[].url': {
    policy: { allowedForgeHosts: ['git.example.com'] },
    violating: { repos: [{ url: 'git@git.example.com:team/a.git' }, { url: 'https://github.com/x/y.git' }] },
    compliant: {
      repos: [
        { url: 'git@git.example.com:team/a.git' },
        { url: 'ssh://git@git.example.com:2222/team/b.git' },
        // A URL's host is compared lower-cased on both sides, as URL.hostname gives it.
        { url: 'https://GIT.example.com/team/c.git' },
      ],
    },
  },
  'allowedForgeHosts spec.pullRequest.forge.url': {
    policy: { allowedForgeHosts: ['git.example.com'] },
    violating: {
      repos: [{ url: 'https://git.example.com/team/a.git' }],
      pullRequest: { forge: { type: 'gitea', url: 'https://forge.example.org' } },
    },
    compliant: {
      repos: [{ url: 'https://git.example.com/team/a.git' }],
      pullRequest: { forge: { type: 'gitea', url: 'https://git.example.com' } },
    },
  },
  'maxTimeout spec.timeout': {
    policy: { maxTimeout: '1h' },
    violating: { timeout: '1h30m' },
    compliant: { timeout: '45m' },
  },
  'maxRetries spec.retries': {
    policy: { maxRetries: 2 },
    violating: { retries: 5 },
    compliant: { retries: 2 },
  },
  'maxResources spec.resources': {
    policy: { maxResources: { cpu: 2, memory: '4Gi' } },
    // Several names over their caps, listed in name order by both sides whatever the map's order.
    violating: { resources: { requests: { memory: '8Gi', cpu: '500m' }, limits: { memory: '8Gi', cpu: 3 } } },
    compliant: {
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    },
  },
  'maxWorkspaceSize spec.workspace.size': {
    policy: { maxWorkspaceSize: '10Gi' },
    violating: { workspace: { size: '20Gi' } },
    compliant: { workspace: { size: '5Gi' } },
  },
  'allowedNodeSelectorKeys spec.nodeSelector': {
    policy: { allowedNodeSelectorKeys: ['kubernetes.io/os'] },
    violating: { nodeSelector: { 'kubernetes.io/os': 'linux', zone: 'a', rack: 'b', 'a-key': 'c' } },
    compliant: { nodeSelector: { 'kubernetes.io/os': 'linux' } },
  },
  'allowedTolerations spec.tolerations': {
    policy: { allowedTolerations: [{ key: 'gpu', effect: 'NoSchedule' }] },
    violating: {
      tolerations: [
        { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'spot', value: 'cheap', effect: 'NoExecute' },
      ],
    },
    compliant: { tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }] },
  },
  'allowedPodMetadataPrefixes spec.podMetadata': {
    policy: { allowedPodMetadataPrefixes: ['team.example.com/'] },
    violating: {
      podMetadata: {
        labels: { 'team.example.com/app': 'x', zeta: 'x', app: 'x' },
        annotations: { note: 'n' },
      },
    },
    compliant: {
      podMetadata: {
        labels: { 'team.example.com/app': 'x' },
        annotations: { 'team.example.com/note': 'kept' },
      },
    },
  },
};

/** The message the TypeScript check gives the session: the one the API server must give too. */
function expectedMessage(namespace: string, key: string, spec: Partial<AgentSessionSpec>): string {
  const entry = CASES[key]!;
  const violations = policyViolations(namespace, policySubject({ ...BASE, ...spec }), entry.policy);
  assert.equal(
    violations.length,
    1,
    `${key}: the case breaks exactly its rule: ${JSON.stringify(violations)}`,
  );
  assert.equal(`${violations[0]!.rule} ${violations[0]!.field}`, key);
  return violations[0]!.message;
}

/** Applies the namespace's policy, then waits until the API server judges sessions by it. */
async function applyPolicy(namespace: string, policy: NamespacePolicySpec, probe: string): Promise<void> {
  const applied = await kubectl(['apply', '-n', namespace, '-f', '-'], policyJson(policy));
  assert.equal(applied.exitCode, 0, applied.stderr);
  // The admission plugin sees a new NamespacePolicy through its informer a moment later; until
  // then parameterNotFoundAction Allow admits anything. A server-side dry run creates nothing.
  await eventually(
    `the policy of ${namespace} to be enforced`,
    () => kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], probe),
    (result) => result.exitCode !== 0,
    60_000,
  );
}

before(async () => {
  // The controller manager's policy status controller type-checks the CEL against the CRD schemas
  // of params and object: a field read the schema does not allow is a warning there, long before
  // a session meets it.
  const policy = await eventually(
    `the chart's ValidatingAdmissionPolicy ${ADMISSION_POLICY_NAME}, type-checked`,
    () => admission.readValidatingAdmissionPolicy({ name: ADMISSION_POLICY_NAME }),
    (p) => p.status?.observedGeneration === p.metadata?.generation,
    60_000,
  );
  assert.deepEqual(policy.status?.typeChecking?.expressionWarnings ?? [], []);
});

test('every policy rule has a case here', () => {
  for (const { rule, field } of POLICY_RULES)
    assert.ok(CASES[`${rule} ${field}`], `no case for ${rule} ${field}`);
});

for (const { rule, field } of POLICY_RULES) {
  const key = `${rule} ${field}`;
  test(`kubectl apply refuses a session breaking ${key} with the TypeScript check's message, and admits one keeping it`, async (t) => {
    const entry = CASES[key];
    assert.ok(entry, `no case for ${key}`);
    const namespace = await testNamespace(t, kc, 'vap');
    const violating = sessionJson('breaks', entry.violating);
    await applyPolicy(namespace, entry.policy, violating);

    const refused = await kubectl(['apply', '-n', namespace, '-f', '-'], violating);
    assert.notEqual(refused.exitCode, 0, `applied: ${refused.stdout}`);
    assert.ok(
      refused.stderr.includes(expectedMessage(namespace, key, entry.violating)),
      `expected "${expectedMessage(namespace, key, entry.violating)}" in: ${refused.stderr}`,
    );
    const listed = await kubectl(['get', 'ags', '-n', namespace, '-o', 'name']);
    assert.equal(listed.stdout.trim(), '', 'no AgentSession was created');

    assert.deepEqual(
      policyViolations(namespace, policySubject({ ...BASE, ...entry.compliant }), entry.policy),
      [],
    );
    const admitted = await kubectl(
      ['apply', '-n', namespace, '-f', '-'],
      sessionJson('keeps', entry.compliant),
    );
    assert.equal(admitted.exitCode, 0, admitted.stderr);
  });
}

test('a namespace without a NamespacePolicy admits a session every rule would refuse', async (t) => {
  const namespace = await testNamespace(t, kc, 'vap');
  const everything = Object.values(CASES).reduce<Partial<AgentSessionSpec>>(
    (spec, entry) => ({ ...spec, ...entry.violating }),
    {},
  );
  const admitted = await kubectl(['apply', '-n', namespace, '-f', '-'], sessionJson('anything', everything));
  assert.equal(admitted.exitCode, 0, admitted.stderr);
});

test('a policy tightened under a session never refuses its status, metadata or unchanged spec fields', async (t) => {
  const namespace = await testNamespace(t, kc, 'vap');
  const admitted = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    sessionJson('running', { model: 'gpt-4o', timeout: '2h' }),
  );
  assert.equal(admitted.exitCode, 0, admitted.stderr);
  await applyPolicy(
    namespace,
    { allowedModels: ['claude-*'], maxTimeout: '1h' },
    sessionJson('probe', { model: 'gpt-4o' }),
  );

  const status = await kubectl([
    'patch', 'ags', 'running', '-n', namespace, '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { phase: 'Running' } }),
  ]); // prettier-ignore
  assert.equal(status.exitCode, 0, status.stderr);
  const annotated = await kubectl(['annotate', 'ags', 'running', '-n', namespace, 'example.com/note=kept']);
  assert.equal(annotated.exitCode, 0, annotated.stderr);
  // A spec change that leaves the broken fields as they were is not judged by them again.
  const edited = await kubectl([
    'patch', 'ags', 'running', '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { env: [{ name: 'A', value: 'b' }] } }),
  ]); // prettier-ignore
  assert.equal(edited.exitCode, 0, edited.stderr);

  // Writing a broken field anew is judged: the session may not move to another refused model.
  const changed = await kubectl([
    'patch', 'ags', 'running', '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { model: 'gpt-5' } }),
  ]); // prettier-ignore
  assert.notEqual(changed.exitCode, 0, changed.stdout);
  assert.match(changed.stderr, /rule allowedModels: spec\.model gpt-5 is not allowed/);
  assert.doesNotMatch(changed.stderr, /maxTimeout/, 'the unchanged timeout is not judged again');
});
