/**
 * Metadata every child object of a session carries: the `shepherd.dev/session` and managed-by
 * labels, the full session name as an annotation, and a controller ownerReference to the
 * AgentSession, so deleting the session lets the garbage collector delete everything it owns.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import {
  API_VERSION,
  COMPONENT_LABEL,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SESSION_LABEL,
  SESSION_NAME_ANNOTATION,
} from '../../../resources/constants.js';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { sessionLabelValue } from './session-names.js';

/** What a child object is, as the `app.kubernetes.io/component` label says. */
export type SessionComponent = 'workspace' | 'session-secret' | 'runner-rbac' | 'runner' | 'runner-egress';

/** The controller ownerReference to the AgentSession. */
export function sessionOwnerReference(session: Pick<ResolvedSession, 'name' | 'uid'>): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND.agentSession,
    name: session.name,
    uid: session.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The labels that identify a session's objects; also the selector for them. */
export function sessionSelectorLabels(sessionName: string): Record<string, string> {
  return { [SESSION_LABEL]: sessionLabelValue(sessionName), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
}

/** Metadata for a child object named `name`. */
export function childMetadata(
  session: Pick<ResolvedSession, 'namespace' | 'name' | 'uid'>,
  name: string,
  component: SessionComponent,
  extraLabels: Record<string, string> = {},
): V1ObjectMeta {
  return {
    name,
    namespace: session.namespace,
    labels: { ...extraLabels, ...sessionSelectorLabels(session.name), [COMPONENT_LABEL]: component },
    annotations: { [SESSION_NAME_ANNOTATION]: session.name },
    ownerReferences: [sessionOwnerReference(session)],
  };
}
