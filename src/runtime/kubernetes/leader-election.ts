/**
 * Leader election among the worker replicas of one installation, over a coordination.k8s.io/v1
 * Lease, and the runtime service that runs the cluster-watching services (runner watcher,
 * AgentSession controller, provider status) only on the leader. Every replica still runs the
 * Temporal worker, so workflows and activities spread over all of them; only the watches, which
 * would otherwise be repeated by every replica, are held once.
 *
 * Written here rather than taken from npm: @kubernetes/client-node has no leader election, and the
 * one package that adds it (@codedependant/kubernetes-leader-election) has a single release and
 * a few hundred users. This is client-go's algorithm (leader-lease.ts has the decisions): every
 * write is conditional on the resourceVersion read, so two candidates never both win; a leader
 * that has not renewed for the renew deadline stops its services, before any other replica may
 * see the lease expire; a stopping leader releases the lease so the next one takes over at its
 * next retry rather than after the lease duration.
 *
 * A leader's services get a fresh instance each term (their memory is rebuilt from the initial
 * list and the resync, which re-sends whatever happened between terms: the runner watcher and the
 * controller derive everything from current state).
 */
import {
  ApiException,
  CoordinationV1Api,
  type KubeConfig,
  V1MicroTime,
  type V1Lease,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../resources/constants.js';
import type { RuntimeService } from '../worker-runtime.js';
import {
  type LeaseObservation,
  type LeaseRecord,
  type LeaseTimings,
  observeLease,
  planLeaseStep,
  releasedRecord,
  stillLeading,
} from './leader-lease.js';

/** Where the election's Lease is and who this process is. */
export interface LeaderElectionOptions extends LeaseTimings {
  /** Needs get, create and update on Leases in `namespace`. */
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease's name: one per set of replicas that watch the same things. */
  name: string;
  /** This process, unique among the replicas (the worker uses `<pid>@<host>`, as Temporal does). */
  identity: string;
  logger: Logger;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** What leadership changes call. */
interface LeadershipCallbacks {
  onStartedLeading(): void;
  /** Resolves when whatever the leader ran has stopped. */
  onStoppedLeading(): Promise<void>;
}

/** A running election. */
interface LeaderElection {
  isLeader(): boolean;
  /** Stops competing; if leading, stops leading and releases the lease. */
  stop(): Promise<void>;
  /** Stops leading now and releases the lease; the election competes again from its next retry. */
  resign(reason: string): Promise<void>;
}

const LEASE_LABELS = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

function recordOf(lease: V1Lease | undefined): LeaseRecord | undefined {
  const spec = lease?.spec;
  if (!spec) return undefined;
  return {
    holder: spec.holderIdentity ?? '',
    leaseDurationMs: (spec.leaseDurationSeconds ?? 0) * 1_000,
    acquiredAt: spec.acquireTime ? new Date(spec.acquireTime).getTime() : 0,
    renewedAt: spec.renewTime ? new Date(spec.renewTime).getTime() : 0,
    transitions: spec.leaseTransitions ?? 0,
  };
}

function leaseOf(name: string, namespace: string, record: LeaseRecord, resourceVersion?: string): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, labels: LEASE_LABELS, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holder,
      leaseDurationSeconds: Math.ceil(record.leaseDurationMs / 1_000),
      acquireTime: new V1MicroTime(record.acquiredAt),
      renewTime: new V1MicroTime(record.renewedAt),
      leaseTransitions: record.transitions,
    },
  };
}

/**
 * Rejects after `ms`, or at once when `signal` aborts, so neither a hung request nor a stop waits
 * on it; the request itself is left to finish, and a write that lands late is harmless: it is
 * conditional on the version it read, and a stopped election no longer leads whatever it wrote.
 */
function within<T>(work: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    onAbort = () => reject(new Error(`${what} was abandoned: the worker is stopping`));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

/** Competes for the lease until stopped, calling back when leadership starts and stops. */
function runLeaderElection(options: LeaderElectionOptions, callbacks: LeadershipCallbacks): LeaderElection {
  const { namespace, name, identity, logger, leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options;
  const now = options.now ?? Date.now;
  const leases = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const fields = { lease: `${namespace}/${name}`, identity };
  const abort = new AbortController();
  let observation: LeaseObservation | undefined;
  let leading = false;
  let deadline: NodeJS.Timeout | undefined;
  let lastError: string | undefined;
  let stopped = false;

  const read = async (): Promise<V1Lease | undefined> => {
    try {
      return await within(
        leases.readNamespacedLease({ name, namespace }),
        renewDeadlineMs,
        'reading the lease',
        abort.signal,
      );
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  };

  const lose = (reason: string): Promise<void> => {
    if (!leading) return Promise.resolve();
    leading = false;
    clearTimeout(deadline);
    logger.warn({ ...fields, reason }, 'stopped leading: the runner watcher and controller stop here');
    return callbacks.onStoppedLeading();
  };

  const renewed = (startedAt: number, step: string, previousHolder: string | undefined) => {
    clearTimeout(deadline);
    // Measured from when the write was sent: the lease may have been stamped any time after.
    deadline = setTimeout(
      () => void lose(`no renew for ${renewDeadlineMs} ms`),
      Math.max(0, renewDeadlineMs - (now() - startedAt)),
    );
    if (leading) return;
    leading = true;
    logger.info(
      { ...fields, step, ...(previousHolder ? { previousHolder } : {}) },
      'leading: the runner watcher and controller run here',
    );
    callbacks.onStartedLeading();
  };

  const attempt = async () => {
    const startedAt = now();
    const lease = await read();
    observation = observeLease(observation, recordOf(lease), lease?.metadata?.resourceVersion, now());
    const step = planLeaseStep(observation, identity, startedAt, leaseDurationMs);
    if (step.kind === 'wait') {
      await lose(`the lease is held by ${step.holder}`);
      return;
    }
    const written = await within(
      step.kind === 'create'
        ? leases.createNamespacedLease({ namespace, body: leaseOf(name, namespace, step.record) })
        : leases.replaceNamespacedLease({
            name,
            namespace,
            body: leaseOf(name, namespace, step.record, observation.resourceVersion),
          }),
      renewDeadlineMs,
      'writing the lease',
      abort.signal,
    );
    const previousHolder = step.kind === 'acquire' ? observation.record?.holder : undefined;
    observation = observeLease(observation, recordOf(written), written.metadata?.resourceVersion, now());
    if (stopped) return;
    if (stillLeading(startedAt, now(), renewDeadlineMs)) renewed(startedAt, step.kind, previousHolder);
  };

  const describe = (error: unknown): string => {
    if (error instanceof ApiException && error.code === 403) {
      return `the worker may not get, create or update Leases in namespace ${namespace}: grant it (the chart's worker Role does) or set SHEPHERD_LEADER_ELECTION=false for a single worker`;
    }
    return error instanceof Error ? error.message : String(error);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await attempt();
        if (lastError !== undefined) logger.info(fields, 'the lease is reachable again');
        lastError = undefined;
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) {
          // Another replica wrote first: the usual end of a race for the lease, seen at the next read.
          logger.debug(fields, 'another replica wrote the lease first');
        } else {
          const message = describe(error);
          // Logged when it changes, not every retry: a missing Role would otherwise log every 2 s.
          if (message !== lastError)
            logger.warn({ ...fields, error: message }, 'leader election attempt failed');
          lastError = message;
        }
      }
      await sleep(retryPeriodMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();

  const release = async () => {
    const record = observation?.record;
    if (!record || record.holder !== identity) return;
    try {
      await within(
        leases.replaceNamespacedLease({
          name,
          namespace,
          body: leaseOf(name, namespace, releasedRecord(record, now()), observation?.resourceVersion),
        }),
        renewDeadlineMs,
        'releasing the lease',
      );
      observation = undefined;
      logger.info(fields, 'released the lease');
    } catch (error) {
      logger.warn({ ...fields, error: describe(error) }, 'could not release the lease; it expires by itself');
    }
  };

  return {
    isLeader: () => leading,
    async resign(reason) {
      await lose(reason);
      await release();
    },
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
      // Services first, then the lease: the next leader never overlaps this one's drain.
      await lose('the worker is stopping');
      await release();
    },
  };
}

/** Options of {@link leaderOnlyServices}. */
export interface LeaderOnlyServicesOptions {
  election: LeaderElectionOptions;
  /** Builds the services a leader runs, fresh for each term; started in order, stopped in reverse. */
  services: () => RuntimeService[];
}

/**
 * One runtime service that competes for the lease and runs `services` while this process leads.
 * Its `start` does not wait for leadership, so a replica that does not lead still starts.
 */
export function leaderOnlyServices(options: LeaderOnlyServicesOptions): RuntimeService {
  const { logger } = options.election;
  let running: RuntimeService[] | undefined;
  let transitions = Promise.resolve();
  let election: LeaderElection | undefined;

  // Start and stop run one after the other, so a short term never overlaps the next.
  const enqueue = (work: () => Promise<void>): Promise<void> =>
    (transitions = transitions.then(work).catch((error: unknown) => {
      logger.error({ err: error }, 'the leader services failed');
    }));

  const stopRunning = async () => {
    const services = running;
    running = undefined;
    for (const service of [...(services ?? [])].reverse()) await service.stop();
  };

  const startRunning = async () => {
    if (!election?.isLeader() || running) return;
    running = options.services();
    try {
      for (const service of running) await service.start();
    } catch (error) {
      logger.error({ err: error }, 'the leader services did not start; giving up the lease');
      await stopRunning();
      // Not awaited here: resigning waits for the transitions, this one among them.
      void election.resign('its services did not start');
    }
  };

  return {
    start() {
      election ??= runLeaderElection(options.election, {
        onStartedLeading: () => void enqueue(startRunning),
        onStoppedLeading: () => enqueue(stopRunning),
      });
      return Promise.resolve();
    },
    async stop() {
      await election?.stop();
      await transitions;
    },
  };
}
