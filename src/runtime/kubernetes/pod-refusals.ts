/**
 * Refusals of a runner's pod: when admission (Pod Security, LimitRange, a webhook) or a
 * ResourceQuota refuses the pod of a runner Job, the Job controller makes no pod at all and only
 * records an Event with reason `FailedCreate` on the Job, again and again. Without reading those
 * Events a session would wait forever for a runner that can never exist. Pure functions of the
 * Events, shared by the watcher's informer, its resync and `observeRunner`.
 */
import type { CoreV1Event } from '@kubernetes/client-node';

/** The field selector of the Events that matter: pod creation failures of Jobs. */
export const FAILED_CREATE_FIELD_SELECTOR = 'involvedObject.kind=Job,reason=FailedCreate';

/** One `FailedCreate` Event of a Job, reduced to what decides about the attempt. */
export interface PodRefusal {
  /** The uid of the Job it was recorded on: an Event of an earlier Job of the same name must not end this one. */
  jobUid?: string;
  /** The API server's refusal, which names the rule, field or quota. */
  message: string;
}

/** Where a refusal belongs: the Job's namespace and name, and the Event's own name (its identity). */
export interface LocatedPodRefusal {
  namespace: string;
  jobName: string;
  eventName: string;
  refusal: PodRefusal;
}

/** The prefix the Job controller puts before the API server's error. */
const JOB_CONTROLLER_PREFIX = 'Error creating: ';

/**
 * Refusals that go away by themselves within seconds: the ServiceAccount admission plugin's cache
 * not having the runner's just-created ServiceAccount yet, and a ResourceQuota whose usage the
 * quota controller has not computed yet.
 */
const TRANSIENT_PATTERNS: readonly RegExp[] = [
  /error looking up service account/i,
  /serviceaccount "[^"]*" not found/i,
  /status unknown for quota/i,
];

/** The refusal an Event records, or undefined for any other Event. */
export function podRefusalOfEvent(event: CoreV1Event): LocatedPodRefusal | undefined {
  const involved = event.involvedObject;
  const namespace = involved?.namespace ?? event.metadata?.namespace;
  const jobName = involved?.name;
  const eventName = event.metadata?.name;
  if (event.reason !== 'FailedCreate' || involved?.kind !== 'Job') return undefined;
  if (!namespace || !jobName || !eventName) return undefined;
  const raw = event.message ?? '';
  const message = raw.startsWith(JOB_CONTROLLER_PREFIX) ? raw.slice(JOB_CONTROLLER_PREFIX.length) : raw;
  return {
    namespace,
    jobName,
    eventName,
    refusal: { ...(involved.uid ? { jobUid: involved.uid } : {}), message },
  };
}

/**
 * Whether a refusal is final: the API server answered "forbidden" (admission, quota exceeded) or
 * "invalid" (a field of the pod), which the next try of the same pod gets again. A quota that
 * frees up later is treated as final too: the session ends within seconds with the quota's name
 * rather than waiting an unknown time for capacity. Anything else (a timeout, an internal error,
 * the transient refusals above) is left to the Job controller's own retries.
 */
export function isFinalRefusal(refusal: PodRefusal): boolean {
  if (!/\bis (forbidden|invalid)\b/.test(refusal.message)) return false;
  return !TRANSIENT_PATTERNS.some((pattern) => pattern.test(refusal.message));
}

/**
 * The refusal that ends the attempt whose Job has uid `jobUid`: the first final one recorded on
 * that Job (or on a Job of that name, when either uid is unknown).
 */
export function finalRefusalOf(
  refusals: readonly PodRefusal[],
  jobUid: string | undefined,
): PodRefusal | undefined {
  return refusals.find(
    (refusal) =>
      (jobUid === undefined || refusal.jobUid === undefined || refusal.jobUid === jobUid) &&
      isFinalRefusal(refusal),
  );
}
