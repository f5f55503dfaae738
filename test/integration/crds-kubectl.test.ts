/**
 * What a user sees with kubectl: the CRDs are served, `kubectl get ags` shows the printer columns,
 * `kubectl explain` documents the fields, and a bad object is refused by the API server itself
 * with a message that names the field.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
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
