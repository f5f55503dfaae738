/**
 * The egress NetworkPolicy of a session whose NamespacePolicy restricts egress, against the real
 * API server and with the worker's own rights (the chart's ServiceAccount when `npm test`
 * installed it): provisionSecrets makes it, owned by the AgentSession, before any Job; a later
 * attempt rewrites it from the current settings, a policy that stops restricting removes it, and
 * cleanup deletes it. A host the runner needs that SHEPHERD_EGRESS_HOSTS has no CIDRs for fails
 * the activity with EgressHostUnknownError before anything is made.
 *
 * The resolved session is given `policy.egress` directly: these tests are about the object, not
 * about how loadSession reads the NamespacePolicy.
 *
 * What is checked is the object the API server stores. Whether traffic is really blocked is the
 * CNI's work, and this cluster has none: its nodes are KWOK's, whose pods never run, so no test
 * here can show a packet dropped. On a real cluster the network plugin must enforce NetworkPolicy
 * (Calico, Cilium and most managed CNIs do; flannel alone does not).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { sessionObjectNames } from '../../src/runtime/kubernetes/builders/session-names.js';
import { EgressHostUnknownError } from '../../src/runtime/errors.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { kubeConfig, processKubeConfig, statusOf, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const worker = processKubeConfig('worker');
const networking = kc.makeApiClient(k8s.NetworkingV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = shepherdObjects(kc);

const HOSTS = { 'github.com': ['140.82.112.0/20'], 'llm.example.com': ['203.0.113.0/24'] };
const acts = createKubernetesActivities({ kubeConfig: worker, egressHosts: HOSTS });

before(() => installCrds(kc));

/** A resolved session of a real AgentSession, under a policy restricting egress. */
async function restrictedSession(namespace: string, name: string): Promise<ResolvedSession> {
  const cr = await objects.createSession(namespace, name, {
    agent: 'command',
    command: ['true'],
    desiredState: 'Stopped',
    repos: [{ url: 'https://github.com/team-a/shop.git' }],
    env: [{ name: 'OPENAI_BASE_URL', value: 'https://llm.example.com/v1' }],
  });
  const { session } = await acts.loadSession({ namespace, name, uid: cr.metadata.uid! });
  return {
    ...session,
    policy: {
      egress: { allow: [{ cidr: '10.0.0.0/8', except: ['10.96.0.0/12'], ports: [{ port: 5432 }] }] },
    },
  };
}

/** The stored NetworkPolicy as plain JSON (the client returns class instances), or undefined. */
const readPolicy = (namespace: string, name: string) =>
  networking.readNamespacedNetworkPolicy({ namespace, name }).then(
    (policy) => JSON.parse(JSON.stringify(policy)) as k8s.V1NetworkPolicy,
    (error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    },
  );

test('a restricted session gets its egress NetworkPolicy, owned by it, rewritten per attempt and removed on cleanup', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = await restrictedSession(namespace, 'egress');
  const name = sessionObjectNames('egress').egress;

  await acts.provisionSecrets(session);
  const policy = await readPolicy(namespace, name);
  assert.ok(policy, 'made by provisionSecrets, before any Job');
  assert.deepEqual(policy.metadata?.ownerReferences, [
    {
      apiVersion: 'shepherd.dev/v1alpha1',
      kind: 'AgentSession',
      name: 'egress',
      uid: session.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(policy.spec?.podSelector?.matchLabels, {
    'shepherd.dev/session': 'egress',
    'app.kubernetes.io/managed-by': 'shepherd',
    'app.kubernetes.io/component': 'runner',
  });
  assert.deepEqual(policy.spec?.policyTypes, ['Egress']);
  assert.deepEqual(policy.spec?.egress, [
    {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
    { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    { to: [{ ipBlock: { cidr: '140.82.112.0/20' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    {
      to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    },
  ]);

  // A retry or the next turn writes the policy as the settings are now, on the same object.
  const narrower: ResolvedSession = { ...session, policy: { egress: { restrict: true } } };
  await acts.provisionSecrets(narrower);
  const rewritten = await readPolicy(namespace, name);
  assert.equal(rewritten?.metadata?.uid, policy.metadata?.uid);
  assert.equal(rewritten?.spec?.egress?.length, 3, 'the allow rule is gone');

  // A policy that no longer restricts egress takes the earlier turn's policy away.
  await acts.provisionSecrets({ ...session, policy: { egress: { restrict: false } } });
  assert.equal(await readPolicy(namespace, name), undefined);

  await acts.provisionSecrets(session);
  assert.ok(await readPolicy(namespace, name));
  await acts.cleanup({ session, attempts: [1], deleteWorkspace: true });
  assert.equal(await readPolicy(namespace, name), undefined, 'cleanup deletes it');
  await acts.cleanup({ session, attempts: [1], deleteWorkspace: true });
});

test('a host without CIDRs fails the session by name before anything is made', async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = await restrictedSession(namespace, 'unknown-host');
  const unconfigured = createKubernetesActivities({
    kubeConfig: worker,
    egressHosts: { 'github.com': ['140.82.112.0/20'] },
  });
  await assert.rejects(unconfigured.provisionSecrets(session), (error: unknown) => {
    assert.ok(error instanceof EgressHostUnknownError);
    assert.match(error.message, /no CIDRs for llm\.example\.com \(the model endpoint \(OPENAI_BASE_URL\)\)/);
    assert.match(error.message, /SHEPHERD_EGRESS_HOSTS/);
    return true;
  });
  const names = sessionObjectNames('unknown-host');
  assert.equal(await readPolicy(namespace, names.egress), undefined);
  const secret = await core.readNamespacedSecret({ namespace, name: names.secret }).catch(() => undefined);
  assert.equal(secret, undefined, 'not even the session Secret');
});
