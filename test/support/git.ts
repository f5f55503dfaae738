/** git for tests, isolated from the machine's configuration, with a fixed identity. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Environment for git in tests: no global or system config, a fixed author and committer. */
export const testGitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Runs git in `cwd` and returns its trimmed output. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: testGitEnv, encoding: 'utf8' }).trim();
}

/** Makes a bare repository under `root` whose `main` has one commit (a README); returns its path. */
export function bareRepo(root: string): string {
  const name = `repo-${randomBytes(4).toString('hex')}`;
  const seed = join(root, `${name}-seed`);
  git(root, 'init', '--quiet', '--initial-branch=main', seed);
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  git(seed, 'add', '.');
  git(seed, 'commit', '--quiet', '-m', 'initial');
  const bare = join(root, `${name}.git`);
  git(root, 'clone', '--quiet', '--bare', seed, bare);
  return bare;
}
