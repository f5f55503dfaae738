/**
 * Builds the session's workspace PersistentVolumeClaim. One claim per session, shared by every
 * attempt and restart, so a retry continues on the agent's earlier work.
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { childMetadata } from './session-metadata.js';
import { sessionObjectNames } from './session-names.js';

/** The workspace claim: ReadWriteOnce (one runner at a time), of the resolved size and class. */
export function buildSessionPvc(session: ResolvedSession): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: childMetadata(session, sessionObjectNames(session.name).pvc, 'workspace'),
    spec: {
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      resources: { requests: { storage: session.workspace.size } },
      ...(session.workspace.storageClass === undefined
        ? {}
        : { storageClassName: session.workspace.storageClass }),
    },
  };
}
