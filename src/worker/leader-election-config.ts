/**
 * The worker's leader election settings from the environment (`SHEPHERD_LEADER_ELECTION*`), and
 * the default Lease name: replicas share a Lease exactly when they would watch the same things
 * (same task queue, session selector and namespaces), so sharded workers each keep a leader.
 */
import { createHash } from 'node:crypto';
import { checkLeaseTimings, type LeaseTimings } from '../runtime/kubernetes/leader-lease.js';

/** How the replicas elect the one that runs the cluster watchers. */
export interface LeaderElectionConfig extends LeaseTimings {
  /** The Lease's name (`SHEPHERD_LEADER_ELECTION_LEASE`). @default {@link defaultLeaseName} */
  lease: string;
  /**
   * The Lease's namespace (`SHEPHERD_LEADER_ELECTION_NAMESPACE`). Unset: the kubeconfig context's
   * namespace, which in a pod is the pod's own, else `default`.
   */
  namespace?: string;
}

const NAMES = {
  leaseDurationMs: 'SHEPHERD_LEADER_ELECTION_LEASE_MS',
  renewDeadlineMs: 'SHEPHERD_LEADER_ELECTION_RENEW_DEADLINE_MS',
  retryPeriodMs: 'SHEPHERD_LEADER_ELECTION_RETRY_MS',
} as const;

const DEFAULTS: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

// A Lease name is a DNS subdomain; kept to one label's length so it reads well in kubectl.
const LEASE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `shepherd-worker-<task queue>`, with a short hash of the session selector and namespaces when
 * either is set or the task queue is not a valid name as it is.
 */
export function defaultLeaseName(
  taskQueue: string,
  sessionSelector: string | undefined,
  namespaces: readonly string[] | undefined,
): string {
  const slug = taskQueue
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 38)
    .replace(/-+$/, '');
  const plain = `shepherd-worker-${slug}`;
  if (slug === taskQueue && !sessionSelector && !namespaces) return plain;
  const hash = createHash('sha256')
    .update(JSON.stringify([taskQueue, sessionSelector ?? '', namespaces ?? []]))
    .digest('hex')
    .slice(0, 8);
  return `${plain}-${hash}`;
}

function milliseconds(env: NodeJS.ProcessEnv, key: keyof LeaseTimings): number {
  const value = env[NAMES[key]];
  if (value === undefined || value === '') return DEFAULTS[key];
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`${NAMES[key]} must be a whole number of milliseconds above 0, not "${value}"`);
  }
  return n;
}

/**
 * Reads the leader election settings; undefined when `SHEPHERD_LEADER_ELECTION` is "false" (one worker
 * that should start watching at once, without looking for a Lease first).
 *
 * @throws Error naming the variable and the fix.
 */
export function leaderElectionFromEnv(
  env: NodeJS.ProcessEnv,
  scope: { taskQueue: string; sessionSelector?: string; namespaces?: readonly string[] },
): LeaderElectionConfig | undefined {
  const enabled = env.SHEPHERD_LEADER_ELECTION ?? 'true';
  if (enabled !== 'true' && enabled !== 'false') {
    throw new Error(`SHEPHERD_LEADER_ELECTION must be "true" or "false", not "${enabled}"`);
  }
  if (enabled === 'false') return undefined;
  const timings: LeaseTimings = {
    leaseDurationMs: milliseconds(env, 'leaseDurationMs'),
    renewDeadlineMs: milliseconds(env, 'renewDeadlineMs'),
    retryPeriodMs: milliseconds(env, 'retryPeriodMs'),
  };
  checkLeaseTimings(timings, NAMES);
  const lease =
    env.SHEPHERD_LEADER_ELECTION_LEASE ||
    defaultLeaseName(scope.taskQueue, scope.sessionSelector, scope.namespaces);
  if (!LEASE_NAME.test(lease)) {
    throw new Error(
      `SHEPHERD_LEADER_ELECTION_LEASE must be a name of lower-case letters, digits and inner hyphens, at most 63 long, such as shepherd-worker, not "${lease}"`,
    );
  }
  const namespace = env.SHEPHERD_LEADER_ELECTION_NAMESPACE;
  if (namespace !== undefined && namespace !== '' && !LEASE_NAME.test(namespace)) {
    throw new Error(
      `SHEPHERD_LEADER_ELECTION_NAMESPACE must be a namespace name such as shepherd-system, not "${namespace}"`,
    );
  }
  return { ...timings, lease, ...(namespace ? { namespace } : {}) };
}
