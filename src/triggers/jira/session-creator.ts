/**
 * How a trigger's session comes into being, as one port: Kubernetes creates the AgentSession CR
 * (and starts its workflow), local mode starts the session workflow, both through the runtime's
 * own SessionBackend so a triggered session is made exactly like one created through the API. The
 * session's name is deterministic (trigger-session.ts), so a second create of it is `exists`, not
 * a second session: that is what makes a retried activity harmless.
 */
import type { NamespacePolicySpec } from '../../resources/types.js';
import type { Client } from '@temporalio/client';
import type * as k8s from '@kubernetes/client-node';
import { ApiError } from '../../api/errors.js';
import type { SessionBackend } from '../../api/session-backend.js';
import type { Logger } from '../../common/logger.js';
import { kubernetesBackend } from '../../runtime/kubernetes/kubernetes-backend.js';
import { localBackend } from '../../runtime/local/local-backend.js';
import type { TriggeredSession } from '../trigger-session.js';

/** Creates a triggered session; `exists` when a session of its name is already there. */
export type SessionCreator = (session: TriggeredSession) => Promise<'created' | 'exists'>;

/** The session was refused for good: a spec the schema does not take, a namespace that is missing. */
export class SessionRefusedError extends Error {
  override readonly name = 'SessionRefusedError';
}

/** Errors of a create that retrying cannot fix. */
const REFUSALS = new Set([
  'InvalidSession',
  'InvalidRequest',
  'NotFound',
  'Forbidden',
  'PolicyViolation',
  'Unauthenticated',
]);

/** A creator over a runtime's backend. */
export function backendSessionCreator(backend: Pick<SessionBackend, 'create'>): SessionCreator {
  return async (session) => {
    try {
      await backend.create({
        namespace: session.namespace,
        name: session.name,
        labels: session.labels,
        spec: session.spec,
      });
      return 'created';
    } catch (error) {
      if (error instanceof ApiError && error.code === 'AlreadyExists') return 'exists';
      if (error instanceof ApiError && REFUSALS.has(error.code)) {
        throw new SessionRefusedError(
          `session ${session.name} in namespace ${session.namespace} was refused: ${error.message}`,
        );
      }
      throw error;
    }
  };
}

/** Kubernetes: the AgentSession CR, created with the worker's credentials. */
export function kubernetesSessionCreator(options: {
  kubeConfig: k8s.KubeConfig;
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** The policy of namespaces without a NamespacePolicy. */
  defaultPolicy?: NamespacePolicySpec;
}): SessionCreator {
  return backendSessionCreator(kubernetesBackend(options));
}

/** Local mode: the session workflow, which is the session's only record there. */
export function localSessionCreator(options: {
  client: Client;
  taskQueue: string;
  dataDir: string;
}): SessionCreator {
  return backendSessionCreator(localBackend(options));
}
