/**
 * Memory of the processes a benchmark runs beside: each environment daemon's resident memory,
 * summed over the processes it started (PostgreSQL forks a process per connection, each in a
 * session of its own, so a process group would miss them), and the machine's available memory. A long run that exhausts the machine then says which process took it.
 */
import { readdirSync, readFileSync } from 'node:fs';

const PAGE_BYTES = 4096;
const MIB = 2 ** 20;

/** A readable file's text, or undefined (the process has exited). */
function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Parent and resident pages of `/proc/<pid>/stat`. The command name (field 2) is in parentheses
 * and may hold spaces, so the fields are counted from its closing parenthesis.
 */
export function parseProcStat(text: string): { ppid: number; rssPages: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": state (3), ppid (4), … rss (24).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[1]);
  const rssPages = Number(fields[21]);
  return Number.isInteger(ppid) && Number.isInteger(rssPages) ? { ppid, rssPages } : undefined;
}

/** A process's resident MiB, or undefined once it has exited. */
export function rssMiB(pid: number): number | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`);
  const stat = text === undefined ? undefined : parseProcStat(text);
  return stat === undefined ? undefined : (stat.rssPages * PAGE_BYTES) / MIB;
}

/** Resident MiB of each root process and all its descendants, keyed by the root's pid. */
export function treeRssMiB(roots: readonly number[]): Map<number, number> {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = readOrUndefined(`/proc/${entry}/stat`);
    const stat = text === undefined ? undefined : parseProcStat(text);
    if (!stat) continue;
    parent.set(Number(entry), stat.ppid);
    rss.set(Number(entry), (stat.rssPages * PAGE_BYTES) / MIB);
  }
  const wanted = new Set(roots);
  const sums = new Map<number, number>();
  for (const [pid, mib] of rss) {
    // Up the parents to a root, if any; a pid seen twice would be a cycle (pids reused mid-read).
    let at: number | undefined = pid;
    const seen = new Set<number>();
    while (at !== undefined && at > 1 && !wanted.has(at) && !seen.has(at)) {
      seen.add(at);
      at = parent.get(at);
    }
    if (at !== undefined && wanted.has(at)) sums.set(at, (sums.get(at) ?? 0) + mib);
  }
  return sums;
}

/** `MemAvailable` of `/proc/meminfo` in GiB: what the machine can still give without swapping. */
export function availableGiB(meminfo = readOrUndefined('/proc/meminfo')): number | undefined {
  const match = meminfo === undefined ? null : /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  return match ? Number(match[1]) / 2 ** 20 : undefined;
}
