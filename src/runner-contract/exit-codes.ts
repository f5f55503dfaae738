/**
 * The runner's exit codes: how the workflow tells a success from a failure worth retrying and from
 * one that no retry can fix.
 */

/** The runner's exit codes. */
export const RUNNER_EXIT = {
  success: 0,
  /** The agent or the runtime failed; the session may retry. */
  failure: 1,
  /** A prerequisite is missing; retrying cannot help. */
  prerequisite: 2,
} as const;
