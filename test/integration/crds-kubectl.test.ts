/**
 * What a user sees with kubectl: the CRDs are served, `kubectl get ags` shows the printer columns,
 * `kubectl explain` documents the fields, and a bad object is refused by the API server itself
 * with a message that names the field.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { installCrds } from '../support/crds.js';
import { envVar, kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const kubectl = (args: string[], input?: string) =>
  execa(envVar('SHEPHERD_KUBECTL'), args, { ...(input === undefined ? {} : { input }), reject: false });

before(async () => {
  await installCrds(kc);
});

function session(name: string, spec: Record<string, unknown>) {
  return stringify({ apiVersion: 'shepherd.dev/v1alpha1', kind: 'AgentSession', metadata: { name }, spec });
}

test('kubectl get ags lists sessions with the Phase, Agent, Attempt and Age columns', async (t) => {
  const namespace = await testNamespace(t, kc);
  const applied = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    session('listed', { agent: 'command', command: ['true'], desiredState: 'Stopped' }),
  );
  assert.equal(applied.exitCode, 0, applied.stderr);
  const listed = await kubectl(['get', 'ags', '-n', namespace]);
  assert.equal(listed.exitCode, 0, listed.stderr);
  const [header, row] = listed.stdout.split('\n');
  assert.deepEqual(header?.split(/\s+/), ['NAME', 'PHASE', 'AGENT', 'ATTEMPT', 'AGE']);
  assert.match(row ?? '', /^listed\s+command\s/);
});

test('kubectl explain documents the AgentSession spec', async () => {
  const explained = await kubectl(['explain', 'agentsession.spec']);
  assert.equal(explained.exitCode, 0, explained.stderr);
  for (const field of [
    'agent',
    'initialPrompt',
    'repos',
    'timeout',
    'retries',
    'desiredState',
    'workspace',
  ]) {
    assert.match(explained.stdout, new RegExp(`^\\s+${field}\\s`, 'm'), `explain lists ${field}`);
  }
  const repos = await kubectl(['explain', 'agentsession.spec.repos.outputBranch']);
  assert.match(repos.stdout, /shepherd\//);
});

test('kubectl apply refuses a session with both providerRef and provider, naming the fields', async (t) => {
  const namespace = await testNamespace(t, kc);
  const refused = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    session('both', {
      agent: 'claude',
      initialPrompt: 'x',
      providerRef: { name: 'a' },
      provider: { authTokenSecretRef: { name: 's', key: 'k' } },
    }),
  );
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /providerRef/);
  assert.match(refused.stderr, /provider/);
});

test('kubectl apply refuses an agent command session without a command', async (t) => {
  const namespace = await testNamespace(t, kc);
  const refused = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    session('nocmd', { agent: 'command' }),
  );
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /spec\.command/);
});

test('kubectl apply refuses a malformed timeout', async (t) => {
  const namespace = await testNamespace(t, kc);
  const refused = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    session('badtime', { agent: 'command', command: ['true'], timeout: '1d' }),
  );
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /timeout/);
});

/**
 * What Kubernetes would refuse later, when it creates the runner's Job or PVC, is refused when the
 * session is applied: each case is one bad field, and the API server's answer names it.
 */
const refusedBeforeAnythingIsCreated: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'a pod label value with a space',
    { podMetadata: { labels: { team: 'a b' } } },
    /spec\.podMetadata\.labels/,
  ],
  [
    'a pod label key with a space',
    { podMetadata: { labels: { 'my team': 'a' } } },
    /spec\.podMetadata\.labels/,
  ],
  [
    'a pod label key with an empty name',
    { podMetadata: { labels: { 'example.com/': 'a' } } },
    /spec\.podMetadata\.labels/,
  ],
  [
    'an annotation key with a colon',
    { podMetadata: { annotations: { 'a:b': 'x' } } },
    /spec\.podMetadata\.annotations/,
  ],
  [
    'a node selector value of 64 characters',
    { nodeSelector: { zone: 'z'.repeat(64) } },
    /spec\.nodeSelector/,
  ],
  ['a node selector key starting with a dash', { nodeSelector: { '-zone': 'a' } }, /spec\.nodeSelector/],
  ['a malformed memory quantity', { resources: { limits: { memory: '4 GiB' } } }, /spec\.resources\.limits/],
  [
    'a memory request above its limit',
    { resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } },
    /spec\.resources\.requests/,
  ],
  [
    'a CPU request above its limit',
    { resources: { requests: { cpu: '1500m' }, limits: { cpu: 1 } } },
    /spec\.resources\.requests/,
  ],
  ['a resource name with a space', { resources: { limits: { 'my gpu': '1' } } }, /spec\.resources\.limits/],
  [
    'a toleration value with operator Exists',
    { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
    /spec\.tolerations\[0\]\.value/,
  ],
  [
    'a toleration with no key and operator Equal',
    { tolerations: [{ value: 'v' }] },
    /spec\.tolerations\[0\]\.key/,
  ],
  [
    'tolerationSeconds without NoExecute',
    { tolerations: [{ key: 'k', tolerationSeconds: 5 }] },
    /spec\.tolerations\[0\]\.tolerationSeconds/,
  ],
  [
    'a secret reference with an invalid name',
    { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'My_Secret', key: 'k' } } }] },
    /spec\.env\[0\]\.valueFrom\.secretKeyRef\.name/,
  ],
  ['an image with a space', { image: 'runner :latest' }, /spec\.image/],
  [
    'a storage class with upper case',
    { workspace: { storageClass: 'Fast' } },
    /spec\.workspace\.storageClass/,
  ],
];

for (const [what, spec, field] of refusedBeforeAnythingIsCreated) {
  test(`kubectl apply refuses ${what}, naming the field`, async (t) => {
    const namespace = await testNamespace(t, kc);
    const refused = await kubectl(
      ['apply', '-n', namespace, '-f', '-'],
      session('bad', { agent: 'command', command: ['true'], ...spec }),
    );
    assert.notEqual(refused.exitCode, 0, `applied: ${refused.stdout}`);
    assert.match(refused.stderr, field);
    const listed = await kubectl(['get', 'ags', '-n', namespace, '-o', 'name']);
    assert.equal(listed.stdout.trim(), '', 'no AgentSession was created');
  });
}

test('kubectl apply accepts the valid forms of the same fields', async (t) => {
  const namespace = await testNamespace(t, kc);
  const applied = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    session('fine', {
      agent: 'command',
      command: ['true'],
      desiredState: 'Stopped',
      podMetadata: {
        labels: { 'example.com/team': 'a_b-1.c', empty: '' },
        annotations: { 'example.com/note': 'any text at all' },
      },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '1073741824' } },
      tolerations: [{ operator: 'Exists' }, { key: 'k', effect: 'NoExecute', tolerationSeconds: 5 }],
      image: 'registry.example/runner:1.0',
      workspace: { storageClass: 'standard' },
    }),
  );
  assert.equal(applied.exitCode, 0, applied.stderr);
});

test('every example trigger is accepted by the API server, and kubectl get agt shows its columns', async (t) => {
  const namespace = await testNamespace(t, kc);
  for (const source of ['github', 'gitea', 'jira', 'slack']) {
    const file = fileURLToPath(new URL(`../../examples/trigger-${source}.yaml`, import.meta.url));
    const applied = await kubectl(['apply', '-n', namespace, '-f', file]);
    assert.equal(applied.exitCode, 0, `examples/trigger-${source}.yaml: ${applied.stderr}`);
  }
  const listed = await kubectl(['get', 'agt', '-n', namespace]);
  assert.equal(listed.exitCode, 0, listed.stderr);
  const [header, ...rows] = listed.stdout.trim().split('\n');
  assert.deepEqual(header?.split(/\s+/), ['NAME', 'SOURCE', 'READY', 'AGE']);
  assert.deepEqual(rows.map((row) => row.split(/\s+/).slice(0, 2)).sort(), [
    ['gitea-issues', 'gitea'],
    ['shop-issues', 'github'],
    ['shop-slack', 'slack'],
    ['shop-tickets', 'jira'],
  ]);
});

test('kubectl apply refuses a trigger without the Secrets its source needs, and a bad session template', async (t) => {
  const namespace = await testNamespace(t, kc);
  const trigger = (name: string, spec: Record<string, unknown>) =>
    stringify({ apiVersion: 'shepherd.dev/v1alpha1', kind: 'AgentTrigger', metadata: { name }, spec });
  const noSecret = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    trigger('unsigned', {
      source: 'gitea',
      forge: { url: 'https://gitea.example.com', credentialsSecretRef: { name: 'bot' } },
      sessionTemplate: { agent: 'command', command: ['true'] },
    }),
  );
  assert.notEqual(noSecret.exitCode, 0);
  assert.match(noSecret.stderr, /spec\.webhookSecretRef is required/);
  const badTemplate = await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    trigger('bad-template', {
      source: 'gitea',
      forge: { url: 'https://gitea.example.com', credentialsSecretRef: { name: 'bot' } },
      webhookSecretRef: { name: 'hook' },
      sessionTemplate: { agent: 'command' },
    }),
  );
  assert.notEqual(badTemplate.exitCode, 0);
  assert.match(badTemplate.stderr, /spec\.command/);
});
