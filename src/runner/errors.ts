/**
 * The runner's error classes. Each maps to an exit code in `main.ts`: a prerequisite error ends
 * the runner with 2 (retrying cannot help), anything else with 1.
 */

/**
 * Thrown by `readRunnerConfig`, `checkPrerequisites` and `prepareWorkBranch` when something the
 * session needs is missing or malformed. The message is one line naming what is missing and how
 * to fix it; it becomes the result's summary.
 */
export class PrerequisiteError extends Error {
  override readonly name = 'PrerequisiteError';
}

/**
 * Thrown by `Git.ok` when a git command fails. The message carries git's own explanation with
 * every known secret redacted, so it can go into logs and the result.
 */
export class GitError extends Error {
  override readonly name = 'GitError';

  constructor(
    message: string,
    /** git's exit code, when it exited rather than being killed. */
    readonly exitCode: number | undefined,
  ) {
    super(message);
  }
}
