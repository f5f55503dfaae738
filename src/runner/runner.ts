/**
 * One run of the runner, start to finish: prerequisites, work branches, the agent, then commit
 * and push, ending in the result and the exit code. A stop (SIGTERM: the user stopped the session,
 * or it timed out) ends the agent and pushes its work in progress as a "wip" commit, because a
 * stopped session must lose nothing it had written.
 *
 * A run is one turn of the session's conversation: from turn 2 on the agent resumes its own
 * conversation (`conversation.ts`), and an agent may end its turn with a question instead
 * (`question.ts`), which the result carries once the work so far is pushed.
 *
 * `main.ts` owns the process (environment, signals, exit); this class takes them as arguments.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerResult } from '../runner-contract/result.js';
import { RESULT_LIMITS, trimText } from '../runner-contract/result-limits.js';
import { RUNNER_ENV } from '../runner-contract/variables.js';
import type { AgentExit, AgentOutput, RunningAgent } from './agent-process.js';
import { startAgent } from './agent-process.js';
import { agentRefusal, cleanMessage } from './agent-refusal.js';
import type { AgentDefinition, AgentReport } from './agents/agent.js';
import { AGENTS } from './agents/index.js';
import { guardClone } from './clone-guard.js';
import type { RunnerConfig } from './config.js';
import { GitError, PrerequisiteError } from './errors.js';
import { Git } from './git.js';
import { alteredNote } from './git-config-policy.js';
import { agentDirectory, checkPrerequisites } from './prerequisites.js';
import { type RepoReport, publishRepo } from './publish.js';
import {
  lostContextNote,
  planResume,
  questionFilePath,
  type Resume,
  type ResumePlan,
  saveConversation,
} from './conversation.js';
import { clearQuestionFile, QUESTION_INSTRUCTIONS, readQuestionFile } from './question.js';
import { Redactor, secretsInEnvironment } from './redact.js';
import { RUNNER_EXIT } from '../runner-contract/exit-codes.js';
import type { RunnerRepo } from '../runner-contract/repos.js';
import { type PreparedBranch, prepareWorkBranch } from './work-branch.js';

/** How a run ended. */
export interface RunnerOutcome {
  exitCode: number;
  result: RunnerResult;
}

/** An agent that ran (it may have failed), and what it reported. */
interface AgentRun {
  exit: AgentExit;
  report: AgentReport;
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
  /** What went wrong in taking up the agent's conversation (see `runAgent`). */
  private readonly conversationWarnings: string[] = [];
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
      const ran = await this.runAgent();
      if ('result' in ran) return ran;
      ({ exit, report } = ran);
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
    // Only a turn that ended well can wait for an answer: a failed one is retried, and asks again.
    const question = succeeded ? this.question(report) : undefined;
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
          question !== undefined,
        ),
        repos,
        ...(report.usage ? { usage: report.usage } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(question === undefined ? {} : { question }),
      },
    };
  }

  /**
   * Runs the agent for this turn, resuming its conversation from turn 2 on. A resumed agent that
   * refuses to start (Claude Code and OpenCode exit 1 before their session begins when they have
   * no transcript of the conversation, or cannot read it) is started once more in a new
   * conversation, told that the earlier one is lost, and the result warns of it: the turn goes on
   * with the repositories' work instead of failing for the sake of the agent's memory.
   *
   * @returns The agent's run, or the outcome of an agent that refused to start.
   */
  private async runAgent(): Promise<AgentRun | RunnerOutcome> {
    const { agent: kind, workspace, turn } = this.config;
    const questionFile = questionFilePath(workspace);
    clearQuestionFile(questionFile);
    const plan: ResumePlan = this.agent.resumes
      ? planResume(workspace, kind, turn)
      : { resume: { kind: 'new' } };
    if (plan.warning !== undefined) this.warnConversation(plan.warning);

    let ran = await this.launchAgent(plan.resume, QUESTION_INSTRUCTIONS, questionFile);
    let refusal = this.refusal(ran);
    if (refusal !== undefined && plan.resume.kind !== 'new' && ran.exit.startError === undefined) {
      const which = plan.resume.kind === 'id' ? `conversation ${plan.resume.id}` : 'most recent conversation';
      const said =
        cleanMessage(ran.report.error) ??
        cleanMessage(ran.exit.stderrTail) ??
        `exit code ${ran.exit.exitCode ?? 'unknown'}`;
      this.warnConversation(
        `turn ${turn}: ${kind} could not resume its ${which} (${said.replace(/\s*\n\s*/g, ' ')}); it began a new one, which has the repositories' work of the earlier turns but not their messages`,
      );
      ran = await this.launchAgent(
        { kind: 'new' },
        `${lostContextNote(turn)}\n\n${QUESTION_INSTRUCTIONS}`,
        questionFile,
      );
      refusal = this.refusal(ran);
    }
    if (refusal !== undefined) return this.refused(refusal);
    if (ran.report.conversationId !== undefined) {
      const problem = saveConversation(workspace, kind, ran.report.conversationId);
      if (problem !== undefined) this.warnConversation(problem);
    }
    return ran;
  }

  /** Starts the agent and waits for it to exit. */
  private async launchAgent(resume: Resume, instructions: string, questionFile: string): Promise<AgentRun> {
    const env = { ...this.env, [RUNNER_ENV.questionFile]: questionFile };
    const launch = this.agent.launch(this.config, env, {
      cwd: agentDirectory(this.config),
      resume,
      instructions,
    });
    const resuming =
      resume.kind === 'id'
        ? `, resuming its conversation ${resume.id}`
        : resume.kind === 'latest'
          ? ', continuing its most recent conversation'
          : '';
    this.log(`starting ${this.config.agent} (${launch.argv[0]}) in ${launch.cwd}${resuming}`);
    for (const note of launch.notes ?? []) this.log(`${this.config.agent}: ${note}`);
    this.agentProcess = startAgent(launch, this.output, this.redactor);
    const exit = await this.agentProcess.exited;
    this.log(`${this.config.agent} ${describeExit(exit)}`);
    return { exit, report: launch.report() };
  }

  /** Why the agent refused to start, if it did; never for an agent that was stopped. */
  private refusal({ exit, report }: AgentRun): string | undefined {
    if (this.stopping) return undefined;
    return agentRefusal(
      this.config.agent,
      { exit, startedSession: report.startedSession, reportedError: report.error },
      this.agent.refusalHint,
    );
  }

  private warnConversation(line: string): void {
    const redacted = this.redactor.redact(line);
    this.log(redacted);
    this.conversationWarnings.push(redacted);
  }

  /**
   * The question the agent ended its turn with: what it wrote into the question file, else the
   * question its final message ended with; redacted and cut to what the status keeps.
   */
  private question(report: AgentReport): string | undefined {
    const asked = readQuestionFile(questionFilePath(this.config.workspace)) ?? report.question;
    if (asked === undefined) return undefined;
    const question = trimText(this.redactor.redact(asked), RESULT_LIMITS.question);
    this.log(`${this.config.agent} asked a question: ${question}`);
    return question;
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
    return [...lines, ...this.conversationWarnings];
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
    const facts = [
      ...(this.config.turn > 1 ? [`turn ${this.config.turn}`] : []),
      ...(this.config.attempt === undefined ? [] : [`attempt ${this.config.attempt}`]),
    ];
    return facts.length === 0 ? name : `${name} (${facts.join(', ')})`;
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
    asked: boolean,
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
      report.summary ??
      (asked
        ? `${this.config.agent} asked a question`
        : headline.length === 0
          ? `${this.config.agent} finished`
          : undefined);
    return this.redactor.redact([...headline, ...(agentSummary ? [agentSummary] : [])].join('\n'));
  }
}

function describeExit(exit: AgentExit): string {
  if (exit.startError !== undefined) return `could not start: ${exit.startError}`;
  if (exit.signal !== undefined) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode ?? 'unknown'}`;
}
