/**
 * A session touches only what it owns, against the real API server: an object that already holds
 * a child's name — unowned, controlled by another AgentSession uid, or by another kind — is
 * neither adopted nor deleted (the activity fails with ObjectConflictError naming it, and the
 * object keeps its uid through cleanup); the session's own objects are adopted on a retry; and a
 * closed run of an earlier AgentSession of the same name (its old uid) leaves the newer session's
 * objects alone, while a session created again after a delete waits for the deleted one's objects
 * to be removed and then makes its own.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../src/runtime/kubernetes/kubernetes-activities.js';
import { jobName, sessionObjectNames } from '../../src/runtime/kubernetes/builders/session-names.js';
import { childObjectApis } from '../../src/runtime/kubernetes/owned-objects.js';
import { ObjectConflictError, ObjectPendingRemovalError } from '../../src/runtime/errors.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { installCrds } from '../support/crds.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { eventually, kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const acts = createKubernetesActivities({ kubeConfig: kc });
const objects = shepherdObjects(kc);

before(() => installCrds(kc));

type ChildKind = 'pvc' | 'secret' | 'serviceAccount' | 'role' | 'roleBinding' | 'job';
const KINDS: ChildKind[] = ['pvc', 'secret', 'serviceAccount', 'role', 'roleBinding', 'job'];

/** The child name of each kind for a session. */
function childName(kind: ChildKind, session: string): string {
  const names = sessionObjectNames(session);
  return {
    pvc: names.pvc,
    secret: names.secret,
    serviceAccount: names.runner,
    role: names.runner,
    roleBinding: names.runner,
    job: jobName(session, 1),
  }[kind];
}

/** A minimal object of `kind` named `name`, with the given ownerReferences. */
function foreignBody(kind: ChildKind, name: string, ownerReferences: k8s.V1OwnerReference[]) {
  const metadata = { name, ...(ownerReferences.length ? { ownerReferences } : {}) };
  switch (kind) {
    case 'pvc':
      return {
        metadata,
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      };
    case 'secret':
      return { metadata, stringData: { OWNER: 'someone else' } };
    case 'serviceAccount':
      return { metadata };
    case 'role':
      return { metadata, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] };
    case 'roleBinding':
      return {
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'other' },
        subjects: [{ kind: 'ServiceAccount', name: 'other', namespace: 'default' }],
      };
    case 'job':
      return {
        metadata,
        spec: {
          suspend: true,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      };
  }
}

/** The apiVersion and kind of each child kind, for the generic object API. */
const TYPES: Record<ChildKind, { apiVersion: string; kind: string }> = {
  pvc: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  secret: { apiVersion: 'v1', kind: 'Secret' },
  serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount' },
  role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  roleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  job: { apiVersion: 'batch/v1', kind: 'Job' },
};

/** Removes the finalizers of an object, letting a pending delete finish. */
async function releaseHold(kind: ChildKind, namespace: string, name: string): Promise<void> {
  await k8s.KubernetesObjectApi.makeApiClient(kc).patch(
    { ...TYPES[kind], metadata: { name, namespace, finalizers: [] } },
    undefined,
    undefined,
    undefined,
    undefined,
    k8s.PatchStrategy.MergePatch,
  );
}

/** The activity that creates `kind` (after what it needs), as the workflow would call it. */
async function provision(kind: ChildKind, session: ResolvedSession): Promise<void> {
  if (kind === 'pvc') await acts.provisionWorkspace(session);
  else if (kind === 'job') await acts.launchRunner({ session, attempt: 1 });
  else await acts.provisionSecrets(session);
}

async function uidOf(kind: ChildKind, namespace: string, name: string): Promise<string | undefined> {
  try {
    const object: k8s.KubernetesObject = await childObjectApis(kc, namespace)[kind].read(name);
    return object.metadata?.uid;
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function loadedSession(namespace: string, name: string): Promise<ResolvedSession> {
  const cr = await objects.createSession(namespace, name, {
    agent: 'command',
    command: ['true'],
    desiredState: 'Stopped',
  });
  return (await acts.loadSession({ namespace, name, uid: cr.metadata.uid! })).session;
}

/**
 * For each kind: a fresh session whose child name is already taken by an object with `owners`
 * (computed from the session); the activity must refuse it and cleanup must leave it.
 */
async function assertNeverTouched(
  t: test.TestContext,
  variant: string,
  owners: (session: ResolvedSession, namespace: string) => Promise<k8s.V1OwnerReference[]>,
  describeOwner: RegExp,
  asRun: (session: ResolvedSession) => ResolvedSession = (session) => session,
): Promise<void> {
  const namespace = await testNamespace(t, kc);
  for (const kind of KINDS) {
    const sessionName = `s-${kind.toLowerCase()}`;
    const session = await loadedSession(namespace, sessionName);
    const run = asRun(session);
    const name = childName(kind, sessionName);
    const api = childObjectApis(kc, namespace)[kind] as unknown as {
      create(body: unknown): Promise<k8s.KubernetesObject>;
    };
    const foreign = await api.create(foreignBody(kind, name, await owners(session, namespace)));
    // What comes before the Job is made first, by the live session: objects a stale uid made would
    // be the garbage collector's at once (their owner does not exist).
    if (kind === 'job') {
      await acts.provisionWorkspace(session);
      await acts.provisionSecrets(session);
    }
    await assert.rejects(provision(kind, run), (error: Error) => {
      assert.ok(error instanceof ObjectConflictError, `${variant} ${kind}: ${error.name}: ${error.message}`);
      assert.match(
        error.message,
        new RegExp(
          `^${childObjectApis(kc, namespace)[kind].kind} ${name} already exists in namespace ${namespace} with `,
        ),
        kind,
      );
      assert.match(error.message, describeOwner, `${variant} ${kind}`);
      assert.match(error.message, /kubectl delete /, kind);
      return true;
    });
    await acts.cleanup({
      session: { namespace, name: sessionName, uid: run.uid },
      attempts: [1],
      deleteWorkspace: true,
    });
    assert.equal(
      await uidOf(kind, namespace, name),
      foreign.metadata?.uid,
      `${variant}: the ${kind} is still there, the same object`,
    );
  }
}

test('an unowned object under a child name is neither adopted nor deleted', async (t) => {
  await assertNeverTouched(t, 'unowned', async () => [], /with no owner;/);
});

test('an object controlled by another kind under a child name is neither adopted nor deleted', async (t) => {
  await assertNeverTouched(
    t,
    'other kind',
    async (_session, namespace) => {
      const holder = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { generateName: 'holder-' } },
      });
      return [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: holder.metadata!.name!,
          uid: holder.metadata!.uid!,
          controller: true,
        },
      ];
    },
    /with owner ConfigMap holder-\w+ \(uid /,
  );
});

test("a run of an earlier AgentSession of the same name neither adopts nor deletes the current one's objects", async (t) => {
  // The objects belong to the live AgentSession; the run holds the uid of the one it was started
  // for, deleted since (the garbage collector would remove objects of a uid that no longer exists,
  // so the live session plays the other owner).
  await assertNeverTouched(
    t,
    'other uid',
    async (session) => [
      {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSession',
        name: session.name,
        uid: session.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    /with an earlier AgentSession s-\w+ \(uid [0-9a-f-]+\), not this one \(uid 00000000-0000-4000-8000-00000000dead\)/,
    (session) => ({ ...session, uid: '00000000-0000-4000-8000-00000000dead' }),
  );
});

test("a session created again waits while a deleted AgentSession's objects of its name are removed, then makes its own", async (t) => {
  const namespace = await testNamespace(t, kc);
  const hold = 'shepherd.dev-test/hold';
  for (const kind of KINDS) {
    const sessionName = `again-${kind.toLowerCase()}`;
    const session = await loadedSession(namespace, sessionName);
    const name = childName(kind, sessionName);
    const api = childObjectApis(kc, namespace)[kind] as unknown as {
      create(body: unknown): Promise<k8s.KubernetesObject>;
    };
    // The deleted AgentSession's uid exists nowhere, so the garbage collector deletes the object;
    // the finalizer keeps it in the namespace, as a still-running old pod keeps a PVC.
    const body = foreignBody(kind, name, [
      {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSession',
        name: sessionName,
        uid: '00000000-0000-4000-8000-0000000dead0',
        controller: true,
      },
    ]);
    const left = await api.create({ ...body, metadata: { ...body.metadata, finalizers: [hold] } });
    if (kind === 'job') {
      await acts.provisionWorkspace(session);
      await acts.provisionSecrets(session);
    }
    await assert.rejects(provision(kind, session), (error: Error) => {
      assert.ok(error instanceof ObjectPendingRemovalError, `${kind}: ${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`still belongs to a deleted AgentSession ${sessionName} `));
      assert.match(error.message, new RegExp(`waits for it to go`));
      return true;
    });
    assert.equal(
      await uidOf(kind, namespace, name),
      left.metadata?.uid,
      `${kind}: the old object was not touched`,
    );

    await releaseHold(kind, namespace, name);
    await eventually(
      `the old ${kind} to be gone`,
      () => uidOf(kind, namespace, name),
      (uid) => uid !== left.metadata?.uid,
    );
    await provision(kind, session);
    const made: k8s.KubernetesObject = await childObjectApis(kc, namespace)[kind].read(name);
    assert.notEqual(made.metadata?.uid, left.metadata?.uid, `${kind}: a new object`);
    assert.equal(made.metadata?.ownerReferences?.[0]?.uid, session.uid, `${kind}: the session's own`);
  }
});

test("a retry adopts the session's own objects; cleanup by an old uid leaves them, by its own uid removes them", async (t) => {
  const namespace = await testNamespace(t, kc);
  const session = await loadedSession(namespace, 'mine');
  const uids = async (): Promise<Record<string, string | undefined>> =>
    Object.fromEntries(
      await Promise.all(
        KINDS.map(async (kind) => [kind, await uidOf(kind, namespace, childName(kind, 'mine'))] as const),
      ),
    );

  await acts.provisionWorkspace(session);
  await acts.provisionSecrets(session);
  assert.equal((await acts.launchRunner({ session, attempt: 1 })).created, true);
  const first = await uids();
  for (const kind of KINDS) assert.ok(first[kind], `${kind} was created`);

  await acts.provisionWorkspace(session);
  await acts.provisionSecrets(session);
  assert.equal((await acts.launchRunner({ session, attempt: 1 })).created, false);
  assert.deepEqual(await uids(), first, 'the retry adopted every object instead of making new ones');

  await acts.cleanup({
    session: { namespace, name: 'mine', uid: '00000000-0000-4000-8000-00000000dead' },
    attempts: [1],
    deleteWorkspace: true,
  });
  assert.deepEqual(await uids(), first, 'a run of another uid removed nothing');

  await acts.cleanup({
    session: { namespace, name: 'mine', uid: session.uid },
    attempts: [1],
    deleteWorkspace: true,
  });
  const after = await uids();
  for (const kind of KINDS) {
    // The PVC may linger with a finalizer (kubernetes.io/pvc-protection) but is being deleted.
    if (kind === 'pvc') continue;
    assert.equal(after[kind], undefined, `${kind} was deleted`);
  }
  const pvc = await core
    .readNamespacedPersistentVolumeClaim({ name: childName('pvc', 'mine'), namespace })
    .catch(() => undefined);
  assert.ok(!pvc || pvc.metadata?.deletionTimestamp, 'the workspace is gone or going');
});
