/**
 * The repositories as the runner sees them (SHEPHERD_REPOS): where each clone is, which branches
 * to use, and the name — never the value — of the variable holding its git token. The same for
 * the Job and the local process; only the workspace path differs.
 */
import { gitTokenKey } from '../runtime/kubernetes/builders/session-secret.js';
import type { RunnerRepo } from './runner-contract.js';
import type { ResolvedSession } from '../session/resolved-session.js';

/** The session's repositories for a runner whose workspace is at `workspace`. */
export function runnerRepos(session: ResolvedSession, workspace: string): RunnerRepo[] {
  return session.repos.map((repo, index) => ({
    url: repo.url,
    dir: `${workspace}/${repo.dir}`,
    ...(repo.branch === undefined ? {} : { branch: repo.branch }),
    outputBranch: repo.outputBranch,
    ...(repo.commit === undefined ? {} : { commit: repo.commit }),
    autoPush: repo.autoPush,
    ...(repo.credentialsSecretRef ? { tokenEnv: gitTokenKey(index) } : {}),
  }));
}
