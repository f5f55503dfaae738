/**
 * One run of the runner, start to finish: prerequisites, work branches, the agent, then commit
 * and push, ending in the result and the exit code. A stop (SIGTERM: the user stopped the session,
 * or it timed out) ends the agent and pushes its work in progress as a "wip" commit, because a
 * stopped session must lose nothing it had written.
 *
 * `main.ts` owns the process (environment, signals, exit); this class takes them as arguments.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerResult } from '../runner-contract/result.js';
import type { AgentExit, AgentOutput, RunningAgent } from './agent-process.js';
import { startAgent } from './agent-process.js';
import { agentRefusal } from './agent-refusal.js';
import type { AgentDefinition, AgentReport } from './agents/agent.js';
import { AGENTS } from './agents/index.js';
import { guardClone } from './clone-guard.js';
import type { RunnerConfig } from './config.js';
import { GitError, PrerequisiteError } from './errors.js';
import { Git } from './git.js';
import { alteredNote } from './git-config-policy.js';
import { agentDirectory, checkPrerequisites } from './prerequisites.js';
import { type RepoReport, publishRepo } from './publish.js';
import { Redactor, secretsInEnvironment } from './redact.js';
import { RUNNER_EXIT } from '../runner-contract/exit-codes.js';
import type { RunnerRepo } from '../runner-contract/repos.js';
import { type PreparedBranch, prepareWorkBranch } from './work-branch.js';

/** How a run ended. */
export interface RunnerOutcome {
  exitCode: number;
  result: RunnerResult;
}

// Part of the grace period kept for writing the result after the last git command.
const RESULT_MARGIN_MS = 500;
// The agent gets at most this long (and a quarter of the grace period) to stop by itself, so most
// of the grace period is left for committing and pushing.
const AGENT_STOP_MS = 5000;

const LOG_PREFIX = '[shepherd]';

/** A run of the runner. */
export class Runner {
  private readonly agent: AgentDefinition;
  private readonly redactor: Redactor;
  private readonly git: Git;
  private readonly reports: (RepoReport | undefined)[];
  /** Per repository, what the agent had altered in its clone (see `guardClone`). */
  private readonly altered: Set<string>[];
  private stopRequest: { signal: string; at: number } | undefined;
  private agentProcess: RunningAgent | undefined;

  constructor(
    private readonly config: RunnerConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly output: AgentOutput,
  ) {
    this.agent = AGENTS[config.agent];
    this.redactor = new Redactor(secretsInEnvironment(env, config.repos));
    this.git = new Git(
      env,
      this.redactor,
      config.repos.flatMap((repo) => (repo.tokenEnv ? [repo.tokenEnv] : [])),
    );
    this.reports = config.repos.map(() => undefined);
    this.altered = config.repos.map(() => new Set());
  }

  /** Whether a stop was requested. */
  get stopping(): boolean {
    return this.stopRequest !== undefined;
  }

  /** A line for the session log from the runner itself. */
  private log = (line: string): void => {
    this.output.out(`${LOG_PREFIX} ${this.redactor.redact(line)}`);
  };

  /**
   * Runs the session.
   *
   * @throws PrerequisiteError when a prerequisite is missing; nothing has been changed then.
   */
  async run(): Promise<RunnerOutcome> {
    await checkPrerequisites(this.config, this.agent, this.env, this.git);
    // Agents keep their state in HOME, which is on the workspace and may not exist yet.
    if (this.env.HOME) mkdirSync(this.env.HOME, { recursive: true });

    const prepared: PreparedBranch[] = [];
    for (const [index, repo] of this.config.repos.entries()) {
      try {
        // A clone kept from an earlier attempt has had an agent in it already.
        await this.guard(index, repo);
        prepared.push(await prepareWorkBranch(this.git, repo, (line) => this.log(`${repo.url}: ${line}`)));
      } catch (error) {
        if (error instanceof PrerequisiteError) throw error;
        return this.unprepared(index, repo, error);
      }
    }

    let exit: AgentExit | undefined;
    let report: AgentReport = {};
    if (!this.stopping) {
      const launch = this.agent.launch(this.config, this.env, agentDirectory(this.config));
      this.log(`starting ${this.config.agent} (${launch.argv[0]}) in ${launch.cwd}`);
      this.agentProcess = startAgent(launch, this.output, this.redactor);
      exit = await this.agentProcess.exited;
      report = launch.report();
      this.log(`${this.config.agent} ${describeExit(exit)}`);
      const refusal = this.stopping
        ? undefined
        : agentRefusal(
            this.config.agent,
            { exit, startedSession: report.startedSession, reportedError: report.error },
            this.agent.refusalHint,
          );
      if (refusal !== undefined) return this.refused(refusal);
    }

    const message = this.stopRequest
      ? `wip: work in progress of ${this.sessionLabel()}, stopped by ${this.stopRequest.signal}`
      : `${this.sessionLabel()}: changes the agent left uncommitted`;
    await Promise.all(
      this.config.repos.map(async (repo, index) => {
        const branch = prepared[index];
        if (branch) this.reports[index] = await this.publish(index, repo, branch, message);
      }),
    );
    const repos = this.reports.filter((r): r is RepoReport => r !== undefined);
    const pushesFailed = repos.filter((r) => r.status === 'Failed');
    const succeeded = !this.stopping && exit?.exitCode === 0 && pushesFailed.length === 0;
    const warnings = this.warnings();
    return {
      exitCode: succeeded ? RUNNER_EXIT.success : RUNNER_EXIT.failure,
      result: {
        summary: this.summary(
          exit,
          report,
          pushesFailed,
          // A failed repository's message carries its warning already.
          warnings.filter((line) => !pushesFailed.some((repo) => line.startsWith(`${repo.url}: `))),
        ),
        repos,
        ...(report.usage ? { usage: report.usage } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    };
  }

  /** Takes the clone back from the agent (see `guardClone`), noting what it had altered. */
  private async guard(index: number, repo: RunnerRepo): Promise<void> {
    const altered = await guardClone(this.git, repo);
    for (const phrase of altered) this.altered[index]?.add(phrase);
    if (altered.length > 0) this.log(`${repo.url}: ${alteredNote(altered)}`);
  }

  private async publish(
    index: number,
    repo: RunnerRepo,
    branch: PreparedBranch,
    message: string,
  ): Promise<RepoReport> {
    try {
      await this.guard(index, repo);
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      this.log(`${repo.url}: ${error.message}`);
      return { url: repo.url, branch: repo.outputBranch, status: 'Failed', message: error.message };
    }
    return publishRepo(this.git, repo, branch, message, this.log, [...(this.altered[index] ?? [])]);
  }

  /**
   * One line per clone the agent altered, and one per user configuration file it wrote, which the
   * runner's git ignores (HOME is on the workspace, so any such file is the agent's or an earlier one's).
   */
  private warnings(): string[] {
    const lines = this.config.repos.flatMap((repo, index) => {
      const altered = [...(this.altered[index] ?? [])];
      return altered.length === 0 ? [] : [`${repo.url}: ${alteredNote(altered)}`];
    });
    const home = this.env.HOME;
    const xdg = this.env.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined);
    for (const [shown, path] of [
      ['~/.gitconfig', home && join(home, '.gitconfig')],
      ['$XDG_CONFIG_HOME/git/config', xdg && join(xdg, 'git', 'config')],
    ] as const) {
      if (path && this.config.repos.length > 0 && existsSync(path))
        lines.push(`${shown} (${path}) was ignored: the runner's git reads no user configuration`);
    }
    return lines;
  }

  /**
   * Stops the run: the agent is asked to stop (and killed if it does not), then its work is
   * committed and pushed; git commands are cut short so all of it ends within the grace period.
   */
  stop(signal: string): void {
    if (this.stopRequest) return;
    const at = Date.now();
    this.stopRequest = { signal, at };
    this.git.deadline = at + this.config.graceMs - RESULT_MARGIN_MS;
    this.log(`${signal}: stopping ${this.config.agent}, then pushing its work in progress`);
    void this.agentProcess?.stop(Math.min(AGENT_STOP_MS, this.config.graceMs / 4));
  }

  /** Kills the agent at once; for a runner about to exit. */
  killAgent(): void {
    this.agentProcess?.kill();
  }

  /** The result as far as it is known, for a runner that must exit before it has finished. */
  snapshot(reason: string): RunnerResult {
    return {
      summary: reason,
      repos: this.config.repos.map(
        (repo, index): RepoReport =>
          this.reports[index] ?? {
            url: repo.url,
            branch: repo.outputBranch,
            status: 'Failed',
            message: `not pushed: ${reason}`,
          },
      ),
    };
  }

  private sessionLabel(): string {
    const name = this.config.sessionName ? `session ${this.config.sessionName}` : 'Shepherd session';
    return this.config.attempt === undefined ? name : `${name} (attempt ${this.config.attempt})`;
  }

  private unprepared(index: number, repo: RunnerRepo, error: unknown): RunnerOutcome {
    const reason = this.redactor.redact(error instanceof Error ? error.message : String(error));
    this.log(`${repo.url}: could not prepare ${repo.outputBranch}: ${reason}`);
    return {
      exitCode: RUNNER_EXIT.failure,
      result: {
        summary: `could not prepare ${repo.outputBranch} of ${repo.url}; the agent did not run: ${reason}`,
        repos: this.config.repos.map((other, i): RepoReport => ({
          url: other.url,
          branch: other.outputBranch,
          status: i === index ? 'Failed' : 'NotPushed',
          message: i === index ? reason : 'the agent did not run',
        })),
      },
    };
  }

  /**
   * The agent refused to start: a prerequisite failure, because it would refuse again on a retry.
   * It changed nothing, so nothing is committed or pushed.
   */
  private refused(reason: string): RunnerOutcome {
    const summary = this.redactor.redact(reason);
    this.log(summary);
    return {
      exitCode: RUNNER_EXIT.prerequisite,
      result: {
        summary,
        repos: this.config.repos.map((repo): RepoReport => ({
          url: repo.url,
          branch: repo.outputBranch,
          status: 'NotPushed',
          message: `${this.config.agent} did not start`,
        })),
      },
    };
  }

  private summary(
    exit: AgentExit | undefined,
    report: AgentReport,
    pushesFailed: RepoReport[],
    warnings: string[],
  ): string {
    const headline: string[] = [];
    if (this.stopRequest) {
      headline.push(
        exit === undefined
          ? `stopped by ${this.stopRequest.signal} before the agent started`
          : `stopped by ${this.stopRequest.signal}; work in progress committed`,
      );
    } else if (exit && exit.exitCode !== 0) {
      headline.push(`${this.config.agent} ${describeExit(exit)}`);
    }
    for (const repo of pushesFailed) headline.push(`${repo.url}: ${repo.message ?? 'failed'}`);
    headline.push(...warnings);
    const agentSummary =
      report.summary ?? (headline.length === 0 ? `${this.config.agent} finished` : undefined);
    return this.redactor.redact([...headline, ...(agentSummary ? [agentSummary] : [])].join('\n'));
  }
}

function describeExit(exit: AgentExit): string {
  if (exit.startError !== undefined) return `could not start: ${exit.startError}`;
  if (exit.signal !== undefined) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode ?? 'unknown'}`;
}
