/**
 * Real git for the runner tests: bare repositories on disk seeded with a commit on `main`, clones
 * made by the Job's own clone script, and the runner started as a child process exactly as the
 * local runtime starts it (`node --import tsx src/runner/main.ts`) with its environment set.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { buildCloneScript } from '../../../src/runner-contract/clone-script.js';
import { repoRoot } from '../../../src/processes/tools.js';
import { testGitEnv } from '../../support/git.js';
import { type RunnerRepo, runnerRepos } from '../../../src/runner-contract/repos.js';
import type { ResolvedRepo } from '../../../src/session/resolved-session.js';

const gitEnv = testGitEnv;

/** What a finished runner left behind. */
export interface RunnerRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** The parsed result file, or undefined when none was written. */
  result: Record<string, unknown> | undefined;
  /** The result file's raw text. */
  resultText: string;
  durationMs: number;
}

/** A temporary directory holding bare repositories, workspaces and the runner's files. */
export class GitSandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'shepherd-runner-'));
  private workspaces = 0;

  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
  }

  /** A bare repository `name.git` whose `main` holds one commit with README.md; returns its URL. */
  bareRepo(name: string): string {
    const url = join(this.root, `${name}.git`);
    const seed = join(this.root, `${name}-seed`);
    this.git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', url);
    this.git(this.root, 'init', '--quiet', '--initial-branch=main', seed);
    writeFileSync(join(seed, 'README.md'), `# ${name}\n`);
    this.git(seed, 'add', '.');
    this.git(seed, 'commit', '--quiet', '-m', 'first');
    this.git(seed, 'push', '--quiet', url, 'main');
    return url;
  }

  /** The commit a branch of a bare repository points at, as `git ls-remote` shows it. */
  remoteHead(url: string, branch: string): string | undefined {
    const line = this.git(this.root, 'ls-remote', url, `refs/heads/${branch}`);
    return line === '' ? undefined : line.split('\t')[0];
  }

  /** `git log` subjects of a remote branch, newest first. */
  remoteLog(url: string, branch: string): string[] {
    return this.git(url, 'log', '--format=%s', branch).split('\n');
  }

  /** A file's content at the tip of a remote branch. */
  remoteFile(url: string, branch: string, path: string): string {
    return this.git(url, 'show', `${branch}:${path}`);
  }

  /**
   * A new workspace with `repos` cloned into it by the Job's clone script; returns the workspace
   * and the repositories as the runner sees them.
   *
   * @param env Extra environment of the clone step, e.g. the git tokens.
   */
  async workspace(
    repos: ResolvedRepo[],
    env: Record<string, string> = {},
  ): Promise<{ workspace: string; runnerRepos: RunnerRepo[] }> {
    const workspace = join(this.root, `workspace-${++this.workspaces}`);
    mkdirSync(workspace);
    // Asynchronous, so a git server in the test's own process can answer the clone.
    await execa('sh', ['-c', buildCloneScript(repos, workspace)], {
      env: { ...gitEnv, ...env, HOME: join(workspace, '.home') },
      extendEnv: false,
    });
    return {
      workspace,
      runnerRepos: runnerRepos(repos, workspace),
    };
  }

  /** The environment of a runner working in `workspace`, as the Job or the local runtime sets it. */
  runnerEnv(workspace: string, repos: RunnerRepo[], extra: Record<string, string>): Record<string, string> {
    return {
      PATH: gitEnv.PATH ?? '/usr/bin:/bin',
      HOME: join(workspace, '.home'),
      // The runner's commits must get their author from the runner, not from the test machine.
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      SHEPHERD_WORKSPACE: workspace,
      SHEPHERD_RESULT_FILE: join(workspace, '.result.json'),
      SHEPHERD_REPOS: JSON.stringify(repos),
      SHEPHERD_SESSION_NAME: 'fix-readme',
      SHEPHERD_ATTEMPT: '1',
      ...extra,
    };
  }

  /**
   * Starts the runner; `finish` waits for it and collects what it left.
   *
   * @param timeoutMs When a hung runner is killed, failing its test rather than the whole run; a
   *   real agent CLI on a loaded machine needs longer than the default. @default 60000
   */
  startRunner(
    env: Record<string, string>,
    timeoutMs = 60_000,
  ): { child: ResultPromise; finish: () => Promise<RunnerRun> } {
    const started = Date.now();
    const child = execa(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/runner/main.ts')], {
      cwd: repoRoot,
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: timeoutMs,
    });
    const finish = async (): Promise<RunnerRun> => {
      const done = await child;
      const durationMs = Date.now() - started;
      let resultText = '';
      try {
        resultText = readFileSync(env.SHEPHERD_RESULT_FILE ?? '', 'utf8');
      } catch {
        // No result written: the test says whether that is expected.
      }
      return {
        exitCode: done.exitCode,
        stdout: String(done.stdout),
        stderr: String(done.stderr),
        result: resultText === '' ? undefined : (JSON.parse(resultText) as Record<string, unknown>),
        resultText,
        durationMs,
      };
    };
    return { child, finish };
  }

  /** Runs the runner to its end. */
  runRunner(env: Record<string, string>, timeoutMs?: number): Promise<RunnerRun> {
    return this.startRunner(env, timeoutMs).finish();
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A repository of the session as the resolver produces it, with the test's defaults. */
export function repo(url: string, overrides: Partial<ResolvedRepo> = {}): ResolvedRepo {
  return {
    url,
    branch: 'main',
    outputBranch: 'shepherd/fix-readme',
    autoPush: true,
    dir: 'repo',
    ...overrides,
  };
}
