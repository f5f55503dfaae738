/**
 * The environment an agent runs with: the runner's, minus the git tokens (the runner pushes, so
 * the agent never needs them, and an agent cannot leak what it was never given), with the
 * provider token renamed to the variable the agent itself reads.
 */
import { GIT_TOKEN_ENV_PREFIX, RUNNER_ENV } from '../../runner-contract/variables.js';
import type { RunnerConfig } from '../config.js';

/**
 * The agent's environment.
 *
 * @param providerTokenAs The variable that receives SHEPHERD_PROVIDER_TOKEN; SHEPHERD_PROVIDER_TOKEN
 *   itself is kept only when this is undefined (agent `command`, which reads it by that name).
 */
export function agentEnvironment(
  env: NodeJS.ProcessEnv,
  config: RunnerConfig,
  providerTokenAs: string | undefined,
): Record<string, string> {
  const gitTokens = new Set(config.repos.flatMap((repo) => (repo.tokenEnv ? [repo.tokenEnv] : [])));
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name.startsWith(GIT_TOKEN_ENV_PREFIX) || gitTokens.has(name)) continue;
    if (name === RUNNER_ENV.providerToken && providerTokenAs !== undefined) continue;
    result[name] = value;
  }
  const token = env[RUNNER_ENV.providerToken];
  if (providerTokenAs !== undefined && token) result[providerTokenAs] = token;
  return result;
}
