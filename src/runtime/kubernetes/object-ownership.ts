/**
 * Whether an object in the namespace belongs to a session, and how to say so when it does not.
 * A session's children have deterministic names, so anyone (a user, another tool, an earlier
 * AgentSession of the same name) can hold an object under that name first. The session adopts,
 * replaces or deletes an object only when its controller ownerReference is this AgentSession's
 * uid; anything else is a conflict the user must resolve. Pure, so the rules are unit-tested.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { GROUP, KIND } from '../../resources/constants.js';

/** The session an object would have to belong to. */
export interface SessionOwner {
  namespace: string;
  name: string;
  /**
   * The AgentSession's uid. Absent only in runs recorded before the uid travelled with the session
   * reference: then any AgentSession of this name counts, as it did for those runs.
   */
  uid?: string;
}

/** The controller ownerReference of an object, if it has one. */
export function controllerOf(metadata: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  return metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

function isAgentSession(reference: V1OwnerReference): boolean {
  return reference.kind === KIND.agentSession && reference.apiVersion.split('/')[0] === GROUP;
}

/** True when the object's controller is the session's AgentSession. */
export function isOwnedBy(metadata: V1ObjectMeta | undefined, owner: SessionOwner): boolean {
  const controller = controllerOf(metadata);
  if (!controller || !isAgentSession(controller) || controller.name !== owner.name) return false;
  return owner.uid === undefined || controller.uid === owner.uid;
}

/**
 * True when the object's controller is an AgentSession of the session's name with another uid.
 * For the live session that earlier AgentSession is gone (names are unique), so the garbage
 * collector is about to remove the object; for a run of a deleted AgentSession it is the live
 * session's object.
 */
export function isHeldByAnotherOfTheName(metadata: V1ObjectMeta | undefined, owner: SessionOwner): boolean {
  const controller = controllerOf(metadata);
  return (
    owner.uid !== undefined &&
    controller !== undefined &&
    isAgentSession(controller) &&
    controller.name === owner.name &&
    controller.uid !== owner.uid
  );
}

/** The message while an object of a deleted AgentSession of the same name waits for removal. */
export function pendingRemovalMessage(
  kind: string,
  name: string,
  metadata: V1ObjectMeta | undefined,
  owner: SessionOwner,
): string {
  const controller = controllerOf(metadata);
  const state = metadata?.deletionTimestamp ? 'is being deleted' : 'waits for the garbage collector';
  return (
    `${kind} ${name} in namespace ${owner.namespace} still belongs to a deleted AgentSession ${owner.name} ` +
    `(uid ${controller?.uid}) and ${state}; AgentSession ${owner.name} (uid ${owner.uid}) waits for it to go. ` +
    `If it stays, something holds it (a finalizer, or its old pod): kubectl describe ${kind.toLowerCase()} ${name} -n ${owner.namespace}`
  );
}

/** Who holds the object, in words: its controller, or "no owner". */
export function describeOwner(metadata: V1ObjectMeta | undefined, owner: SessionOwner): string {
  const controller = controllerOf(metadata);
  if (!controller) {
    const others = metadata?.ownerReferences ?? [];
    return others.length === 0
      ? 'no owner'
      : `no controller (owners: ${others.map((o) => `${o.kind} ${o.name}`).join(', ')})`;
  }
  if (isAgentSession(controller) && controller.name === owner.name) {
    return `an earlier AgentSession ${controller.name} (uid ${controller.uid}), not this one (uid ${owner.uid ?? 'unknown'})`;
  }
  return `owner ${controller.kind} ${controller.name} (uid ${controller.uid})`;
}

/**
 * The message of the ObjectConflictError for an object the session would use but does not own:
 * the kind, name and owner, and the fix.
 */
export function conflictMessage(
  kind: string,
  name: string,
  metadata: V1ObjectMeta | undefined,
  owner: SessionOwner,
): string {
  return (
    `${kind} ${name} already exists in namespace ${owner.namespace} with ${describeOwner(metadata, owner)}; ` +
    `AgentSession ${owner.name} uses only objects it created: delete that ${kind} ` +
    `(kubectl delete ${kind.toLowerCase()} ${name} -n ${owner.namespace}) or give the session another name`
  );
}
