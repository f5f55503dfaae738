/**
 * The JSON result the runner writes when it ends, as a schema: the contract between a runner
 * image and the worker (what the runner may write; what result.ts's lenient parser reads back).
 * Kept apart from the parser because the parser runs inside the workflow, where this schema
 * library would be evaluated again for every cached workflow; the parser imports the types only.
 */
import { type Static, Type } from 'typebox';

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
export type RunnerResultRepo = Static<typeof RunnerResultRepoSchema>;

/** What the agent consumed, as far as it reports it. */
export const RunnerUsageSchema = Type.Object({
  inputTokens: Type.Optional(Count),
  outputTokens: Type.Optional(Count),
  cacheReadTokens: Type.Optional(Count),
  cacheWriteTokens: Type.Optional(Count),
  costUsd: Type.Optional(Count),
});
export type RunnerUsage = Static<typeof RunnerUsageSchema>;

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
