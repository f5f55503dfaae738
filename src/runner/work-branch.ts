/**
 * Puts each clone on its output branch before the agent starts. If the output branch already
 * exists on the remote (a retry, a restart, the same pod started twice), the work continues from
 * it, so nothing an earlier attempt pushed is lost; otherwise the branch starts at the base: the
 * session's `commit`, else its `branch`, else the remote's default branch.
 *
 * A clone kept from an earlier attempt on the same workspace may also hold a local output branch
 * and uncommitted work (a runner killed before it could commit); both are kept.
 */
import { GitError, PrerequisiteError } from './errors.js';
import type { Git } from './git.js';
import type { RunnerRepo } from '../runner-contract/repos.js';
import { commitAll, commitIdentityArgs } from './commit.js';

/** Where a work branch started. */
export type WorkBranchOrigin = 'remote' | 'local' | 'base';

/** A clone ready for the agent. */
export interface PreparedBranch {
  /** The base commit: "nothing new" means nothing beyond it. */
  base: string;
  origin: WorkBranchOrigin;
}

async function resolveCommit(git: Git, dir: string, ref: string): Promise<string | undefined> {
  const result = await git.run(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function resolveBase(git: Git, repo: RunnerRepo): Promise<string> {
  const candidates = repo.commit
    ? [repo.commit]
    : repo.branch
      ? [`refs/remotes/origin/${repo.branch}`, `refs/heads/${repo.branch}`]
      : ['refs/remotes/origin/HEAD', 'HEAD'];
  for (const ref of candidates) {
    const sha = await resolveCommit(git, repo.dir, ref);
    if (sha) return sha;
  }
  const what = repo.commit
    ? `commit ${repo.commit}`
    : repo.branch
      ? `branch ${repo.branch}`
      : 'a default branch';
  throw new PrerequisiteError(
    `the clone of ${repo.url} at ${repo.dir} has no ${what}: check the session's repos (branch, commit) against the remote`,
  );
}

/**
 * The output branch's commit on the remote, fetched into refs/remotes/origin; undefined when it
 * does not exist. The session's URL is named rather than `origin`, so what the clone's
 * configuration says about remotes does not decide where the token goes.
 */
async function fetchRemoteBranch(git: Git, repo: RunnerRepo): Promise<string | undefined> {
  const auth = repo.tokenEnv ? { credentials: { tokenEnv: repo.tokenEnv, url: repo.url } } : {};
  const ref = `refs/heads/${repo.outputBranch}`;
  const listed = await git.ok(repo.dir, ['ls-remote', '--heads', '--', repo.url, ref], auth);
  if (!listed.split('\n').some((line) => line.endsWith(`\t${ref}`))) return undefined;
  const tracking = `refs/remotes/origin/${repo.outputBranch}`;
  await git.ok(repo.dir, ['fetch', '--quiet', '--no-tags', '--', repo.url, `+${ref}:${tracking}`], auth);
  return resolveCommit(git, repo.dir, tracking);
}

async function isAncestor(git: Git, dir: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await git.run(dir, ['merge-base', '--is-ancestor', ancestor, descendant]);
  return result.exitCode === 0;
}

/**
 * Checks out `repo.outputBranch` in `repo.dir`, continuing from the remote branch when it exists.
 *
 * @param log Receives one line per decision, for the session log.
 * @throws PrerequisiteError when the base does not exist in the clone.
 * @throws GitError when git fails (e.g. the remote is unreachable), or when the local and remote
 *   output branches have diverged and cannot be merged cleanly.
 */
export async function prepareWorkBranch(
  git: Git,
  repo: RunnerRepo,
  log: (line: string) => void,
): Promise<PreparedBranch> {
  const { dir, outputBranch } = repo;
  const base = await resolveBase(git, repo);
  const remote = await fetchRemoteBranch(git, repo);
  const local = await resolveCommit(git, dir, `refs/heads/${outputBranch}`);
  const current = (await git.run(dir, ['symbolic-ref', '--quiet', '--short', 'HEAD'])).stdout.trim();

  // Work an earlier runner wrote but could not commit (it was killed) is committed before anything
  // moves, so no checkout or merge can drop it.
  if (
    current === outputBranch &&
    (await commitAll(git, dir, 'wip: work in progress recovered from an earlier attempt'))
  ) {
    log(`recovered uncommitted work from an earlier attempt on ${outputBranch}`);
  }

  if (local !== undefined) {
    if (current !== outputBranch) await git.ok(dir, ['checkout', '--quiet', outputBranch]);
    const head = await git.ok(dir, ['rev-parse', 'HEAD']);
    if (remote === undefined || remote === head || (await isAncestor(git, dir, remote, head))) {
      log(`continuing on the local ${outputBranch} from an earlier attempt`);
      return { base, origin: 'local' };
    }
    if (await isAncestor(git, dir, head, remote)) {
      await git.ok(dir, ['merge', '--quiet', '--ff-only', remote]);
    } else {
      const merged = await git.run(dir, [
        ...(await commitIdentityArgs(git, dir)),
        'merge',
        '--quiet',
        '--no-edit',
        remote,
      ]);
      if (merged.exitCode !== 0) {
        await git.run(dir, ['merge', '--abort']);
        throw new GitError(
          `the local and remote ${outputBranch} of ${repo.url} have diverged and do not merge cleanly; resolve it on the remote or delete one of them`,
          merged.exitCode,
        );
      }
    }
    log(`continuing on ${outputBranch}, brought up to date with the remote`);
    return { base, origin: 'remote' };
  }

  const start = remote ?? base;
  await git.ok(dir, ['checkout', '--quiet', '--no-track', '-b', outputBranch, start]);
  log(
    remote === undefined
      ? `created ${outputBranch} from ${repo.commit ?? repo.branch ?? 'the default branch'} (${base.slice(0, 12)})`
      : `continuing on ${outputBranch} from the remote (${remote.slice(0, 12)})`,
  );
  return { base, origin: remote === undefined ? 'base' : 'remote' };
}
