/**
 * The JSON result the runner writes to its termination message (or, locally, its result file): a
 * summary, what happened to each repository, and usage. The schemas (result-schema.ts) say what a
 * well-formed result is; the parser is lenient on top of them: it keeps every part that matches
 * its schema and drops the rest, so a runner that died before writing it, or wrote something
 * partly wrong, still ends its session with as clear a record as it gave. What it returns always fits the AgentSession
 * status schema (result-limits.ts), so a runner can never make its session's status unwritable.
 */
import type { RunnerResult, RunnerResultRepo, RunnerUsage } from './result-schema.js';
import { RESULT_LIMITS, isCost, isTokenCount, trimText, wellFormed } from './result-limits.js';

export type { RunnerResult } from './result-schema.js';

/** Longest result the runner writes: the kubelet keeps at most 4 KiB of a termination message. */
export const MAX_RESULT_BYTES = 4096;

type FieldCheck = (value: unknown) => boolean;
/** The schema's `Text`: a string of at least one character (`summary`, `question`, each warning). */
export const isText = (value: unknown): value is string => typeof value === 'string' && value.length >= 1;
const isCount: FieldCheck = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const REPO_STATUSES: readonly unknown[] = ['Pending', 'Pushed', 'NoChanges', 'NotPushed', 'Failed'];

/**
 * What each property of result-schema.ts's RunnerResultRepoSchema and RunnerUsageSchema accepts,
 * written out rather than checked with TypeBox: the workflow runs this parser, and the workflow
 * sandbox evaluates every module of its bundle once per cached workflow, so TypeBox's few hundred
 * modules would cost each session about a megabyte (a unit test holds the two to the same answers).
 */
export const REPO_FIELDS: Readonly<Record<keyof RunnerResultRepo, FieldCheck>> = {
  url: isText,
  branch: isText,
  commit: isText,
  pullRequestUrl: isText,
  status: (value) => REPO_STATUSES.includes(value),
  message: isText,
};
export const USAGE_FIELDS: Readonly<Record<keyof RunnerUsage, FieldCheck>> = {
  inputTokens: isCount,
  outputTokens: isCount,
  cacheReadTokens: isCount,
  cacheWriteTokens: isCount,
  costUsd: isCount,
};

/**
 * The longest termination message parsed at all: far above what a runner writes (4 KiB; a local
 * result file is read up to that too), low enough that a hostile one costs the workflow a few
 * milliseconds.
 */
export const MAX_PARSED_CHARS = 1_048_576;

/** A parsed result and what was changed to fit it into the status schema, by path. */
export interface RunnerResultReport {
  result: RunnerResult;
  /** E.g. `summary`, `repos[3].message`, `repos (10000 entries, 16 kept)`, `usage.inputTokens`. */
  trimmed: string[];
}

/** The properties of `value` that pass their own check in `fields`; the others are dropped. */
function validProperties(
  fields: Readonly<Record<string, FieldCheck>>,
  value: unknown,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(fields).flatMap(([key, check]) =>
      record[key] !== undefined && check(record[key]) ? [[key, record[key]]] : [],
    ),
  );
}

/**
 * One repository entry fitted to the status schema, or undefined when its URL is over the limit
 * (a cut URL would match no repository of the session). A commit or pull request URL over its
 * limit is dropped rather than cut, since a cut one points nowhere; a branch or message is cut.
 */
function fitRepo(repo: RunnerResultRepo, path: string, trimmed: string[]): RunnerResultRepo | undefined {
  const url = wellFormed(repo.url);
  if (url.length > RESULT_LIMITS.url) {
    trimmed.push(`${path} (url over ${RESULT_LIMITS.url} characters, dropped)`);
    return undefined;
  }
  const fitted: RunnerResultRepo = { url };
  for (const key of ['commit', 'pullRequestUrl'] as const) {
    const value = repo[key] === undefined ? undefined : wellFormed(repo[key]);
    if (value === undefined) continue;
    if (value.length > RESULT_LIMITS[key]) trimmed.push(`${path}.${key}`);
    else fitted[key] = value;
  }
  for (const key of ['branch', 'message'] as const) {
    const value = repo[key] === undefined ? undefined : wellFormed(repo[key]);
    if (value === undefined) continue;
    const cut = trimText(value, RESULT_LIMITS[key]);
    if (cut !== value) trimmed.push(`${path}.${key}`);
    fitted[key] = cut;
  }
  if (repo.status !== undefined) fitted.status = repo.status;
  return fitted;
}

/**
 * Parses a termination message and fits it into the status schema; undefined when it is not a
 * runner result (not JSON, not an object, over MAX_PARSED_CHARS, or nested past what the parser takes).
 */
export function parseRunnerResultReport(message: string | undefined): RunnerResultReport | undefined {
  if (!message?.trim().startsWith('{') || message.length > MAX_PARSED_CHARS) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    // Not JSON, or nested past the parser's stack (a RangeError): not a result either way.
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { repos, summary, usage, warnings, question } = raw as Record<string, unknown>;
  const trimmed: string[] = [];
  const entries = Array.isArray(repos) ? repos : [];
  const fitted: RunnerResultRepo[] = [];
  entries.forEach((entry, index) => {
    // A repository entry without a URL cannot be matched to the session's repositories: dropped.
    const repo = validProperties(REPO_FIELDS, entry);
    if (repo.url === undefined) return;
    const fit = fitRepo(repo as unknown as RunnerResultRepo, `repos[${index}]`, trimmed);
    if (fit) fitted.push(fit);
  });
  if (fitted.length > RESULT_LIMITS.repos) {
    trimmed.push(`repos (${fitted.length} entries, ${RESULT_LIMITS.repos} kept)`);
  }
  const result: RunnerResult = { repos: fitted.slice(0, RESULT_LIMITS.repos) };
  if (isText(summary)) {
    const text = wellFormed(summary);
    result.summary = trimText(text, RESULT_LIMITS.summary);
    if (result.summary !== text) trimmed.push('summary');
  }
  if (isText(question) && question.trim() !== '') {
    const text = wellFormed(question);
    result.question = trimText(text, RESULT_LIMITS.question);
    if (result.question !== text) trimmed.push('question');
  }
  // Only the well-formed lines of a partly wrong list are kept.
  const lines = Array.isArray(warnings) ? warnings.filter(isText).map(wellFormed) : [];
  if (lines.length > 0) result.warnings = lines;
  const counted = validProperties(USAGE_FIELDS, usage);
  for (const [key, value] of Object.entries(counted)) {
    if (key === 'costUsd' ? isCost(value) : isTokenCount(value)) continue;
    // The schema's int64 counts refuse 1.5 and anything past 2^53 that JSON turned inexact.
    delete counted[key];
    trimmed.push(`usage.${key}`);
  }
  if (Object.keys(counted).length > 0) result.usage = counted;
  return { result, trimmed };
}

/** Parses a termination message; undefined when it is not a runner result. See `parseRunnerResultReport`. */
export function parseRunnerResult(message: string | undefined): RunnerResult | undefined {
  return parseRunnerResultReport(message)?.result;
}
