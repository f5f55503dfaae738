/**
 * Readiness probes of the API's dependencies, each bounded by a short deadline so `/readyz`
 * answers quickly even when a dependency hangs rather than refuses.
 */
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';

const PROBE_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether the Temporal frontend answers. */
export async function temporalReachable(client: Client): Promise<boolean> {
  try {
    await within(
      client.connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () =>
        client.workflowService.getSystemInfo({}),
      ),
    );
    return true;
  } catch {
    return false;
  }
}

/** Whether the Kubernetes API server answers. */
export async function kubernetesReachable(kubeConfig: k8s.KubeConfig): Promise<boolean> {
  try {
    await within(kubeConfig.makeApiClient(k8s.VersionApi).getCode());
    return true;
  } catch {
    return false;
  }
}
