/**
 * What the runner needs to know about an agent: which program it runs, what it needs before it can
 * start (prompt, credentials), how to launch it headless, and how to read its output. One file per
 * agent implements this; `agents/index.ts` picks one by name.
 */
import type { Usage } from '../../resources/types.js';
import type { RunnerConfig } from '../config.js';

/** What an agent reported about its run. */
export interface AgentReport {
  /** A few lines saying what the agent did; becomes the result's summary. */
  summary?: string;
  usage?: Usage;
}

/** One launch of an agent. */
export interface AgentLaunch {
  argv: [string, ...string[]];
  cwd: string;
  /** The agent's whole environment (not merged with the runner's). */
  env: Record<string, string>;
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
  /** How to get the program, for the prerequisite message. */
  installHint: string;
  /** One line naming the missing credentials and how to provide them; undefined when all is there. */
  missingCredentials(env: NodeJS.ProcessEnv): string | undefined;
  /**
   * Builds the launch.
   *
   * @param env The runner's environment.
   * @param cwd Where the agent starts: the first repository's clone, or the workspace.
   */
  launch(config: RunnerConfig, env: NodeJS.ProcessEnv, cwd: string): AgentLaunch;
}
