/**
 * The contract between whoever starts the runner — the Job built by `buildSessionJob`, or the
 * local runtime's process — and the runner itself: the environment it reads, the exit codes it
 * returns, and the JSON result it writes (parsed by `parseRunnerResult`).
 */

/** Environment variables the runner reads. Secret values arrive only through these, never argv. */
export const RUNNER_ENV = {
  /** The task for the agent (from the session Secret). */
  initialPrompt: 'INITIAL_PROMPT',
  /** The provider's API token (from the session Secret); the runner hands it to the agent. */
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
  /** The repositories, as a JSON array of {@link RunnerRepo}. */
  repos: 'SHEPHERD_REPOS',
  sessionName: 'SHEPHERD_SESSION_NAME',
  namespace: 'SHEPHERD_NAMESPACE',
  attempt: 'SHEPHERD_ATTEMPT',
} as const;

/** One repository as the runner sees it. */
export interface RunnerRepo {
  url: string;
  /** Absolute path of the clone. */
  dir: string;
  /** Base branch; absent means the remote's default branch. */
  branch?: string;
  outputBranch: string;
  commit?: string;
  autoPush: boolean;
  /** Name of the environment variable holding the git token, when the repository needs one. */
  tokenEnv?: string;
}

/** The runner's exit codes (PRODUCT.md §2.5). */
export const RUNNER_EXIT = {
  success: 0,
  /** The agent or the runtime failed; the session may retry. */
  failure: 1,
  /** A prerequisite is missing; retrying cannot help. */
  prerequisite: 2,
} as const;

/** Longest result the runner writes: the kubelet keeps at most 4 KiB of a termination message. */
export const MAX_RESULT_BYTES = 4096;
