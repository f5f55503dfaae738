/**
 * The JSON result the runner writes to its termination message (or, locally, its result file):
 * a summary, what happened to each repository, and usage. Parsed leniently: a runner that died
 * before writing it, or wrote something else, still ends its session with a clear record.
 */
import type { ReconciledRepo, ReconciledRepoStatus, Usage } from '../resources/types.js';

/** Longest result the runner writes: the kubelet keeps at most 4 KiB of a termination message. */
export const MAX_RESULT_BYTES = 4096;

/** What the runner reports when it ends. */
export interface RunnerResult {
  summary?: string;
  repos: ReconciledRepo[];
  usage?: Usage;
}

const REPO_STATUSES = new Set<ReconciledRepoStatus>([
  'Pending',
  'Pushed',
  'NoChanges',
  'NotPushed',
  'Failed',
]);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Parses a termination message; undefined when it is not a runner result. */
export function parseRunnerResult(message: string | undefined): RunnerResult | undefined {
  if (!message?.trim().startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  const repos = Array.isArray(record.repos) ? record.repos : [];
  const result: RunnerResult = {
    repos: repos.flatMap((entry): ReconciledRepo[] => {
      if (typeof entry !== 'object' || entry === null) return [];
      const repo = entry as Record<string, unknown>;
      const url = str(repo.url);
      if (!url) return [];
      const status = str(repo.status) as ReconciledRepoStatus | undefined;
      const branch = str(repo.branch);
      const commit = str(repo.commit);
      const pullRequestUrl = str(repo.pullRequestUrl);
      const repoMessage = str(repo.message);
      return [
        {
          url,
          ...(branch ? { branch } : {}),
          ...(commit ? { commit } : {}),
          ...(pullRequestUrl ? { pullRequestUrl } : {}),
          ...(status && REPO_STATUSES.has(status) ? { status } : {}),
          ...(repoMessage ? { message: repoMessage } : {}),
        },
      ];
    }),
  };
  const summary = str(record.summary);
  if (summary) result.summary = summary;
  if (typeof record.usage === 'object' && record.usage !== null) {
    const u = record.usage as Record<string, unknown>;
    const usage: Usage = {};
    for (const key of [
      'inputTokens',
      'outputTokens',
      'cacheReadTokens',
      'cacheWriteTokens',
      'costUsd',
    ] as const) {
      const value = num(u[key]);
      if (value !== undefined) usage[key] = value;
    }
    if (Object.keys(usage).length > 0) result.usage = usage;
  }
  return result;
}
