/**
 * The Kubernetes activities called directly against the real API server: each is idempotent (a
 * retry after a crash adopts what the first try made; deleting what is gone succeeds), and the
 * status mirror never writes into another AgentSession that took the same name.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const acts = createKubernetesActivities({ kubeConfig: kc });

before(() => installCrds(kc));

const objects = shepherdObjects(kc);
const createSession = (namespace: string, name: string) =>
  objects.createSession(namespace, name, { agent: 'command', command: ['true'], desiredState: 'Stopped' });
const read = objects.readSession;

test('the status mirror writes the session it was given, and nothing into a new session of the same name', async (t) => {
  const namespace = await testNamespace(t, kc);
  const first = await createSession(namespace, 'reused');
  assert.equal(
    await acts.mirrorStatus({
      session: { namespace, name: 'reused', uid: first.metadata.uid! },
      status: { phase: 'Running', attempt: 1 },
    }),
    true,
  );
  assert.equal((await read(namespace, 'reused')).status?.phase, 'Running');

  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL.agentSession,
    name: 'reused',
  });
  const second = await createSession(namespace, 'reused');
  assert.notEqual(second.metadata.uid, first.metadata.uid);
  const wrote = await acts.mirrorStatus({
    session: { namespace, name: 'reused', uid: first.metadata.uid! },
    status: { phase: 'Failed', attempt: 7 },
  });
  assert.equal(wrote, false, 'the old run sees its session as gone');
  assert.equal((await read(namespace, 'reused')).status, undefined, 'the new session is untouched');
  assert.equal(
    await acts.mirrorStatus({
      session: { namespace, name: 'gone', uid: first.metadata.uid! },
      status: { phase: 'Failed' },
    }),
    false,
  );
});

test('launching a runner twice for the same attempt adopts the Job; stopping it twice succeeds', async (t) => {
  const namespace = await testNamespace(t, kc);
  const cr = await createSession(namespace, 'twice');
  const { session } = await acts.loadSession({ namespace, name: 'twice', uid: cr.metadata.uid! });
  const first = await acts.launchRunner({ session, attempt: 1 });
  const again = await acts.launchRunner({ session, attempt: 1 });
  assert.deepEqual([first.created, again.created], [true, false]);
  assert.equal(again.name, first.name);
  const jobs = await batch.listNamespacedJob({ namespace });
  assert.equal(jobs.items.length, 1);
  await acts.stopRunner({ session: { namespace, name: 'twice' }, attempt: 1 });
  await acts.stopRunner({ session: { namespace, name: 'twice' }, attempt: 1 });
  await acts.cleanup({ session: { namespace, name: 'twice' }, attempts: [1, 2], deleteWorkspace: true });
});
