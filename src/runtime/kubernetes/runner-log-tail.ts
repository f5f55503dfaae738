/**
 * The last lines of an attempt's runner log, read from its pod while the Job still exists — for
 * the report a failed session sends its source. The runner has already redacted what it wrote.
 * Undefined when the pod is gone or its node cannot be reached: the report then goes without.
 */
import * as k8s from '@kubernetes/client-node';
import { ATTEMPT_LABEL } from '../../resources/constants.js';
import { listPodsFromCache } from './cached-pod-list.js';
import { RUNNER_CONTAINER } from './builders/session-job.js';
import { sessionSelectorLabels } from './builders/session-metadata.js';
import type { SessionRef } from '../session-activities.js';

/** Reads the tail of the runner log of one attempt. */
export function kubernetesLogTail(kubeConfig: k8s.KubeConfig) {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  return async (session: SessionRef, attempt: number, lines: number): Promise<string | undefined> => {
    const labels = { ...sessionSelectorLabels(session.name), [ATTEMPT_LABEL]: String(attempt) };
    const pods = await listPodsFromCache(
      core,
      session.namespace,
      Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
    );
    // A Job may have made more than one pod for the attempt: the newest ran last.
    const [pod] = pods.items.sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
    );
    if (!pod?.metadata?.name) return undefined;
    try {
      return await core.readNamespacedPodLog({
        name: pod.metadata.name,
        namespace: session.namespace,
        container: RUNNER_CONTAINER,
        tailLines: lines,
      });
    } catch {
      return undefined;
    }
  };
}
