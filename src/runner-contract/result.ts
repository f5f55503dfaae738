/**
 * The JSON result the runner writes to its termination message (or, locally, its result file): a
 * summary, what happened to each repository, and usage. The schemas say what a well-formed result
 * is; the parser is lenient on top of them: it keeps every part that matches its schema and drops
 * the rest, so a runner that died before writing it, or wrote something partly wrong, still ends
 * its session with as clear a record as it gave.
 */
import { type Static, type TObject, Type } from 'typebox';
import { Value } from 'typebox/value';

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
});

/** What the runner reports when it ends. */
export type RunnerResult = Static<typeof RunnerResultSchema>;

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
  const { repos, summary, usage, warnings } = raw as Record<string, unknown>;
  const result: RunnerResult = {
    // A repository entry without a URL cannot be matched to the session's repositories: dropped.
    repos: (Array.isArray(repos) ? repos : []).flatMap((entry) => {
      const repo = validProperties(RunnerResultRepoSchema, entry);
      return Value.Check(RunnerResultRepoSchema, repo) ? [repo] : [];
    }),
  };
  if (Value.Check(RunnerResultSchema.properties.summary, summary)) result.summary = summary;
  // Only the well-formed lines of a partly wrong list are kept.
  const lines = Array.isArray(warnings) ? warnings.filter((line) => Value.Check(Text, line)) : [];
  if (lines.length > 0) result.warnings = lines;
  const counted = validProperties(RunnerUsageSchema, usage);
  if (Object.keys(counted).length > 0 && Value.Check(RunnerUsageSchema, counted)) result.usage = counted;
  return result;
}
