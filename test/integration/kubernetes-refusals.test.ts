/**
 * What a user sees when Kubernetes refuses a session's object, against the real API server: the
 * activity fails at once with RejectedError (non-retryable), and the message names the object and
 * carries the API server's own words, which name the field or the quota; no Secret value is shown.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { RejectedError } from '../../src/runtime/errors.js';
import type { AgentSessionSpec } from '../../src/resources/types.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { eventually, kubeConfig, randomSuffix, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const acts = createKubernetesActivities({ kubeConfig: kc });
const objects = shepherdObjects(kc);

before(() => installCrds(kc));

const PROMPT = 'prompt-that-only-the-runner-may-see';

async function loadedSession(
  namespace: string,
  name: string,
  spec: Partial<AgentSessionSpec> = {},
): Promise<ResolvedSession> {
  const cr = await objects.createSession(namespace, name, {
    agent: 'command',
    command: ['true'],
    initialPrompt: PROMPT,
    desiredState: 'Stopped',
    ...spec,
  });
  return (await acts.loadSession({ namespace, name, uid: cr.metadata.uid! })).session;
}

/** Asserts `call` fails with RejectedError whose message matches `message` and shows no secret. */
async function assertRejected(call: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: Error) => {
    assert.ok(error instanceof RejectedError, `${error.name}: ${error.message}`);
    assert.match(error.message, message);
    assert.equal(error.message.includes(PROMPT), false, 'the Secret body is not in the message');
    return true;
  });
}

/** A ResourceQuota, once the quota controller has counted usage (admission refuses before that). */
async function quota(namespace: string, hard: Record<string, string>): Promise<void> {
  await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'q' }, spec: { hard } } });
  await eventually(
    'the quota to be counted',
    () => core.readNamespacedResourceQuota({ name: 'q', namespace }),
    (q) => q.status?.hard !== undefined,
  );
}

test('a pod label value Kubernetes refuses ends the launch with the field named', async (t) => {
  const namespace = await testNamespace(t, kc);
  // The CRD refuses such a label up front (crds-kubectl.test.ts); a session that reaches the
  // activity with one anyway (an older CRD, an AgentConfig default) still ends at once.
  const loaded = await loadedSession(namespace, 'labels');
  const session = {
    ...loaded,
    podMetadata: { ...loaded.podMetadata, labels: { ...loaded.podMetadata.labels, team: 'a b' } },
  };
  await acts.provisionWorkspace(session);
  await acts.provisionSecrets(session);
  await assertRejected(
    acts.launchRunner({ session, attempt: 1 }),
    /^Kubernetes refused Job labels-a1: Job\.batch "labels-a1" is invalid: .*spec\.template\.labels: Invalid value: "a b"/,
  );
});

test('a ResourceQuota that allows no PersistentVolumeClaim ends the workspace with the quota named', async (t) => {
  const namespace = await testNamespace(t, kc);
  await quota(namespace, { persistentvolumeclaims: '0' });
  const session = await loadedSession(namespace, 'no-pvc');
  await assertRejected(
    acts.provisionWorkspace(session),
    /^Kubernetes refused PersistentVolumeClaim no-pvc-workspace: .*forbidden: exceeded quota: q.*persistentvolumeclaims/,
  );
});

test('a ResourceQuota on storage smaller than the workspace ends it with the quota named', async (t) => {
  const namespace = await testNamespace(t, kc);
  await quota(namespace, { 'requests.storage': '1Gi' });
  const session = await loadedSession(namespace, 'big', { workspace: { size: '5Gi' } });
  await assertRejected(
    acts.provisionWorkspace(session),
    /^Kubernetes refused PersistentVolumeClaim big-workspace: .*exceeded quota: q.*requests\.storage=5Gi/,
  );
});

test('a namespace that does not exist ends every provisioning step with the namespace named', async (t) => {
  const namespace = await testNamespace(t, kc);
  const loaded = await loadedSession(namespace, 'lost');
  const session = { ...loaded, namespace: `absent-${randomSuffix()}` };
  const missing = new RegExp(`namespaces "${session.namespace}" not found`);
  await assertRejected(acts.provisionWorkspace(session), missing);
  await assertRejected(
    acts.provisionSecrets(session),
    new RegExp(`^Kubernetes refused Secret lost-session: .*${missing.source}`),
  );
  await assertRejected(
    acts.launchRunner({ session, attempt: 1 }),
    new RegExp(`^Kubernetes refused Job lost-a1: .*${missing.source}`),
  );
});
