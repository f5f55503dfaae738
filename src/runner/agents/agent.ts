/**
 * What the runner needs to know about an agent: which program it runs, what it needs before it can
 * start (prompt, credentials), how to launch it headless, and how to read its output. One file per
 * agent implements this; `agents/index.ts` picks one by name.
 */
import type { Usage } from '../../resources/types.js';
import type { RunnerConfig } from '../config.js';
import type { Resume } from '../conversation.js';

/** What an agent reported about its run. */
export interface AgentReport {
  /** A few lines saying what the agent did; becomes the result's summary. */
  summary?: string;
  usage?: Usage;
  /**
   * Whether the agent's output showed its session beginning (Claude Code's init event, OpenCode's
   * first step). False for an agent that exited before that, which refused to start; absent for an
   * agent whose output cannot tell.
   */
  startedSession?: boolean;
  /** An error the agent reported in its output rather than on stderr. */
  error?: string;
  /** The id of the agent's own conversation, which the next turn resumes. */
  conversationId?: string;
  /** The question the agent's final message ended with (see `question.ts`); not in `summary`. */
  question?: string;
}

/** Where and how an agent is launched, beyond the runner's configuration. */
export interface LaunchContext {
  /** Where the agent starts: the first repository's clone, or the workspace. */
  cwd: string;
  /** How the agent takes up its conversation; always `new` for an agent that cannot resume. */
  resume: Resume;
  /**
   * What the runner tells the agent beside the task (how to ask a question; that the earlier
   * conversation was lost), for agents that take instructions.
   */
  instructions: string;
}

/** One launch of an agent. */
export interface AgentLaunch {
  argv: [string, ...string[]];
  cwd: string;
  /** The agent's whole environment (not merged with the runner's). */
  env: Record<string, string>;
  /** Lines for the session log before the agent starts (how the policy's tool lists apply). */
  notes?: string[];
  /** Turns a line of the agent's stdout into lines for the session log, noting what it reports. */
  stdoutLine(line: string): string[];
  /** What the agent reported, read once it has exited. */
  report(): AgentReport;
}

/** An agent the runner can drive. */
export interface AgentDefinition {
  /** The program to run: looked up on PATH, or a path when it contains a slash. */
  program(config: RunnerConfig): string;
  /** Whether a session without a prompt is a prerequisite failure. */
  needsPrompt: boolean;
  /** Whether the agent can resume its own conversation on the next turn. */
  resumes: boolean;
  /** How to get the program, for the prerequisite message. */
  installHint: string;
  /** What to do about a known reason the agent refused to start, given its message. */
  refusalHint?: (message: string) => string | undefined;
  /** One line naming the missing credentials and how to provide them; undefined when all is there. */
  missingCredentials(env: NodeJS.ProcessEnv): string | undefined;
  /**
   * Builds the launch.
   *
   * @param env The runner's environment, with SHEPHERD_QUESTION_FILE set.
   */
  launch(config: RunnerConfig, env: NodeJS.ProcessEnv, context: LaunchContext): AgentLaunch;
}
