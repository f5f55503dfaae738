/**
 * The decisions of leader election over a coordination.k8s.io/v1 Lease, as pure functions of what
 * was read and the local clock, so every case (acquire, renew, wait, take over an expired lease,
 * release) is tested without a cluster. leader-election.ts does the reads and writes.
 *
 * The semantics are client-go's `leaderelection` package: a lease is expired when its holder has
 * not changed it for its `leaseDurationSeconds` *as measured on this process's clock from when this
 * process first saw that version* — never by comparing `renewTime` with local time, so clock skew
 * between nodes cannot hand the lease over early. A holder gives up leading when it has not renewed
 * for the renew deadline, which is shorter than the lease duration: the old leader has stopped
 * before any other process may consider the lease expired.
 */

/** A Lease's spec as the election reads and writes it, times in ms since the epoch. */
export interface LeaseRecord {
  /** Who holds it; empty once released. */
  holder: string;
  leaseDurationMs: number;
  acquiredAt: number;
  renewedAt: number;
  /** How many times the lease changed hands. */
  transitions: number;
}

/** What this process last read of the Lease and when that version was first seen here. */
export interface LeaseObservation {
  /** Undefined when there is no Lease. */
  record: LeaseRecord | undefined;
  /** The version the next write is conditional on (optimistic concurrency). */
  resourceVersion: string | undefined;
  /** This process's clock when it first saw this record. */
  observedAt: number;
}

/** What to do next. */
export type LeaseStep =
  /** There is no Lease: create it, held by us. */
  | { kind: 'create'; record: LeaseRecord }
  /** We hold it: write a later renew time. */
  | { kind: 'renew'; record: LeaseRecord }
  /** It is released or expired: take it over. */
  | { kind: 'acquire'; record: LeaseRecord }
  /** Someone else holds it: look again later; it expires at `expiresAt` on our clock unless renewed. */
  | { kind: 'wait'; holder: string; expiresAt: number };

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.holder === b.holder &&
    a.renewedAt === b.renewedAt &&
    a.acquiredAt === b.acquiredAt &&
    a.transitions === b.transitions &&
    a.leaseDurationMs === b.leaseDurationMs
  );
}

/**
 * The observation after reading `record` at `now`: its `observedAt` moves only when the record
 * changed, so a holder that stopped renewing is seen to expire on our clock.
 */
export function observeLease(
  previous: LeaseObservation | undefined,
  record: LeaseRecord | undefined,
  resourceVersion: string | undefined,
  now: number,
): LeaseObservation {
  const unchanged = previous !== undefined && sameRecord(previous.record, record);
  return { record, resourceVersion, observedAt: unchanged ? previous.observedAt : now };
}

/** Decides what `identity` does about the Lease it last observed, at `now`. */
export function planLeaseStep(
  observation: LeaseObservation,
  identity: string,
  now: number,
  leaseDurationMs: number,
): LeaseStep {
  const current = observation.record;
  const held = (acquiredAt: number, transitions: number): LeaseRecord => ({
    holder: identity,
    leaseDurationMs,
    acquiredAt,
    renewedAt: now,
    transitions,
  });
  if (current === undefined) return { kind: 'create', record: held(now, 0) };
  if (current.holder === identity) {
    return { kind: 'renew', record: held(current.acquiredAt, current.transitions) };
  }
  const expiresAt = observation.observedAt + current.leaseDurationMs;
  if (current.holder !== '' && now < expiresAt) return { kind: 'wait', holder: current.holder, expiresAt };
  return { kind: 'acquire', record: held(now, current.transitions + 1) };
}

/**
 * Whether a leader whose last successful renew began at `renewStartedAt` may still act at `now`.
 * Measured from when the renew was sent, not when it returned, since the server may have stamped
 * it at any moment in between.
 */
export function stillLeading(renewStartedAt: number, now: number, renewDeadlineMs: number): boolean {
  return now - renewStartedAt < renewDeadlineMs;
}

/**
 * The record a stopping leader writes: no holder, so the next candidate takes over at its next
 * retry instead of waiting out the lease. The short duration keeps an old reader from waiting long.
 */
export function releasedRecord(record: LeaseRecord, now: number): LeaseRecord {
  return { ...record, holder: '', leaseDurationMs: 1_000, renewedAt: now };
}

/** The durations of an election. */
export interface LeaseTimings {
  /** How long a lease is valid after its last renew. */
  leaseDurationMs: number;
  /** How long a leader keeps leading without a successful renew. */
  renewDeadlineMs: number;
  /** How often a candidate tries to acquire, and a leader to renew. */
  retryPeriodMs: number;
}

/**
 * Checks that the timings can keep one leader: the renew deadline below the lease duration (the
 * old leader stops before others take over) and the retry period below the renew deadline (a
 * leader gets more than one try to renew).
 *
 * @throws Error naming the variables at fault and the fix.
 */
export function checkLeaseTimings(timings: LeaseTimings, names: Record<keyof LeaseTimings, string>): void {
  for (const key of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    const value = timings[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`${names[key]} must be a whole number of milliseconds above 0, not ${value}`);
    }
  }
  if (timings.renewDeadlineMs >= timings.leaseDurationMs) {
    throw new Error(
      `${names.renewDeadlineMs} (${timings.renewDeadlineMs}) must be less than ${names.leaseDurationMs} (${timings.leaseDurationMs}), so a leader that cannot renew stops before another takes over`,
    );
  }
  if (timings.retryPeriodMs >= timings.renewDeadlineMs) {
    throw new Error(
      `${names.retryPeriodMs} (${timings.retryPeriodMs}) must be less than ${names.renewDeadlineMs} (${timings.renewDeadlineMs}), so a leader gets several tries to renew`,
    );
  }
}
