/**
 * Memory and CPU of the processes a benchmark runs beside: each environment daemon's resident
 * memory and CPU time, summed over the processes it started (PostgreSQL forks a process per
 * connection, each in a session of its own, so a process group would miss them), and the
 * machine's available memory. A long run that exhausts the machine's memory or its cores then
 * says which process took them.
 */
import { readdirSync, readFileSync } from 'node:fs';

const PAGE_BYTES = 4096;
const MIB = 2 ** 20;
/** `/proc`'s CPU times are in clock ticks, 100 a second on Linux. */
const TICK_MS = 10;

/** A readable file's text, or undefined (the process has exited). */
function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

interface ProcStat {
  ppid: number;
  rssPages: number;
  /** User and system CPU time, in clock ticks. */
  cpuTicks: number;
}

/**
 * Parent, resident pages and CPU time of `/proc/<pid>/stat`. The command name (field 2) is in
 * parentheses and may hold spaces, so the fields are counted from its closing parenthesis.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": state (3), ppid (4), … utime (14), stime (15), … rss (24).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const [ppid, utime, stime, rssPages] = [1, 11, 12, 21].map((i) => Number(fields[i]));
  return [ppid, utime, stime, rssPages].every(Number.isInteger)
    ? { ppid: ppid!, rssPages: rssPages!, cpuTicks: utime! + stime! }
    : undefined;
}

function statOf(pid: number | string): ProcStat | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/** A process's resident MiB, or undefined once it has exited. */
export function rssMiB(pid: number): number | undefined {
  const stat = statOf(pid);
  return stat === undefined ? undefined : (stat.rssPages * PAGE_BYTES) / MIB;
}

/** The CPU time (user and system) a process has used, in ms, or undefined once it has exited. */
export function cpuMs(pid: number): number | undefined {
  const stat = statOf(pid);
  return stat === undefined ? undefined : stat.cpuTicks * TICK_MS;
}

/** What a process and its live descendants use: resident MiB and CPU ms so far. */
export interface Usage {
  rssMiB: number;
  cpuMs: number;
}

/** The usage of each root process with all its descendants, keyed by the root's pid. */
export function treeUsage(roots: readonly number[]): Map<number, Usage> {
  const parent = new Map<number, number>();
  const own = new Map<number, Usage>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (!stat) continue;
    parent.set(Number(entry), stat.ppid);
    own.set(Number(entry), { rssMiB: (stat.rssPages * PAGE_BYTES) / MIB, cpuMs: stat.cpuTicks * TICK_MS });
  }
  const wanted = new Set(roots);
  const sums = new Map<number, Usage>();
  for (const [pid, usage] of own) {
    // Up the parents to a root, if any; a pid seen twice would be a cycle (pids reused mid-read).
    let at: number | undefined = pid;
    const seen = new Set<number>();
    while (at !== undefined && at > 1 && !wanted.has(at) && !seen.has(at)) {
      seen.add(at);
      at = parent.get(at);
    }
    if (at === undefined || !wanted.has(at)) continue;
    const sum = sums.get(at) ?? { rssMiB: 0, cpuMs: 0 };
    sums.set(at, { rssMiB: sum.rssMiB + usage.rssMiB, cpuMs: sum.cpuMs + usage.cpuMs });
  }
  return sums;
}

/**
 * The usage of named processes with their descendants, summed by name (a name may cover several
 * roots); a process that has exited is left out.
 */
export function usageByName(processes: readonly { name: string; pid: number }[]): Map<string, Usage> {
  const trees = treeUsage(processes.map((p) => p.pid));
  const byName = new Map<string, Usage>();
  for (const { name, pid } of processes) {
    const usage = trees.get(pid);
    if (usage === undefined) continue;
    const sum = byName.get(name) ?? { rssMiB: 0, cpuMs: 0 };
    byName.set(name, { rssMiB: sum.rssMiB + usage.rssMiB, cpuMs: sum.cpuMs + usage.cpuMs });
  }
  return byName;
}

/**
 * The cores each named process used between two readings of its CPU ms (a process missing from
 * either reading is left out), busiest first. A descendant that exited in between takes its CPU
 * time with it, so a figure is a floor, and never below 0.
 */
export function coresBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  seconds: number,
): [string, number][] {
  const cores: [string, number][] = [];
  for (const [name, ms] of after) {
    const earlier = before.get(name);
    if (earlier === undefined || seconds <= 0) continue;
    cores.push([name, Math.max(0, Number(((ms - earlier) / 1000 / seconds).toFixed(2)))]);
  }
  return cores.sort(([, a], [, b]) => b - a);
}

/** `MemAvailable` of `/proc/meminfo` in GiB: what the machine can still give without swapping. */
export function availableGiB(meminfo = readOrUndefined('/proc/meminfo')): number | undefined {
  const match = meminfo === undefined ? null : /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  return match ? Number(match[1]) / 2 ** 20 : undefined;
}
