/**
 * Leader election over a Lease, decision by decision, on an injected clock: the first replica
 * creates the Lease and leads; the holder renews; another replica waits while the holder renews and
 * takes over only once the lease has gone unrenewed for its duration on the waiter's own clock
 * (whatever the holder's clock wrote); a leader that cannot renew stops before anyone may take
 * over; a released lease is taken at once. Also the settings as the worker reads them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type LeaseObservation,
  type LeaseRecord,
  checkLeaseTimings,
  observeLease,
  planLeaseStep,
  releasedRecord,
  stillLeading,
} from '../../src/runtime/kubernetes/leader-lease.js';
import { defaultLeaseName, leaderElectionFromEnv } from '../../src/worker/leader-election-config.js';
import { workerConfigFromEnv } from '../../src/worker/config.js';

const T0 = 1_900_000_000_000;
const LEASE = 15_000;
const RENEW_DEADLINE = 10_000;

/** Two replicas' view of one Lease, as the election loop would keep it. */
function replica(identity: string) {
  let observation: LeaseObservation | undefined;
  return {
    read(record: LeaseRecord | undefined, resourceVersion: string | undefined, now: number) {
      observation = observeLease(observation, record, resourceVersion, now);
      return planLeaseStep(observation, identity, now, LEASE);
    },
  };
}

describe('leader election decisions', () => {
  it('the first replica creates the Lease and holds it; the holder renews keeping its acquire time', () => {
    const a = replica('a');
    const first = a.read(undefined, undefined, T0);
    assert.equal(first.kind, 'create');
    assert.deepEqual(first.kind === 'create' && first.record, {
      holder: 'a',
      leaseDurationMs: LEASE,
      acquiredAt: T0,
      renewedAt: T0,
      transitions: 0,
    });
    const held = first.kind === 'create' ? first.record : undefined;
    const renew = a.read(held, '1', T0 + 2_000);
    assert.equal(renew.kind, 'renew');
    assert.equal(renew.kind === 'renew' && renew.record.acquiredAt, T0);
    assert.equal(renew.kind === 'renew' && renew.record.renewedAt, T0 + 2_000);
    assert.equal(renew.kind === 'renew' && renew.record.transitions, 0);
  });

  it('another replica waits while the holder keeps renewing, however long that goes on', () => {
    const b = replica('b');
    for (let i = 0; i < 20; i += 1) {
      const now = T0 + i * 2_000;
      const step = b.read(
        { holder: 'a', leaseDurationMs: LEASE, acquiredAt: T0, renewedAt: now, transitions: 0 },
        `${i}`,
        now,
      );
      assert.equal(step.kind, 'wait', `at ${i * 2} s`);
      assert.equal(step.kind === 'wait' && step.holder, 'a');
    }
  });

  it('an unrenewed lease is taken over only after its duration on the waiter’s clock, not by its renewTime', () => {
    const b = replica('b');
    // The holder's clock is an hour behind: comparing renewTime with local time would call it
    // expired at once. The waiter measures from when it first saw this version.
    const stale: LeaseRecord = {
      holder: 'a',
      leaseDurationMs: LEASE,
      acquiredAt: T0 - 3_600_000,
      renewedAt: T0 - 3_600_000,
      transitions: 4,
    };
    const seen = b.read(stale, '7', T0);
    assert.deepEqual(seen, { kind: 'wait', holder: 'a', expiresAt: T0 + LEASE });
    assert.equal(b.read(stale, '7', T0 + LEASE - 1).kind, 'wait');
    const takeover = b.read(stale, '7', T0 + LEASE);
    assert.equal(takeover.kind, 'acquire');
    assert.deepEqual(takeover.kind === 'acquire' && takeover.record, {
      holder: 'b',
      leaseDurationMs: LEASE,
      acquiredAt: T0 + LEASE,
      renewedAt: T0 + LEASE,
      transitions: 5,
    });
  });

  it('a renew seen while waiting restarts the wait from when it was seen', () => {
    const b = replica('b');
    const record = (renewedAt: number): LeaseRecord => ({
      holder: 'a',
      leaseDurationMs: LEASE,
      acquiredAt: T0,
      renewedAt,
      transitions: 0,
    });
    b.read(record(T0), '1', T0);
    const renewed = b.read(record(T0 + 12_000), '2', T0 + 14_000);
    assert.deepEqual(renewed, { kind: 'wait', holder: 'a', expiresAt: T0 + 14_000 + LEASE });
    assert.equal(b.read(record(T0 + 12_000), '2', T0 + LEASE + 1).kind, 'wait');
  });

  it('the holder’s own lease duration decides when it expires', () => {
    const b = replica('b');
    const long: LeaseRecord = {
      holder: 'a',
      leaseDurationMs: 60_000,
      acquiredAt: T0,
      renewedAt: T0,
      transitions: 0,
    };
    b.read(long, '1', T0);
    assert.equal(b.read(long, '1', T0 + LEASE).kind, 'wait');
    assert.equal(b.read(long, '1', T0 + 60_000).kind, 'acquire');
  });

  it('a released lease is taken at once, and counts as a transition', () => {
    const held: LeaseRecord = {
      holder: 'a',
      leaseDurationMs: LEASE,
      acquiredAt: T0,
      renewedAt: T0 + 4_000,
      transitions: 2,
    };
    const released = releasedRecord(held, T0 + 5_000);
    assert.equal(released.holder, '');
    const b = replica('b');
    const step = b.read(released, '9', T0 + 5_000);
    assert.equal(step.kind, 'acquire');
    assert.equal(step.kind === 'acquire' && step.record.transitions, 3);
  });

  it('a leader that cannot renew stops before any other replica may take the lease over', () => {
    const renewSentAt = T0;
    assert.ok(stillLeading(renewSentAt, T0 + RENEW_DEADLINE - 1, RENEW_DEADLINE));
    assert.ok(!stillLeading(renewSentAt, T0 + RENEW_DEADLINE, RENEW_DEADLINE));
    // The earliest another replica can see the renew is when it was sent; it waits the lease out.
    const b = replica('b');
    b.read(
      { holder: 'a', leaseDurationMs: LEASE, acquiredAt: T0, renewedAt: T0, transitions: 0 },
      '1',
      renewSentAt,
    );
    let firstTakeover = renewSentAt;
    while (
      b.read(
        { holder: 'a', leaseDurationMs: LEASE, acquiredAt: T0, renewedAt: T0, transitions: 0 },
        '1',
        firstTakeover,
      ).kind === 'wait'
    ) {
      firstTakeover += 500;
    }
    assert.ok(!stillLeading(renewSentAt, firstTakeover, RENEW_DEADLINE), 'the old leader was still leading');
  });
});

describe('leader election settings', () => {
  const names = { leaseDurationMs: 'L', renewDeadlineMs: 'D', retryPeriodMs: 'R' };

  it('refuses a renew deadline not below the lease duration, or a retry not below the deadline', () => {
    assert.throws(
      () =>
        checkLeaseTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, names),
      /D \(10000\) must be less than L \(10000\)/,
    );
    assert.throws(
      () =>
        checkLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 10_000 }, names),
      /R \(10000\) must be less than D/,
    );
    checkLeaseTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, names);
  });

  it('is on by default on Kubernetes with 15 s, 10 s and 2 s, off locally, and off when asked', () => {
    const config = workerConfigFromEnv({});
    assert.deepEqual(config.leaderElection, {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      lease: 'shepherd-worker-shepherd-sessions',
    });
    assert.equal(workerConfigFromEnv({ SHEPHERD_RUNTIME: 'local' }).leaderElection, undefined);
    assert.equal(workerConfigFromEnv({ SHEPHERD_LEADER_ELECTION: 'false' }).leaderElection, undefined);
    assert.throws(
      () => workerConfigFromEnv({ SHEPHERD_LEADER_ELECTION: 'yes' }),
      /SHEPHERD_LEADER_ELECTION must be "true" or "false"/,
    );
  });

  it('names the variable at fault', () => {
    const scope = { taskQueue: 'q' };
    assert.throws(
      () => leaderElectionFromEnv({ SHEPHERD_LEADER_ELECTION_LEASE_MS: '15s' }, scope),
      /SHEPHERD_LEADER_ELECTION_LEASE_MS must be a whole number of milliseconds/,
    );
    assert.throws(
      () => leaderElectionFromEnv({ SHEPHERD_LEADER_ELECTION_RENEW_DEADLINE_MS: '20000' }, scope),
      /SHEPHERD_LEADER_ELECTION_RENEW_DEADLINE_MS \(20000\) must be less than SHEPHERD_LEADER_ELECTION_LEASE_MS/,
    );
    assert.throws(
      () => leaderElectionFromEnv({ SHEPHERD_LEADER_ELECTION_LEASE: 'Shepherd_Lease' }, scope),
      /SHEPHERD_LEADER_ELECTION_LEASE must be a name/,
    );
    assert.throws(
      () => leaderElectionFromEnv({ SHEPHERD_LEADER_ELECTION_NAMESPACE: 'a/b' }, scope),
      /SHEPHERD_LEADER_ELECTION_NAMESPACE must be a namespace name/,
    );
    assert.deepEqual(
      leaderElectionFromEnv(
        {
          SHEPHERD_LEADER_ELECTION_LEASE: 'shepherd-worker',
          SHEPHERD_LEADER_ELECTION_NAMESPACE: 'shepherd-system',
        },
        scope,
      ),
      {
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        lease: 'shepherd-worker',
        namespace: 'shepherd-system',
      },
    );
  });

  it('gives replicas that watch different shards different Leases, each a valid name', () => {
    const plain = defaultLeaseName('shepherd-sessions', undefined, undefined);
    const teamA = defaultLeaseName('shepherd-sessions', 'team=a', undefined);
    const teamB = defaultLeaseName('shepherd-sessions', 'team=b', undefined);
    const scoped = defaultLeaseName('shepherd-sessions', undefined, ['team-a']);
    assert.equal(new Set([plain, teamA, teamB, scoped]).size, 4);
    assert.equal(defaultLeaseName('shepherd-sessions', 'team=a', undefined), teamA, 'the name is stable');
    const odd = defaultLeaseName(`Sessions_${'x'.repeat(80)}.Queue`, undefined, undefined);
    assert.match(odd, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});
