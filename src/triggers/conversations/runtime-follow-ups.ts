/**
 * The FollowUpDeps of each runtime, as the API server and the embedded stack build them: the
 * sessions of the runtime (CRs with a label selector, or the local backend), the Temporal client
 * for the session workflows, and the triggers' Secrets for the forge and Slack calls.
 */
import type { Client } from '@temporalio/client';
import type { KubeConfig } from '@kubernetes/client-node';
import type { SessionBackend } from '../../api/session-backend.js';
import type { Logger } from '../../common/logger.js';
import type { ForgeConfig } from '../../forges/forge-registry.js';
import { localResourcesFile } from '../local-resources.js';
import { kubernetesSecretSource, localSecretSource } from '../secret-source.js';
import type { FollowUpDeps } from './follow-up-ports.js';
import { backendFollowUpSessions, kubernetesFollowUpSessions } from './follow-up-sessions.js';
import { temporalFollowUpSignals } from './follow-up-signals.js';
import { followUpSource } from './follow-up-source.js';

/** What both runtimes' follow-ups need. */
export interface RuntimeFollowUpOptions {
  client: Client;
  /** The forges known (SHEPHERD_FORGES, github.com). */
  forges: readonly ForgeConfig[];
  logger: Logger;
}

/** Follow-ups on Kubernetes: AgentSession CRs, Secrets in the triggers' namespaces. */
export function kubernetesFollowUps(
  options: RuntimeFollowUpOptions & { kubeConfig: KubeConfig },
): FollowUpDeps {
  const { kubeConfig, client, forges, logger } = options;
  return {
    sessions: kubernetesFollowUpSessions(kubeConfig),
    signals: temporalFollowUpSignals(client),
    source: followUpSource({ secrets: kubernetesSecretSource(kubeConfig), forges, logger }),
  };
}

/** Follow-ups in the local runtime: the backend's sessions, the triggers file's Secrets. */
export function localFollowUps(
  options: RuntimeFollowUpOptions & {
    backend: Pick<SessionBackend, 'list' | 'get'>;
    /** SHEPHERD_TRIGGERS_FILE. */
    triggersFile: string | undefined;
  },
): FollowUpDeps {
  const { backend, triggersFile, client, forges, logger } = options;
  return {
    sessions: backendFollowUpSessions(backend),
    signals: temporalFollowUpSignals(client),
    source: followUpSource({ secrets: localSecretSource(localResourcesFile(triggersFile)), forges, logger }),
  };
}
