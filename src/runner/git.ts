/**
 * Runs git for the runner: never interactively, with a per-repository credential helper, cut short
 * when a stopping runner's grace period is running out, and with secrets redacted from whatever it
 * reports.
 *
 * The credential helper is configured through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n variables and
 * reads the token from the environment variable the repository names, so the token is never in
 * argv, in .git/config or in a log line, and the helper disappears with the process.
 */
import { execa } from 'execa';
import { gitCredentialConfig } from '../runner-contract/git-credentials.js';
import { GitError } from './errors.js';
import type { Redactor } from './redact.js';

/** What one git command returned. */
export interface GitResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Options of one git command. */
export interface GitRunOptions {
  /** The environment variable holding this repository's token, when it needs one. */
  tokenEnv?: string;
  /** Extra environment for this command (e.g. an author). */
  env?: Record<string, string>;
}

/**
 * The environment that makes git answer credential requests with the token in `tokenEnv` (see
 * {@link gitCredentialConfig}).
 */
export function credentialHelperEnv(tokenEnv: string): Record<string, string> {
  const config = gitCredentialConfig(tokenEnv);
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

// Fallback when a command has no deadline: long enough for a big push, short enough that a hung
// remote does not hold a session until its timeout.
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs git commands in the repositories' clones. */
export class Git {
  /** Epoch ms after which commands are killed; set when the runner is stopping. */
  deadline: number | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly redactor: Redactor,
  ) {}

  /** Runs `git args` in `dir`; never throws for a failing command. */
  async run(dir: string, args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    const timeout =
      this.deadline === undefined ? DEFAULT_TIMEOUT_MS : Math.max(200, this.deadline - Date.now());
    const result = await execa('git', args, {
      cwd: dir,
      env: {
        ...this.env,
        GIT_TERMINAL_PROMPT: '0',
        // Never wait for an editor or a pager in a headless pod.
        GIT_EDITOR: 'true',
        GIT_PAGER: 'cat',
        ...(options.tokenEnv ? credentialHelperEnv(options.tokenEnv) : {}),
        ...options.env,
      },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout,
      forceKillAfterDelay: 1000,
    });
    const stderr = this.redactor.redact(String(result.stderr ?? ''));
    return {
      exitCode: result.exitCode,
      stdout: this.redactor.redact(String(result.stdout ?? '')),
      stderr: result.timedOut ? `git ${args[0] ?? ''} timed out. ${stderr}`.trim() : stderr,
    };
  }

  /**
   * Runs `git args` in `dir` and returns its trimmed stdout.
   *
   * @throws GitError with git's (redacted) explanation when it fails.
   */
  async ok(dir: string, args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    const result = await this.run(dir, args, options);
    if (result.exitCode !== 0) {
      const reason = gitReason(result.stderr || result.stdout) || `exit code ${result.exitCode ?? 'none'}`;
      throw new GitError(`git ${args[0] ?? ''} failed: ${reason}`, result.exitCode);
    }
    return result.stdout.trim();
  }
}

/**
 * What went wrong, from git's output: its last lines without the advice (`hint:`), joined by " / "
 * so a message stays on one line.
 */
export function gitReason(output: string): string {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('hint:'))
    .slice(-3)
    .join(' / ');
}
