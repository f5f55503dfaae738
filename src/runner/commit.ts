/**
 * Commits what an agent left in a clone. Agents often edit without committing; the runner turns
 * that into a commit so it can be pushed, and a stopped or crashed attempt's work survives.
 */
import type { Git } from './git.js';

/** The author of the runner's commits when git's configuration names none. */
export const DEFAULT_AUTHOR = { name: 'Shepherd', email: 'shepherd@localhost' } as const;

/**
 * `-c` options for a commit: the default author for whatever git's configuration leaves unset
 * (a fresh container has no identity, and git's guess from the host name is worse than a clear
 * "Shepherd"); no signing, because a headless runner has no key agent to ask.
 */
export async function commitIdentityArgs(git: Git, dir: string): Promise<string[]> {
  const args = ['-c', 'commit.gpgsign=false'];
  for (const [key, value] of [
    ['user.name', DEFAULT_AUTHOR.name],
    ['user.email', DEFAULT_AUTHOR.email],
  ] as const) {
    const configured = await git.run(dir, ['config', '--get', key]);
    if (configured.exitCode !== 0 || configured.stdout.trim() === '') args.push('-c', `${key}=${value}`);
  }
  return args;
}

/**
 * Commits every change in `dir`, tracked or not (ignored files stay out).
 *
 * @returns Whether there was anything to commit.
 * @throws GitError when git fails.
 */
export async function commitAll(git: Git, dir: string, message: string): Promise<boolean> {
  if ((await git.ok(dir, ['status', '--porcelain'])) === '') return false;
  await git.ok(dir, ['add', '--all']);
  // --no-verify: the repository's hooks may need tools the runner image does not have, and the
  // agent's work must be saved regardless.
  await git.ok(dir, [
    ...(await commitIdentityArgs(git, dir)),
    'commit',
    '--quiet',
    '--no-verify',
    '-m',
    message,
  ]);
  return true;
}
