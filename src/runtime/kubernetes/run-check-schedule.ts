/**
 * When the AgentSession controller's periodic resync asks Temporal about a session's run, to
 * notice a run that closed without writing its final status. Asking about every active session at
 * every resync cost a leader with 10,000 sessions 10,000 lookups each 30 s; here each session is
 * asked about once per interval, and the sessions a new leader sees all at once are spread over
 * its first interval rather than asked about together.
 */

/** Which sessions a resync asks Temporal about. */
export interface RunCheckSchedule {
  /** Whether the resync at `now` asks about the session `key`; if so, it counts as asked. */
  due(key: string, now: number): boolean;
  /** The session `key` was asked about at `now` (a resync asked for checks every session). */
  checked(key: string, now: number): void;
  /** Forgets every session but those in `keys` (the rest were deleted). */
  keepOnly(keys: ReadonlySet<string>): void;
  forget(key: string): void;
}

/**
 * A schedule asking about each session once every `intervalMs`. A session first seen counts as
 * asked about at a moment of the last interval that `random` (in [0, 1)) picks.
 */
export function runCheckSchedule(intervalMs: number, random: () => number = Math.random): RunCheckSchedule {
  const lastChecked = new Map<string, number>();
  return {
    due(key, now) {
      const last = lastChecked.get(key);
      if (last === undefined) {
        lastChecked.set(key, now - random() * intervalMs);
        return false;
      }
      if (now - last < intervalMs) return false;
      lastChecked.set(key, now);
      return true;
    },
    checked(key, now) {
      lastChecked.set(key, now);
    },
    keepOnly(keys) {
      for (const key of lastChecked.keys()) if (!keys.has(key)) lastChecked.delete(key);
    },
    forget(key) {
      lastChecked.delete(key);
    },
  };
}
