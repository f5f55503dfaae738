/**
 * The names of the environment variables the runner reads, declared once for both sides: the Job
 * and session Secret builders and the local runtime set them, the runner reads them. Secret values
 * arrive only through these, never in argv.
 */

/** A POSIX environment variable name: what a token variable must be to be read safely by a shell. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * Environment variables of the contract: those the runner reads, and SHEPHERD_QUESTION_FILE, which
 * the runner itself sets for the agent.
 */
export const RUNNER_ENV = {
  /** The task for the agent (secret: a session Secret key on Kubernetes). */
  initialPrompt: 'INITIAL_PROMPT',
  /** The provider's API token (secret); the runner hands it to the agent. */
  providerToken: 'SHEPHERD_PROVIDER_TOKEN',
  /** `claude`, `opencode` or `command`. */
  agent: 'SHEPHERD_AGENT',
  /** For agent `command`: the argv to run, as a JSON array of strings. */
  command: 'SHEPHERD_COMMAND',
  /** The model to ask the agent for, if any. */
  model: 'SHEPHERD_MODEL',
  /** The workspace directory holding the cloned repositories. */
  workspace: 'SHEPHERD_WORKSPACE',
  /** Where the JSON result goes: `/dev/termination-log` in a pod, a file locally. */
  resultFile: 'SHEPHERD_RESULT_FILE',
  /** The repositories, as a JSON array of `RunnerRepo` (see repos.ts). */
  repos: 'SHEPHERD_REPOS',
  sessionName: 'SHEPHERD_SESSION_NAME',
  namespace: 'SHEPHERD_NAMESPACE',
  attempt: 'SHEPHERD_ATTEMPT',
  /**
   * The conversation turn the runner works on, from 1. From turn 2 on, INITIAL_PROMPT holds the
   * turn's prompt and the agent resumes its own conversation from the workspace.
   */
  turn: 'SHEPHERD_TURN',
  /**
   * The NamespacePolicy's `tools.allowed`, as a JSON array of strings (a tool pattern such as
   * `Bash(git diff:*)` may hold commas and spaces, so no separator would do). Absent means no
   * allow list; `[]` allows none of the tools that need approval.
   */
  allowedTools: 'SHEPHERD_ALLOWED_TOOLS',
  /** The NamespacePolicy's `tools.denied`, as a JSON array of strings. */
  deniedTools: 'SHEPHERD_DENIED_TOOLS',
  /** What the agent may spend on its model in this run, in USD (a decimal number above 0). */
  maxBudgetUsd: 'SHEPHERD_MAX_BUDGET_USD',
  /**
   * Set by the runner for the agent, never given to the runner: the file where an agent that
   * cannot finish its turn without the user writes its question instead. The runner empties it
   * before the agent starts and, when the agent exits 0 having written it, returns the question
   * in its result (see docs/runner-contract.md).
   */
  questionFile: 'SHEPHERD_QUESTION_FILE',
} as const;

/** How the name of every git token variable starts (see {@link gitTokenEnv}). */
export const GIT_TOKEN_ENV_PREFIX = 'SHEPHERD_GIT_TOKEN_';

/**
 * The variable holding the git token of the repository at `index` in the resolved session's repos
 * (secret: on Kubernetes also its key in the session Secret).
 */
export function gitTokenEnv(index: number): string {
  return `${GIT_TOKEN_ENV_PREFIX}${index}`;
}

/**
 * Whether `name` belongs to the contract, now or later: INITIAL_PROMPT and every SHEPHERD_ name.
 * A session's or a provider's own variables may not use these, so they never shadow the runner's.
 */
export function isReservedEnvName(name: string): boolean {
  return name === RUNNER_ENV.initialPrompt || name.startsWith('SHEPHERD_');
}
