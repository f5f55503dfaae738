/**
 * The FollowUpSessions of each runtime. Kubernetes: AgentSession CRs, a thread's sessions listed
 * with a label selector on THREAD_LABEL in the trigger's namespace (one call, answered from the
 * API server's index). Local: no CR exists and Temporal's visibility store holds no labels, so the
 * namespace's sessions are listed through the local backend (the workflows' own records) and
 * filtered by the label — a laptop's few sessions, read a bounded number of pages.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ApiError } from '../../api/errors.js';
import type { ApiSession, SessionBackend } from '../../api/session-backend.js';
import { GROUP, PLURAL, VERSION } from '../../resources/constants.js';
import type { AgentSession } from '../../resources/types.js';
import { statusOf } from '../../runtime/kubernetes/api-refusal.js';
import { THREAD_LABEL } from '../trigger-session.js';
import type { FollowUpSession, FollowUpSessions } from './follow-up-ports.js';

/** A thread's sessions read at most: a thread with more is not a conversation any more. */
const MAX_THREAD_SESSIONS = 100;

function fromObject(session: AgentSession | ApiSession, namespace: string): FollowUpSession {
  const { metadata, spec, status } = session;
  return {
    namespace: metadata.namespace ?? namespace,
    name: metadata.name ?? '',
    spec: spec ?? {},
    ...(status?.phase ? { phase: status.phase } : {}),
    ...(metadata.creationTimestamp ? { created: String(metadata.creationTimestamp) } : {}),
  };
}

/** The AgentSession CRs of the cluster. */
export function kubernetesFollowUpSessions(kubeConfig: KubeConfig): FollowUpSessions {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const crApi = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };
  return {
    async inThread(namespace, thread) {
      const list = (await custom.listNamespacedCustomObject({
        ...crApi,
        namespace,
        labelSelector: `${THREAD_LABEL}=${thread}`,
        limit: MAX_THREAD_SESSIONS,
      })) as { items: AgentSession[] };
      return list.items.filter((s) => !s.metadata.deletionTimestamp).map((s) => fromObject(s, namespace));
    },
    async get(namespace, name) {
      try {
        const session = (await custom.getNamespacedCustomObject({
          ...crApi,
          namespace,
          name,
        })) as AgentSession;
        return session.metadata.deletionTimestamp ? undefined : fromObject(session, namespace);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
  };
}

/** Pages of a namespace's sessions read to find a thread's (local runtime). */
const MAX_PAGES = 20;

/** Sessions through a backend's list and get (the local runtime's). */
export function backendFollowUpSessions(backend: Pick<SessionBackend, 'list' | 'get'>): FollowUpSessions {
  return {
    async inThread(namespace, thread) {
      const found: FollowUpSession[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const { items, continue: next } = await backend.list(namespace, {
          limit: 100,
          ...(token ? { continue: token } : {}),
        });
        for (const item of items) {
          if (item.metadata.labels?.[THREAD_LABEL] === thread) found.push(fromObject(item, namespace));
        }
        if (!next || found.length >= MAX_THREAD_SESSIONS) break;
        token = next;
      }
      return found;
    },
    async get(namespace, name) {
      try {
        return fromObject(await backend.get(namespace, name), namespace);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'NotFound') return undefined;
        throw error;
      }
    },
  };
}
