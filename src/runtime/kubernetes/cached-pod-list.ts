/**
 * An attempt's pods, read from the API server's watch cache and never from etcd. A list without a
 * resourceVersion is a consistent read, which the API server answers from etcd whenever its cache
 * lags behind (a loaded cluster), and etcd, which cannot filter by label, then returns every pod
 * of the namespace for each call. At 10,000 sessions the runner checks' lists (about 6/s) fell
 * through that way and took etcd from 0.7 to 11 GiB within two minutes.
 *
 * `notOlderThan`, a resourceVersion just read (the Job's), keeps the answer at least as new as
 * that read, so a Job read before its pods still sees every pod the Job had counted; the API
 * server waits a few seconds for its cache to get there, then refuses (504), and the caller's
 * retry reads again. Without it the answer may be a little stale, which a poll until the pods
 * are gone, or a best-effort log tail, can take.
 */
import type * as k8s from '@kubernetes/client-node';

export function listPodsFromCache(
  core: k8s.CoreV1Api,
  namespace: string,
  labelSelector: string,
  notOlderThan?: string,
): Promise<k8s.V1PodList> {
  return core.listNamespacedPod({
    namespace,
    labelSelector,
    resourceVersion: notOlderThan ?? '0',
    resourceVersionMatch: 'NotOlderThan',
  });
}
