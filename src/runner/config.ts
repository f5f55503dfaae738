/**
 * The runner's configuration, read from its environment (see `RUNNER_ENV`). Only `main.ts` passes
 * the real `process.env` in; everything else takes the parsed config, so tests can build one.
 * Malformed values are prerequisite failures: the same Job would fail the same way on a retry.
 */
import { Value } from 'typebox/value';
import { RUNNER_REPO_EXPECTED, type RunnerRepo, RunnerReposSchema } from '../runner-contract/repos.js';
import { RUNNER_ENV } from '../runner-contract/variables.js';
import { PrerequisiteError } from './errors.js';

/** The agents the runner knows how to drive. */
export const AGENT_KINDS = ['claude', 'opencode', 'command'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/** How long a stopped runner has, from SIGTERM to exit, unless SHEPHERD_GRACE_MS says otherwise. */
export const DEFAULT_GRACE_MS = 20_000;

/** Overrides the grace period; keep it below the pod's terminationGracePeriodSeconds. */
export const GRACE_ENV = 'SHEPHERD_GRACE_MS';

/** Everything the runner was asked to do. */
export interface RunnerConfig {
  agent: AgentKind;
  /** The task; may be empty for agent `command`. */
  prompt: string;
  /** For agent `command`: the argv to run. */
  command?: [string, ...string[]];
  model?: string;
  workspace: string;
  /** Where the JSON result goes; absent means nobody reads it, so it is not written. */
  resultFile?: string;
  repos: RunnerRepo[];
  sessionName?: string;
  attempt?: number;
  /** The conversation turn, from 1: from turn 2 on the agent resumes its conversation. */
  turn: number;
  /** Time from SIGTERM to exit. @default 20000 */
  graceMs: number;
  /** The policy's tool allow list; absent means none (every tool may run). */
  allowedTools?: string[];
  /** The policy's tool deny list; absent means none. */
  deniedTools?: string[];
  /** The most the agent may spend on its model in this run, in USD. */
  maxBudgetUsd?: number;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim().length > 0 ? value : undefined;
}

function parseJson(name: string, raw: string, fix: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new PrerequisiteError(`${name} is not valid JSON (${(error as Error).message}): ${fix}`);
  }
}

/** What is wrong with a SHEPHERD_REPOS value that fails its schema, from the first error found. */
function reposError(value: unknown): PrerequisiteError {
  const [error] = Value.Errors(RunnerReposSchema, value);
  const [index, field] = (error?.instancePath ?? '').split('/').slice(1);
  if (index === undefined)
    return new PrerequisiteError(`${RUNNER_ENV.repos} must be a JSON array of repositories`);
  const where = `${RUNNER_ENV.repos}[${index}]`;
  if (field !== undefined) {
    const shown = JSON.stringify((value as Record<string, Record<string, unknown>>)[index]?.[field]);
    const expected = RUNNER_REPO_EXPECTED[field as keyof RunnerRepo];
    return new PrerequisiteError(`${where}.${field} is ${shown}, which is not ${expected}`);
  }
  if (error?.keyword === 'required') {
    const [missing] = error.params.requiredProperties;
    return new PrerequisiteError(`${where}.${missing} is missing: the session's repos[${index}] needs it`);
  }
  return new PrerequisiteError(`${where} is not an object: each repository needs url, dir and outputBranch`);
}

function parseRepos(raw: string | undefined): RunnerRepo[] {
  // A session may have no repositories: the agent then works in the workspace alone.
  if (nonEmpty(raw) === undefined) return [];
  const parsed = parseJson(RUNNER_ENV.repos, raw as string, 'it must be a JSON array of repositories');
  // autoPush may be left out (it defaults to true); properties the runner does not know are dropped.
  const value = Value.Clean(RunnerReposSchema, Value.Default(RunnerReposSchema, parsed));
  if (!Value.Check(RunnerReposSchema, value)) throw reposError(value);
  return value;
}

function parseCommand(raw: string | undefined): [string, ...string[]] {
  const fix = 'set spec.command (and spec.args) for agent command';
  if (nonEmpty(raw) === undefined) throw new PrerequisiteError(`${RUNNER_ENV.command} is not set: ${fix}`);
  const value = parseJson(RUNNER_ENV.command, raw as string, fix);
  if (!Array.isArray(value) || value.length === 0 || !value.every((arg) => typeof arg === 'string')) {
    throw new PrerequisiteError(`${RUNNER_ENV.command} must be a non-empty JSON array of strings: ${fix}`);
  }
  const [first, ...rest] = value;
  if (!first) throw new PrerequisiteError(`${RUNNER_ENV.command}[0] is empty: ${fix}`);
  return [first, ...rest];
}

function parseTurn(raw: string | undefined): number {
  // Absent in Jobs of workers that predate conversations: every session had one turn then.
  if (nonEmpty(raw) === undefined) return 1;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new PrerequisiteError(`${RUNNER_ENV.turn} is "${raw}": it must be a whole number, at least 1`);
  }
  return value;
}

/**
 * A tool list of the policy. An entry may not start with a dash: the agents' CLIs would take it
 * for an option, so it could never name a tool and could change how the agent runs.
 */
function parseTools(name: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const fix = "fix the NamespacePolicy's spec.tools";
  const value = parseJson(name, raw, fix);
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
    throw new PrerequisiteError(`${name} must be a JSON array of strings: ${fix}`);
  }
  const bad = value.find((entry) => entry.trim() === '' || entry.startsWith('-'));
  if (bad !== undefined) {
    throw new PrerequisiteError(
      `${name} holds ${JSON.stringify(bad)}, which is not a tool name or pattern: ${fix}`,
    );
  }
  return value;
}

function parseBudget(raw: string | undefined): number | undefined {
  if (nonEmpty(raw) === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new PrerequisiteError(
      `${RUNNER_ENV.maxBudgetUsd} is "${raw}": it must be a number of US dollars above 0`,
    );
  }
  // Claude Code refuses a cap of 0, and no agent can work without spending: say why here.
  if (value === 0) {
    throw new PrerequisiteError(
      `${RUNNER_ENV.maxBudgetUsd} is 0: the NamespacePolicy's budget.perSessionUsd leaves the session nothing to spend`,
    );
  }
  return value;
}

function parseGrace(raw: string | undefined): number {
  if (nonEmpty(raw) === undefined) return DEFAULT_GRACE_MS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1000) {
    throw new PrerequisiteError(
      `${GRACE_ENV} is "${raw}": it must be a whole number of milliseconds, at least 1000`,
    );
  }
  return value;
}

/**
 * Reads the runner's configuration.
 *
 * @throws PrerequisiteError when a variable is missing or malformed.
 */
export function readRunnerConfig(env: NodeJS.ProcessEnv): RunnerConfig {
  const agent = env[RUNNER_ENV.agent] ?? '';
  if (!(AGENT_KINDS as readonly string[]).includes(agent)) {
    throw new PrerequisiteError(
      `${RUNNER_ENV.agent} is "${agent}": it must be one of ${AGENT_KINDS.join(', ')} (spec.agent)`,
    );
  }
  const workspace = nonEmpty(env[RUNNER_ENV.workspace]);
  if (workspace === undefined) {
    throw new PrerequisiteError(
      `${RUNNER_ENV.workspace} is not set: point it at the directory holding the cloned repositories`,
    );
  }
  const attempt = Number(env[RUNNER_ENV.attempt]);
  const model = nonEmpty(env[RUNNER_ENV.model]);
  const resultFile = nonEmpty(env[RUNNER_ENV.resultFile]);
  const sessionName = nonEmpty(env[RUNNER_ENV.sessionName]);
  const allowedTools = parseTools(RUNNER_ENV.allowedTools, env[RUNNER_ENV.allowedTools]);
  const deniedTools = parseTools(RUNNER_ENV.deniedTools, env[RUNNER_ENV.deniedTools]);
  const maxBudgetUsd = parseBudget(env[RUNNER_ENV.maxBudgetUsd]);
  return {
    agent: agent as AgentKind,
    prompt: env[RUNNER_ENV.initialPrompt] ?? '',
    ...(agent === 'command' ? { command: parseCommand(env[RUNNER_ENV.command]) } : {}),
    ...(model === undefined ? {} : { model }),
    workspace,
    ...(resultFile === undefined ? {} : { resultFile }),
    repos: parseRepos(env[RUNNER_ENV.repos]),
    ...(sessionName === undefined ? {} : { sessionName }),
    ...(Number.isInteger(attempt) && attempt > 0 ? { attempt } : {}),
    turn: parseTurn(env[RUNNER_ENV.turn]),
    graceMs: parseGrace(env[GRACE_ENV]),
    ...(allowedTools === undefined ? {} : { allowedTools }),
    ...(deniedTools === undefined ? {} : { deniedTools }),
    ...(maxBudgetUsd === undefined ? {} : { maxBudgetUsd }),
  };
}
