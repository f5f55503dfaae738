/** RBAC is on: an unprivileged user can do only what a RoleBinding grants, in that namespace. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { eventually, kubeConfig, rejectionStatus, testNamespace } from '../support/kube.js';

const admin = kubeConfig();
const alice = kubeConfig('SHEPHERD_TEST_ALICE_KUBECONFIG');
const bob = kubeConfig('SHEPHERD_TEST_BOB_KUBECONFIG');

test('a test user gets 403 on a namespaced create until a RoleBinding grants it, and only there', async (t) => {
  const namespace = await testNamespace(t, admin);
  const other = await testNamespace(t, admin);
  const aliceCore = alice.makeApiClient(k8s.CoreV1Api);
  const body = { metadata: { name: 'notes' }, data: { a: 'b' } };

  assert.equal(await rejectionStatus(aliceCore.createNamespacedConfigMap({ namespace, body })), 403);

  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'configmap-writer' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'alice-writes-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-writer' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    },
  });

  // The authorizer reads RBAC objects from a watch cache, so a fresh binding takes a moment.
  const created = await eventually(
    'alice to be allowed to create',
    () => aliceCore.createNamespacedConfigMap({ namespace, body }),
    (cm) => cm.metadata?.name === 'notes',
  );
  assert.equal(created.metadata?.namespace, namespace);
  assert.equal(await rejectionStatus(aliceCore.createNamespacedConfigMap({ namespace: other, body })), 403);
  const bobCore = bob.makeApiClient(k8s.CoreV1Api);
  assert.equal(await rejectionStatus(bobCore.readNamespacedConfigMap({ name: 'notes', namespace })), 403);
});

test('a request without a valid token is rejected with 401', async () => {
  const kc = kubeConfig('SHEPHERD_TEST_ALICE_KUBECONFIG');
  const user = kc.getCurrentUser();
  assert.ok(user);
  kc.users = kc.users.map((u) => (u.name === user.name ? { ...u, token: 'not-a-valid-token' } : u));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  assert.equal(await rejectionStatus(core.listNamespacedConfigMap({ namespace: 'default' })), 401);
});
