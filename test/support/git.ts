/** git for tests, isolated from the machine's configuration, with a fixed identity. */
import { execFileSync } from 'node:child_process';

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
