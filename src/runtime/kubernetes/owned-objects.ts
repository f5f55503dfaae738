/**
 * Creating, adopting, replacing and deleting a session's child objects so that a session only
 * ever touches what it owns (see object-ownership.ts). An object found under a child's name is
 * adopted or replaced only when its controller is this AgentSession's uid, else the activity fails
 * with ObjectConflictError (or, while a deleted AgentSession of the same name still holds it,
 * the retryable ObjectPendingRemovalError); a delete first reads the object, checks its owner and then deletes with
 * the object's uid as precondition, so an object replaced in between is never deleted blindly. A
 * refusal of the API server becomes RejectedError (api-refusal.ts). Every loop that re-reads after
 * a race is bounded.
 */
import * as k8s from '@kubernetes/client-node';
import { ObjectConflictError, ObjectPendingRemovalError } from '../errors.js';
import { refusalOf, statusOf } from './api-refusal.js';
import {
  conflictMessage,
  isHeldByAnotherOfTheName,
  isOwnedBy,
  pendingRemovalMessage,
  type SessionOwner,
} from './object-ownership.js';

/** How many times a create, replace or delete starts over after the object changed under it. */
const MAX_RACES = 5;

/** The calls for one kind of object in one namespace. */
export interface ObjectApi<T extends k8s.KubernetesObject> {
  kind: string;
  create(body: T): Promise<T>;
  read(name: string): Promise<T>;
  /** Deletes the object only if it still has `uid`. */
  remove(name: string, uid: string): Promise<unknown>;
}

/** The calls for a kind of object the session replaces when it exists (the session Secret, the egress NetworkPolicy). */
export interface ReplaceableObjectApi<T extends k8s.KubernetesObject> extends ObjectApi<T> {
  /** Replaces the object; the body carries the resourceVersion it was read at. */
  replace(name: string, body: T): Promise<T>;
}

/** The calls for each kind of child object of a session in `namespace`. */
export function childObjectApis(kubeConfig: k8s.KubeConfig, namespace: string) {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const rbac = kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  const networking = kubeConfig.makeApiClient(k8s.NetworkingV1Api);
  const preconditions = (uid: string) => ({ preconditions: { uid } });
  return {
    pvc: {
      kind: 'PersistentVolumeClaim',
      create: (body) => core.createNamespacedPersistentVolumeClaim({ namespace, body }),
      read: (name) => core.readNamespacedPersistentVolumeClaim({ name, namespace }),
      remove: (name, uid) =>
        core.deleteNamespacedPersistentVolumeClaim({ name, namespace, body: preconditions(uid) }),
    } satisfies ObjectApi<k8s.V1PersistentVolumeClaim>,
    secret: {
      kind: 'Secret',
      create: (body) => core.createNamespacedSecret({ namespace, body }),
      read: (name) => core.readNamespacedSecret({ name, namespace }),
      replace: (name, body) => core.replaceNamespacedSecret({ name, namespace, body }),
      remove: (name, uid) => core.deleteNamespacedSecret({ name, namespace, body: preconditions(uid) }),
    } satisfies ReplaceableObjectApi<k8s.V1Secret>,
    serviceAccount: {
      kind: 'ServiceAccount',
      create: (body) => core.createNamespacedServiceAccount({ namespace, body }),
      read: (name) => core.readNamespacedServiceAccount({ name, namespace }),
      remove: (name, uid) =>
        core.deleteNamespacedServiceAccount({ name, namespace, body: preconditions(uid) }),
    } satisfies ObjectApi<k8s.V1ServiceAccount>,
    role: {
      kind: 'Role',
      create: (body) => rbac.createNamespacedRole({ namespace, body }),
      read: (name) => rbac.readNamespacedRole({ name, namespace }),
      remove: (name, uid) => rbac.deleteNamespacedRole({ name, namespace, body: preconditions(uid) }),
    } satisfies ObjectApi<k8s.V1Role>,
    roleBinding: {
      kind: 'RoleBinding',
      create: (body) => rbac.createNamespacedRoleBinding({ namespace, body }),
      read: (name) => rbac.readNamespacedRoleBinding({ name, namespace }),
      remove: (name, uid) => rbac.deleteNamespacedRoleBinding({ name, namespace, body: preconditions(uid) }),
    } satisfies ObjectApi<k8s.V1RoleBinding>,
    // Replaceable: each turn and retry writes the policy from the current settings (CIDRs in the
    // worker's values, the NamespacePolicy's allow list), not the ones of the first attempt.
    networkPolicy: {
      kind: 'NetworkPolicy',
      create: (body) => networking.createNamespacedNetworkPolicy({ namespace, body }),
      read: (name) => networking.readNamespacedNetworkPolicy({ name, namespace }),
      replace: (name, body) => networking.replaceNamespacedNetworkPolicy({ name, namespace, body }),
      remove: (name, uid) =>
        networking.deleteNamespacedNetworkPolicy({ name, namespace, body: preconditions(uid) }),
    } satisfies ReplaceableObjectApi<k8s.V1NetworkPolicy>,
    job: {
      kind: 'Job',
      create: (body) => batch.createNamespacedJob({ namespace, body }),
      read: (name) => batch.readNamespacedJob({ name, namespace }),
      // Background: the Job goes at once, the garbage collector takes its pod after it.
      remove: (name, uid) =>
        batch.deleteNamespacedJob({
          name,
          namespace,
          body: { ...preconditions(uid), propagationPolicy: 'Background' },
        }),
    } satisfies ObjectApi<k8s.V1Job>,
  };
}

/** The child object APIs of one namespace. */
export type ChildObjectApis = ReturnType<typeof childObjectApis>;

/** What a create or adopt found. */
export interface Owned<T> {
  object: T;
  /** False when the object already existed (an earlier try made it). */
  created: boolean;
}

function nameOf(body: k8s.KubernetesObject): string {
  const name = body.metadata?.name;
  if (!name) throw new Error('a child object must have a name');
  return name;
}

/**
 * Throws unless the session owns `object`: ObjectPendingRemovalError when another AgentSession of
 * the same name controls it (the caller tells a deleted one's leftovers from a live one's objects),
 * ObjectConflictError otherwise.
 */
function checkOwned<T extends k8s.KubernetesObject>(api: ObjectApi<T>, object: T, owner: SessionOwner): T {
  if (isOwnedBy(object.metadata, owner)) return object;
  const name = nameOf(object);
  const conflict = conflictMessage(api.kind, name, object.metadata, owner);
  if (isHeldByAnotherOfTheName(object.metadata, owner)) {
    throw new ObjectPendingRemovalError(
      pendingRemovalMessage(api.kind, name, object.metadata, owner),
      conflict,
    );
  }
  throw new ObjectConflictError(conflict);
}

/** Rethrows a refusal as RejectedError, anything else as it is. */
function refused(error: unknown, kind: string, name: string, secretValues: readonly string[]): never {
  throw refusalOf(error, { kind, name }, secretValues) ?? error;
}

/** Reads an object; undefined on 404. */
async function readOrUndefined<T extends k8s.KubernetesObject>(
  api: ObjectApi<T>,
  name: string,
): Promise<T | undefined> {
  try {
    return await api.read(name);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Creates `body`, or adopts the object of that name when the session owns it.
 *
 * @throws ObjectConflictError when an object of that name exists and is not the session's.
 * @throws ObjectPendingRemovalError when another AgentSession of the same name controls it.
 * @throws RejectedError when the API server refuses the object.
 */
export async function createOrAdoptOwned<T extends k8s.KubernetesObject>(
  api: ObjectApi<T>,
  body: T,
  owner: SessionOwner,
): Promise<Owned<T>> {
  const name = nameOf(body);
  for (let race = 0; race < MAX_RACES; race += 1) {
    try {
      return { object: await api.create(body), created: true };
    } catch (error) {
      if (statusOf(error) !== 409) refused(error, api.kind, name, []);
    }
    const existing = await readOrUndefined(api, name);
    // Deleted between our create and read: create again.
    if (existing) return { object: checkOwned(api, existing, owner), created: false };
  }
  throw new Error(`${api.kind} ${name} kept appearing and disappearing; will try again`);
}

/**
 * Creates `body`, or replaces the session's own object of that name with it (at the
 * resourceVersion read, so a concurrent change is never overwritten unseen).
 *
 * @param secretValues Values in `body` that no error message may show.
 * @throws ObjectConflictError when an object of that name exists and is not the session's.
 * @throws ObjectPendingRemovalError when another AgentSession of the same name controls it.
 * @throws RejectedError when the API server refuses the object.
 */
export async function createOrReplaceOwned<T extends k8s.KubernetesObject>(
  api: ReplaceableObjectApi<T>,
  body: T,
  owner: SessionOwner,
  secretValues: readonly string[] = [],
): Promise<Owned<T>> {
  const name = nameOf(body);
  for (let race = 0; race < MAX_RACES; race += 1) {
    const existing = await readOrUndefined(api, name);
    try {
      if (!existing) return { object: await api.create(body), created: true };
      checkOwned(api, existing, owner);
      const next = {
        ...body,
        metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion },
      };
      return { object: await api.replace(name, next), created: false };
    } catch (error) {
      // 409: created or changed meanwhile; 404: deleted meanwhile. Either way, look again.
      const status = statusOf(error);
      if (status !== 409 && !(existing && status === 404)) refused(error, api.kind, name, secretValues);
    }
  }
  throw new Error(`${api.kind} ${name} kept changing while it was being replaced; will try again`);
}

/** What a delete did. */
export type DeleteOutcome = 'deleted' | 'absent' | 'foreign';

/**
 * Deletes the object named `name` when the session owns it; leaves any other object alone.
 *
 * @returns `deleted`, `absent` (nothing of that name), or `foreign` (someone else's, kept).
 */
export async function deleteOwned<T extends k8s.KubernetesObject>(
  api: ObjectApi<T>,
  name: string,
  owner: SessionOwner,
): Promise<DeleteOutcome> {
  for (let race = 0; race < MAX_RACES; race += 1) {
    const existing = await readOrUndefined(api, name);
    if (!existing) return 'absent';
    if (!isOwnedBy(existing.metadata, owner)) return 'foreign';
    const uid = existing.metadata?.uid;
    if (!uid) throw new Error(`${api.kind} ${name} has no uid`);
    try {
      await api.remove(name, uid);
      return 'deleted';
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return 'absent';
      // 409: the precondition failed, another object took the name; check that one.
      if (status !== 409) throw error;
    }
  }
  throw new Error(`${api.kind} ${name} kept being replaced while it was being deleted; will try again`);
}
