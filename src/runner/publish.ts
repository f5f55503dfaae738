/**
 * After the agent: commits what it left in each clone and pushes the output branch, reporting per
 * repository what happened in the shape the session workflow records (`reconciledRepos`).
 *
 * The push is never forced: an output branch that moved on the remote while the agent worked is
 * reported as Failed rather than overwritten. It goes to the session's URL, named explicitly, with
 * the configuration `clone-guard.ts` left; what the agent had altered in the clone is reported in
 * the repository's message, whatever the outcome.
 */
import type { ReconciledRepo } from '../resources/types.js';
import { alteredNote } from './git-config-policy.js';
import { commitAll } from './commit.js';
import { GitError } from './errors.js';
import type { Git } from './git.js';
import type { RunnerRepo } from '../runner-contract/repos.js';
import type { PreparedBranch } from './work-branch.js';

/** One repository's outcome as the result reports it. */
export type RepoReport = ReconciledRepo & Required<Pick<ReconciledRepo, 'status' | 'branch'>>;

/**
 * Commits and pushes one repository.
 *
 * @param commitMessage Message of the commit of uncommitted work, if there is any.
 * @param log Receives one line per step, for the session log.
 */
export async function publishRepo(
  git: Git,
  repo: RunnerRepo,
  prepared: PreparedBranch,
  commitMessage: string,
  log: (line: string) => void,
  altered: readonly string[] = [],
): Promise<RepoReport> {
  const note = altered.length === 0 ? undefined : alteredNote(altered);
  const report = (status: RepoReport['status'], commit: string | undefined, reason?: string): RepoReport => {
    const message = [reason, note].filter((part) => part !== undefined).join('; ');
    return {
      url: repo.url,
      branch: repo.outputBranch,
      ...(commit === undefined ? {} : { commit }),
      status,
      ...(message === '' ? {} : { message }),
    };
  };
  let head: string | undefined;
  try {
    if (await commitAll(git, repo.dir, commitMessage))
      log(`committed the agent's uncommitted changes in ${repo.dir}`);
    head = await git.ok(repo.dir, ['rev-parse', 'HEAD']);
    const ancestor = await git.run(repo.dir, ['merge-base', '--is-ancestor', head, prepared.base]);
    if (ancestor.exitCode === 0) {
      log(`${repo.url}: nothing new compared with the base; ${repo.outputBranch} not pushed`);
      return report('NoChanges', head, 'nothing new compared with the base');
    }
    if (!repo.autoPush) {
      log(`${repo.url}: autoPush is off; the work stays on ${repo.outputBranch} in ${repo.dir}`);
      return report(
        'NotPushed',
        head,
        `autoPush is off; the work is committed on ${repo.outputBranch} in the workspace`,
      );
    }
    await git.ok(
      repo.dir,
      ['push', '--quiet', '--no-verify', '--', repo.url, `HEAD:refs/heads/${repo.outputBranch}`],
      repo.tokenEnv ? { credentials: { tokenEnv: repo.tokenEnv, url: repo.url } } : {},
    );
    log(`${repo.url}: pushed ${repo.outputBranch} at ${head.slice(0, 12)}`);
    return report('Pushed', head);
  } catch (error) {
    const message = error instanceof GitError ? error.message : String(error);
    log(`${repo.url}: ${message}`);
    return report('Failed', head, message);
  }
}
