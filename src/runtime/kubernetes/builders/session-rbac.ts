/**
 * Builds the runner's identity: a ServiceAccount, a Role that lets it read its own AgentSession and
 * nothing else, and the RoleBinding between them. The Role grants get and watch on one resource
 * name and never the status subresource, so a runner can follow its session (e.g. a stop) but can
 * never report its own outcome: only the workflow writes status.
 */
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../../../resources/constants.js';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { childMetadata } from './session-metadata.js';
import { sessionObjectNames } from './session-names.js';

/** The runner's ServiceAccount. Its token is mounted only into the runner pod. */
export function buildRunnerServiceAccount(session: ResolvedSession): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMetadata(session, sessionObjectNames(session.name).runner, 'runner-rbac'),
    automountServiceAccountToken: false,
  };
}

/**
 * The runner's Role: get and watch on its own AgentSession only. `list` is left out because RBAC
 * cannot restrict it by name; a watch with a `metadata.name` field selector is allowed.
 */
export function buildRunnerRole(session: ResolvedSession): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: childMetadata(session, sessionObjectNames(session.name).runner, 'runner-rbac'),
    rules: [
      {
        apiGroups: [GROUP],
        resources: [PLURAL.agentSession],
        resourceNames: [session.name],
        verbs: ['get', 'watch'],
      },
    ],
  };
}

/** Binds the runner's Role to its ServiceAccount. */
export function buildRunnerRoleBinding(session: ResolvedSession): V1RoleBinding {
  const name = sessionObjectNames(session.name).runner;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMetadata(session, name, 'runner-rbac'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace: session.namespace }],
  };
}
