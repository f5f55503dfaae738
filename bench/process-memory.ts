/**
 * Memory of the processes a benchmark runs beside: each environment daemon's resident memory,
 * summed over its process group (PostgreSQL and the Temporal server fork), and the machine's
 * available memory. A long run that exhausts the machine then says which process took it.
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
 * Process group and resident pages of `/proc/<pid>/stat`. The command name (field 2) is in
 * parentheses and may hold spaces, so the fields are counted from its closing parenthesis.
 */
export function parseProcStat(text: string): { pgrp: number; rssPages: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": state (3), ppid (4), pgrp (5), … rss (24).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const pgrp = Number(fields[2]);
  const rssPages = Number(fields[21]);
  return Number.isFinite(pgrp) && Number.isFinite(rssPages) ? { pgrp, rssPages } : undefined;
}

/** Resident MiB of every live process of each group, keyed by the group leader's pid. */
export function groupRssMiB(leaders: readonly number[]): Map<number, number> {
  const wanted = new Set(leaders);
  const sums = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = readOrUndefined(`/proc/${entry}/stat`);
    const stat = text === undefined ? undefined : parseProcStat(text);
    if (!stat || !wanted.has(stat.pgrp)) continue;
    sums.set(stat.pgrp, (sums.get(stat.pgrp) ?? 0) + (stat.rssPages * PAGE_BYTES) / MIB);
  }
  return sums;
}

/** `MemAvailable` of `/proc/meminfo` in GiB: what the machine can still give without swapping. */
export function availableGiB(meminfo = readOrUndefined('/proc/meminfo')): number | undefined {
  const match = meminfo === undefined ? null : /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  return match ? Number(match[1]) / 2 ** 20 : undefined;
}
