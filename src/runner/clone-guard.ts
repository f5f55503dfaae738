/**
 * Takes a clone back from the agent before the runner's git uses it: .git/config is rewritten to
 * the safe set `git-config-policy.ts` keeps (origin back on the session's URL), and what the agent
 * had changed is returned so the result can say so. Hooks are not removed (they are the agent's
 * files, and the runner's git runs none: see `git.ts`), only reported.
 *
 * A clone whose git directory is not a plain `.git` directory any more (a `gitdir:` file or a
 * symlink to a repository elsewhere, a `commondir` that borrows another repository's config) is
 * not used at all: git would read a configuration the runner cannot rewrite in place.
 */
import { lstatSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerRepo } from '../runner-contract/repos.js';
import { GitError } from './errors.js';
import type { Git } from './git.js';
import { parseConfigList, renderConfig, sanitizeRepoConfig } from './git-config-policy.js';

function isPlainDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The hooks in a git directory: every file in hooks/ but git's own samples. */
function hooks(gitDir: string): string[] {
  try {
    return readdirSync(gitDir).includes('hooks')
      ? readdirSync(join(gitDir, 'hooks')).filter((name) => !name.endsWith('.sample'))
      : [];
  } catch {
    return [];
  }
}

/**
 * Makes `repo.dir`'s configuration safe for the runner's git.
 *
 * @returns What the agent had altered, one phrase each (e.g. `url.http://x/.insteadof (removed)`,
 *   `hooks/pre-push (not run)`); empty for a clone as the clone step left it.
 * @throws GitError when the clone's git directory was replaced, so it cannot be used safely.
 */
export async function guardClone(git: Git, repo: RunnerRepo): Promise<string[]> {
  const gitDir = join(repo.dir, '.git');
  if (!isPlainDirectory(gitDir) || exists(join(gitDir, 'commondir'))) {
    throw new GitError(
      `${gitDir} is no longer the clone's own git directory (it was replaced, or borrows another repository's): not used, so nothing of the clone was pushed; delete ${repo.dir} for the next attempt to clone it again`,
      undefined,
    );
  }
  const file = join(gitDir, 'config');
  // Read as a plain file: no include is followed, and no repository is set up from it.
  const listed = await git.run('/', ['config', '--file', file, '--null', '--list']);
  const current = listed.exitCode === 0 ? parseConfigList(listed.stdout) : [];
  const { entries, altered } = sanitizeRepoConfig(current, repo.url);
  if (listed.exitCode !== 0) altered.unshift('.git/config (unreadable, replaced)');
  if (altered.length > 0 || listed.exitCode !== 0) {
    // Written beside it and renamed over it, so a symlink in its place is replaced, not followed.
    const next = join(gitDir, 'config.shepherd');
    rmSync(next, { force: true });
    writeFileSync(next, renderConfig(entries), { flag: 'wx', mode: 0o644 });
    renameSync(next, file);
  }
  return [...altered, ...hooks(gitDir).map((name) => `hooks/${name} (not run)`)];
}
