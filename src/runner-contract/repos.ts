/**
 * The repositories as the runner sees them (SHEPHERD_REPOS): where each clone is, which branches
 * to use, and the name — never the value — of the variable holding its git token. The same for
 * the Job and the local process; only the workspace path differs. The schema is what the runner
 * validates the variable against.
 */
import { type Static, Type } from 'typebox';
import type { ResolvedRepo } from '../session/resolved-session.js';
import { ENV_NAME_PATTERN, gitTokenEnv } from './variables.js';

/**
 * What each property of a repository must be: the description in its schema, and the runner's
 * words when a value is not that.
 */
export const RUNNER_REPO_EXPECTED = {
  url: 'a non-empty string',
  dir: 'an absolute path',
  branch: 'a non-empty branch name',
  outputBranch: 'a non-empty branch name',
  commit: 'a non-empty commit',
  autoPush: 'true or false',
  tokenEnv: 'an environment variable name',
} as const;

/** One repository as the runner sees it. */
export const RunnerRepoSchema = Type.Object({
  url: Type.String({ minLength: 1, description: RUNNER_REPO_EXPECTED.url }),
  /** Absolute path of the clone. */
  dir: Type.String({ pattern: '^/', description: RUNNER_REPO_EXPECTED.dir }),
  /** Base branch; absent means the remote's default branch. */
  branch: Type.Optional(Type.String({ minLength: 1, description: RUNNER_REPO_EXPECTED.branch })),
  outputBranch: Type.String({ minLength: 1, description: RUNNER_REPO_EXPECTED.outputBranch }),
  commit: Type.Optional(Type.String({ minLength: 1, description: RUNNER_REPO_EXPECTED.commit })),
  /** Whether the runner pushes the work; a repository that leaves it out is pushed. */
  autoPush: Type.Boolean({ default: true, description: RUNNER_REPO_EXPECTED.autoPush }),
  /** Name of the environment variable holding the git token, when the repository needs one. */
  tokenEnv: Type.Optional(
    Type.String({ pattern: ENV_NAME_PATTERN, description: RUNNER_REPO_EXPECTED.tokenEnv }),
  ),
});

/** One repository as the runner sees it. */
export type RunnerRepo = Static<typeof RunnerRepoSchema>;

/** The value of SHEPHERD_REPOS. */
export const RunnerReposSchema = Type.Array(RunnerRepoSchema);

/**
 * The session's repositories for a runner whose workspace is at `workspace`.
 *
 * @param repos The resolved session's repositories, in order; the index names each token variable.
 */
export function runnerRepos(repos: readonly ResolvedRepo[], workspace: string): RunnerRepo[] {
  return repos.map((repo, index) => ({
    url: repo.url,
    dir: `${workspace}/${repo.dir}`,
    ...(repo.branch === undefined ? {} : { branch: repo.branch }),
    outputBranch: repo.outputBranch,
    ...(repo.commit === undefined ? {} : { commit: repo.commit }),
    autoPush: repo.autoPush,
    ...(repo.credentialsSecretRef ? { tokenEnv: gitTokenEnv(index) } : {}),
  }));
}
