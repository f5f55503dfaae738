/**
 * Runs git for the runner: never interactively, with a per-repository credential helper, cut short
 * when a stopping runner's grace period is running out, and with secrets redacted from whatever it
 * reports.
 *
 * The agent works in the same clones, and may have written to them (and to HOME, which is on the
 * workspace) to make the runner's git send the token elsewhere or run a program of its own. So
 * the runner's git reads neither the system nor the user's configuration, takes the repository's
 * .git/config only once `clone-guard.ts` has cut it down to a safe set, and gets on top of that,
 * through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n variables (which win over every file): no hooks, no
 * fsmonitor, transports limited to the ordinary ones, and the credential helper of the one
 * repository a network command talks to. The helper reads the token from the environment variable
 * the repository names, so the token is never in argv, in .git/config or in a log line; that
 * variable is passed to the network commands of its repository only.
 */
import { execa } from 'execa';
import { gitCredentialConfig } from '../runner-contract/git-credentials.js';
import { GIT_TOKEN_ENV_PREFIX } from '../runner-contract/variables.js';
import { GitError } from './errors.js';
import type { Redactor } from './redact.js';

/** What one git command returned. */
export interface GitResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** The token of the repository a network command talks to. */
export interface GitCredentials {
  /** The environment variable holding the token. */
  tokenEnv: string;
  /** The repository's URL: the helper answers for its scheme and host only. */
  url: string;
}

/** Options of one git command. */
export interface GitRunOptions {
  /** For a network command of a repository that needs a token. */
  credentials?: GitCredentials;
  /** Extra environment for this command (e.g. an author). */
  env?: Record<string, string>;
}

/**
 * What every runner git command is told on top of its files: no hook (the agent can write
 * .git/hooks), no fsmonitor program, and only the transports a session's URL can use, so nothing
 * like `ext::` runs a command; plus, for a network command, the credential helper of its
 * repository (see {@link gitCredentialConfig}), else a reset of every helper.
 */
export function runnerGitConfig(
  credentials: GitCredentials | undefined,
): ReadonlyArray<readonly [string, string]> {
  return [
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['protocol.allow', 'never'],
    ...['https', 'http', 'ssh', 'git', 'file'].map(
      (scheme) => [`protocol.${scheme}.allow`, 'always'] as const,
    ),
    ...(credentials
      ? gitCredentialConfig(credentials.tokenEnv, credentials.url)
      : [['credential.helper', ''] as const]),
  ];
}

/** `config` as the GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n variables git reads. */
export function configEnv(config: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

// Variables of the runner's environment git never gets from it: the git configuration is the
// runner's own (set below), and tokens only reach the commands that need them.
function inherited(name: string, tokenEnvs: ReadonlySet<string>): boolean {
  return !name.startsWith('GIT_CONFIG') && !name.startsWith(GIT_TOKEN_ENV_PREFIX) && !tokenEnvs.has(name);
}

// Fallback when a command has no deadline: long enough for a big push, short enough that a hung
// remote does not hold a session until its timeout.
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs git commands in the repositories' clones. */
export class Git {
  /** Epoch ms after which commands are killed; set when the runner is stopping. */
  deadline: number | undefined;

  private readonly baseEnv: Record<string, string>;

  /**
   * @param env The runner's environment.
   * @param tokenEnvs The variables holding the repositories' tokens (besides SHEPHERD_GIT_TOKEN_*).
   */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly redactor: Redactor,
    tokenEnvs: Iterable<string> = [],
  ) {
    const tokens = new Set(tokenEnvs);
    this.baseEnv = {};
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined && inherited(name, tokens)) this.baseEnv[name] = value;
    }
  }

  /** Runs `git args` in `dir`; never throws for a failing command. */
  async run(dir: string, args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    const timeout =
      this.deadline === undefined ? DEFAULT_TIMEOUT_MS : Math.max(200, this.deadline - Date.now());
    const result = await execa('git', args, {
      cwd: dir,
      env: {
        ...this.baseEnv,
        GIT_TERMINAL_PROMPT: '0',
        // Never wait for an editor or a pager in a headless pod.
        GIT_EDITOR: 'true',
        GIT_PAGER: 'cat',
        // The agent can write HOME (~/.gitconfig, ~/.config/git) and, as root, /etc/gitconfig.
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        ...options.env,
        ...configEnv(runnerGitConfig(options.credentials)),
        ...(options.credentials ? this.token(options.credentials.tokenEnv) : {}),
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

  private token(name: string): Record<string, string> {
    const value = this.env[name];
    return value === undefined ? {} : { [name]: value };
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
