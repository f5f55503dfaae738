/** The real garbage collector runs: deleting an owner deletes the objects it owns. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { eventually, kubeConfig, rejectionStatus, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);

test('deleting an owner deletes its dependents, and a Job deletes its pods', async (t) => {
  const namespace = await testNamespace(t, kc);
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  const ownerReferences = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner',
      uid: owner.metadata!.uid!,
      blockOwnerDeletion: true,
    },
  ];
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'dependent', ownerReferences }, stringData: { key: 'value' } },
  });
  await batch.createNamespacedJob({
    namespace,
    body: {
      metadata: { name: 'owned-job', ownerReferences },
      spec: {
        template: {
          metadata: { annotations: { 'kwok.shepherd.dev/duration': '1h' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] },
        },
      },
    },
  });
  await eventually(
    'the Job pod to exist',
    () => core.listNamespacedPod({ namespace, labelSelector: 'job-name=owned-job' }),
    (pods) => pods.items.length === 1,
  );

  await core.deleteNamespacedConfigMap({ name: 'owner', namespace, propagationPolicy: 'Background' });

  await eventually(
    'the dependent Secret to be deleted',
    () => rejectionStatus(core.readNamespacedSecret({ name: 'dependent', namespace })),
    (status) => status === 404,
  );
  await eventually(
    'the Job and its pod to be deleted',
    async () => ({
      job: await rejectionStatus(batch.readNamespacedJob({ name: 'owned-job', namespace })),
      pods: (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=owned-job' })).items.length,
    }),
    (state) => state.job === 404 && state.pods === 0,
  );
  assert.ok(true);
});
