/**
 * The provider's environment reaches the runner only through the session Secret, against the real
 * API server: the resolved session that leaves loadSession (and so every Temporal payload built
 * from it) names the variables but holds no value; provisionSecrets reads the values from the
 * AgentProvider or the inline spec as they are now; the Job takes them from the Secret.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const acts = createKubernetesActivities({ kubeConfig: kc });
const objects = shepherdObjects(kc);

before(() => installCrds(kc));

async function secretValue(namespace: string, name: string, key: string): Promise<string | undefined> {
  const secret = await core.readNamespacedSecret({ name, namespace });
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Runs the session's activities up to its first Job; returns what a payload would carry. */
async function provisionAndLaunch(namespace: string, name: string, spec: AgentSessionSpec) {
  const cr = await objects.createSession(namespace, name, spec);
  const { session } = await acts.loadSession({ namespace, name, uid: cr.metadata.uid! });
  await acts.provisionWorkspace(session);
  await acts.provisionSecrets(session);
  await acts.launchRunner({ session, attempt: 1 });
  const job = await batch.readNamespacedJob({ name: `${name}-a1`, namespace });
  return { session, job };
}

test('an AgentProvider environment is in the session Secret and the Job takes it from there, never from the payload', async (t) => {
  const namespace = await testNamespace(t, kc);
  const value = `https://gateway-${randomSuffix()}.internal`;
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'key' }, stringData: { token: 't' } },
  });
  await objects.createProvider(namespace, 'gateway', {
    authTokenSecretRef: { name: 'key', key: 'token' },
    environment: { ANTHROPIC_BASE_URL: value },
  });
  const { session, job } = await provisionAndLaunch(namespace, 'named', {
    agent: 'claude',
    initialPrompt: 'add a README',
    providerRef: { name: 'gateway' },
    desiredState: 'Stopped',
  });
  assert.equal(JSON.stringify(session).includes(value), false, 'the resolved session carries no value');
  assert.deepEqual(session.provider.environmentNames, ['ANTHROPIC_BASE_URL']);
  assert.equal(await secretValue(namespace, 'named-session', 'ANTHROPIC_BASE_URL'), value);
  assert.equal(JSON.stringify(job).includes(value), false, 'the Job holds no literal value');
  assert.deepEqual(
    job.spec?.template.spec?.containers[0]?.envFrom?.map((source) => source.secretRef?.name),
    ['named-session'],
  );

  // The provider changes: a later provisionSecrets (a restart) writes what it says now.
  const rotated = `${value}/v2`;
  await custom.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL.agentProvider,
      name: 'gateway',
      body: { spec: { environment: { ANTHROPIC_BASE_URL: rotated } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await acts.provisionSecrets(session);
  assert.equal(await secretValue(namespace, 'named-session', 'ANTHROPIC_BASE_URL'), rotated);
});

test('an inline provider environment is read from the AgentSession when the Secret is written', async (t) => {
  const namespace = await testNamespace(t, kc);
  const value = `inline-${randomSuffix()}`;
  const { session, job } = await provisionAndLaunch(namespace, 'inline', {
    agent: 'command',
    command: ['true'],
    provider: { environment: { GATEWAY_HEADER: value } },
    desiredState: 'Stopped',
  });
  assert.equal(JSON.stringify(session).includes(value), false, 'the resolved session carries no value');
  assert.deepEqual(session.provider.environmentNames, ['GATEWAY_HEADER']);
  assert.equal(await secretValue(namespace, 'inline-session', 'GATEWAY_HEADER'), value);
  assert.equal(JSON.stringify(job).includes(value), false, 'the Job holds no literal value');
});

test('a provider deleted between load and provisioning ends provisionSecrets with ProviderNotReady', async (t) => {
  const namespace = await testNamespace(t, kc);
  await objects.createProvider(namespace, 'brief', { environment: { A: 'b' } });
  const cr = await objects.createSession(namespace, 'orphan', {
    agent: 'command',
    command: ['true'],
    providerRef: { name: 'brief' },
    desiredState: 'Stopped',
  });
  const { session } = await acts.loadSession({ namespace, name: 'orphan', uid: cr.metadata.uid! });
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL.agentProvider,
    name: 'brief',
  });
  await assert.rejects(acts.provisionSecrets(session), (error: Error) => {
    assert.equal(error.name, 'ProviderNotReadyError');
    assert.match(error.message, new RegExp(`AgentProvider brief no longer exists in namespace ${namespace}`));
    return true;
  });
});
