/**
 * The JSON result the runner writes to its termination message (or, locally, its result file): a
 * summary, what happened to each repository, and usage. The schemas say what a well-formed result
 * is; the parser is lenient on top of them: it keeps every part that matches its schema and drops
 * the rest, so a runner that died before writing it, or wrote something partly wrong, still ends
 * its session with as clear a record as it gave. What it returns always fits the AgentSession
 * status schema (result-limits.ts), so a runner can never make its session's status unwritable.
 */
import { type Static, type TObject, Type } from 'typebox';
import { Value } from 'typebox/value';
import { RESULT_LIMITS, isCost, isTokenCount, trimText, wellFormed } from './result-limits.js';

/** Longest result the runner writes: the kubelet keeps at most 4 KiB of a termination message. */
export const MAX_RESULT_BYTES = 4096;

const Text = Type.String({ minLength: 1 });
const Count = Type.Number({ minimum: 0 });

/** What happened to one repository. */
export const RunnerResultRepoSchema = Type.Object({
  url: Text,
  branch: Type.Optional(Text),
  commit: Type.Optional(Text),
  pullRequestUrl: Type.Optional(Text),
  status: Type.Optional(Type.Enum(['Pending', 'Pushed', 'NoChanges', 'NotPushed', 'Failed'])),
  message: Type.Optional(Text),
});

/** What the agent consumed, as far as it reports it. */
export const RunnerUsageSchema = Type.Object({
  inputTokens: Type.Optional(Count),
  outputTokens: Type.Optional(Count),
  cacheReadTokens: Type.Optional(Count),
  cacheWriteTokens: Type.Optional(Count),
  costUsd: Type.Optional(Count),
});

/** What the runner reports when it ends. */
export const RunnerResultSchema = Type.Object({
  summary: Type.Optional(Text),
  repos: Type.Array(RunnerResultRepoSchema),
  usage: Type.Optional(RunnerUsageSchema),
  /**
   * What the runner found the agent had done to trip up its git (a rewritten remote, hooks, a
   * ~/.gitconfig), one line each; the runner ignored all of it. Absent in older results.
   */
  warnings: Type.Optional(Type.Array(Text)),
  /**
   * The agent asked a question instead of finishing its turn: the session waits for the answer
   * (phase WaitingForInput), which arrives as the next turn's prompt. Absent in older results.
   */
  question: Type.Optional(Text),
});

/** What the runner reports when it ends. */
export type RunnerResult = Static<typeof RunnerResultSchema>;

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

/** The properties of `value` that match their own schema in `schema`; the others are dropped. */
function validProperties(schema: TObject, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(schema.properties).flatMap(([key, property]) =>
      record[key] !== undefined && Value.Check(property, record[key]) ? [[key, record[key]]] : [],
    ),
  );
}

type RunnerResultRepo = Static<typeof RunnerResultRepoSchema>;

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
    const repo = validProperties(RunnerResultRepoSchema, entry);
    if (!Value.Check(RunnerResultRepoSchema, repo)) return;
    const fit = fitRepo(repo, `repos[${index}]`, trimmed);
    if (fit) fitted.push(fit);
  });
  if (fitted.length > RESULT_LIMITS.repos) {
    trimmed.push(`repos (${fitted.length} entries, ${RESULT_LIMITS.repos} kept)`);
  }
  const result: RunnerResult = { repos: fitted.slice(0, RESULT_LIMITS.repos) };
  if (Value.Check(RunnerResultSchema.properties.summary, summary)) {
    const text = wellFormed(summary);
    result.summary = trimText(text, RESULT_LIMITS.summary);
    if (result.summary !== text) trimmed.push('summary');
  }
  if (Value.Check(Text, question) && question.trim() !== '') {
    const text = wellFormed(question);
    result.question = trimText(text, RESULT_LIMITS.question);
    if (result.question !== text) trimmed.push('question');
  }
  // Only the well-formed lines of a partly wrong list are kept.
  const lines = Array.isArray(warnings)
    ? warnings.filter((line): line is string => Value.Check(Text, line)).map(wellFormed)
    : [];
  if (lines.length > 0) result.warnings = lines;
  const counted = validProperties(RunnerUsageSchema, usage);
  for (const [key, value] of Object.entries(counted)) {
    if (key === 'costUsd' ? isCost(value) : isTokenCount(value)) continue;
    // The schema's int64 counts refuse 1.5 and anything past 2^53 that JSON turned inexact.
    delete counted[key];
    trimmed.push(`usage.${key}`);
  }
  if (Object.keys(counted).length > 0 && Value.Check(RunnerUsageSchema, counted)) result.usage = counted;
  return { result, trimmed };
}

/** Parses a termination message; undefined when it is not a runner result. See `parseRunnerResultReport`. */
export function parseRunnerResult(message: string | undefined): RunnerResult | undefined {
  return parseRunnerResultReport(message)?.result;
}
