/**
 * Where people can look at a session: its page in the Shepherd API and its workflow in the
 * Temporal Web UI. Feedback comments and pull request bodies carry them; both need the worker to
 * know the public addresses (`SHEPHERD_PUBLIC_API_URL`, `SHEPHERD_TEMPORAL_UI_URL`), and a link
 * is left out rather than guessed when it does not. Pure.
 */
import { sessionWorkflowId } from '../workflows/session-contract.js';

/** The public addresses the links are built on. */
export interface LinkBases {
  /** The Shepherd API as its users reach it, e.g. https://shepherd.example.com. */
  apiUrl?: string;
  /** The Temporal Web UI, e.g. https://temporal.example.com. */
  temporalUiUrl?: string;
  /** The Temporal namespace the sessions run in. */
  temporalNamespace: string;
}

/** A session's links; each is absent when its base is not configured. */
export interface SessionLinks {
  api?: string;
  temporal?: string;
}

function trimmed(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The links of session `namespace/name`. */
export function sessionLinks(bases: LinkBases, namespace: string, name: string): SessionLinks {
  const path = `${encodeURIComponent(namespace)}/sessions/${encodeURIComponent(name)}`;
  const workflowId = encodeURIComponent(sessionWorkflowId(namespace, name));
  return {
    ...(bases.apiUrl ? { api: `${trimmed(bases.apiUrl)}/api/v1/namespaces/${path}` } : {}),
    ...(bases.temporalUiUrl
      ? {
          temporal: `${trimmed(bases.temporalUiUrl)}/namespaces/${encodeURIComponent(bases.temporalNamespace)}/workflows/${workflowId}`,
        }
      : {}),
  };
}
