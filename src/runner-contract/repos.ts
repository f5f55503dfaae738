/**
 * The repositories as the runner sees them (SHEPHERD_REPOS): where each clone is, which branches
 * to use, and the name — never the value — of the variable holding its git token. The same for
 * the Job and the local process; only the workspace path differs.
 */
import type { ResolvedRepo } from '../session/resolved-session.js';
import { gitTokenEnv } from './variables.js';

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
