/**
 * Checks, before anything is changed, that the session can run at all: a prompt, the workspace,
 * every repository cloned into it, git and the agent's program, and the credentials the agent and
 * the repositories need. Each failure is a PrerequisiteError whose one-line message names what is
 * missing and how to fix it; the runner then exits 2 and the session is not retried.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { AgentDefinition } from './agents/agent.js';
import type { RunnerConfig } from './config.js';
import { PrerequisiteError } from './errors.js';
import type { Git } from './git.js';
import { RUNNER_ENV } from '../runner-contract/variables.js';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `program` would be run from: itself when it contains a slash (relative to `cwd`), else the
 * first match on `pathEnv`. Undefined when it is not there or not executable.
 */
export function findExecutable(
  program: string,
  pathEnv: string | undefined,
  cwd: string,
): string | undefined {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutableFile(path) ? path : undefined;
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, program);
    if (isExecutableFile(path)) return path;
  }
  return undefined;
}

/** Where the agent starts: the first repository's clone, or the workspace when there is none. */
export function agentDirectory(config: RunnerConfig): string {
  return config.repos[0]?.dir ?? config.workspace;
}

/**
 * Checks every prerequisite, in the order a user would fix them.
 *
 * @throws PrerequisiteError for the first one missing.
 */
export async function checkPrerequisites(
  config: RunnerConfig,
  agent: AgentDefinition,
  env: NodeJS.ProcessEnv,
  git: Git,
): Promise<void> {
  if (agent.needsPrompt && config.prompt.trim() === '') {
    throw new PrerequisiteError(
      `${RUNNER_ENV.initialPrompt} is empty: the ${config.agent} agent needs a task; set spec.initialPrompt`,
    );
  }
  if (!isDirectory(config.workspace)) {
    throw new PrerequisiteError(
      `the workspace ${config.workspace} does not exist: set ${RUNNER_ENV.workspace} to the directory holding the cloned repositories`,
    );
  }
  if (config.repos.length > 0 && findExecutable('git', env.PATH, config.workspace) === undefined) {
    throw new PrerequisiteError('git is not on PATH: use a runner image with git installed');
  }
  for (const repo of config.repos) {
    if (!isDirectory(repo.dir)) {
      throw new PrerequisiteError(
        `the repository ${repo.url} is not cloned at ${repo.dir}: the clone step must run before the runner (check its log for why it did not)`,
      );
    }
    const toplevel = await git.run(repo.dir, ['rev-parse', '--show-toplevel']);
    if (toplevel.exitCode !== 0 || realpathSync(toplevel.stdout.trim()) !== realpathSync(repo.dir)) {
      throw new PrerequisiteError(
        `${repo.dir} is not a readable git clone of ${repo.url}: remove it so the clone step clones it again`,
      );
    }
    if ((await git.run(repo.dir, ['remote', 'get-url', 'origin'])).exitCode !== 0) {
      throw new PrerequisiteError(
        `the clone at ${repo.dir} has no remote "origin" to push to: remove it so the clone step clones ${repo.url} again`,
      );
    }
  }
  const program = agent.program(config);
  if (findExecutable(program, env.PATH, agentDirectory(config)) === undefined) {
    throw new PrerequisiteError(
      `the agent program "${program}" is not on PATH or not executable: ${agent.installHint}`,
    );
  }
  const credentials = agent.missingCredentials(env);
  if (credentials !== undefined) throw new PrerequisiteError(credentials);
  for (const repo of config.repos) {
    if (repo.tokenEnv && !env[repo.tokenEnv]) {
      throw new PrerequisiteError(
        `the git token for ${repo.url} is missing (${repo.tokenEnv} is empty): check the repository's credentialsSecretRef`,
      );
    }
  }
}
