/**
 * The runner's environment, built once for both runtimes and split into what is secret and what
 * is not: on Kubernetes the secret part is the session Secret (taken whole with `envFrom`) and the
 * plain part the runner container's `env`; the local runtime sets both on the runner process.
 * Deciding here what is secret means no runtime can put a token where a plain value goes.
 *
 * The session's own variables (`spec.env`) are not part of it: on Kubernetes they may name other
 * sources (`valueFrom`), which only the Job can express. Each runtime lays them over the secret
 * part, so a session's variable wins over the provider's of the same name. They can never shadow
 * a contract variable: the resolver refuses INITIAL_PROMPT and SHEPHERD_* names.
 */
import type { ResolvedSession } from '../session/resolved-session.js';
import { runnerRepos } from './repos.js';
import { gitTokenEnv, RUNNER_ENV } from './variables.js';

/** Where one attempt's runner works, as the runner sees it. */
export interface RunnerLaunch {
  /** The attempt (from 1). */
  attempt: number;
  /** The workspace directory holding the clones. */
  workspace: string;
  /** Where the runner writes its JSON result. */
  resultFile: string;
}

/** Secret values read from the user's Secrets. */
export interface RunnerSecrets {
  /** The provider's API token, when the provider has one. */
  providerToken?: string;
  /** Git tokens by repository URL, for the repositories with a credentialsSecretRef. */
  repoTokens?: Readonly<Record<string, string>>;
  /**
   * The provider's environment, read from the provider now (the Kubernetes runtime). Without it,
   * the values the session itself carries (the local runtime; sessions resolved by older workers).
   */
  providerEnvironment?: Readonly<Record<string, string>>;
}

/** The runner's environment: variable names to values, secret and plain apart. */
export interface RunnerEnvironment {
  /** Values that may be shown (in a pod spec, a process listing). */
  plain: Record<string, string>;
  /** Values that only the runner may see. */
  secret: Record<string, string>;
}

/**
 * The policy's tool lists and per-session budget, for the runner to hand the agent with the
 * agent's own flags. Nothing when the policy sets none, so Jobs of sessions without a policy are
 * unchanged. An empty allow list is still passed: it allows nothing, as an empty list does
 * everywhere in the policy.
 *
 * The budget is what the workflow found left under the session's and the namespace's caps before
 * the launch (`budgetLeftUsd`), or else the whole per-session cap.
 */
function policyEnvironment(session: ResolvedSession): Record<string, string> {
  const { tools, budget, budgetLeftUsd } = session.policy ?? {};
  const maxBudget = budgetLeftUsd ?? budget?.perSessionUsd;
  return {
    ...(tools?.allowed === undefined ? {} : { [RUNNER_ENV.allowedTools]: JSON.stringify(tools.allowed) }),
    ...(tools?.denied === undefined || tools.denied.length === 0
      ? {}
      : { [RUNNER_ENV.deniedTools]: JSON.stringify(tools.denied) }),
    ...(maxBudget === undefined ? {} : { [RUNNER_ENV.maxBudgetUsd]: String(maxBudget) }),
  };
}

/** The plain part of the runner's environment, in the order the Job lists it. */
export function runnerPlainEnvironment(
  session: ResolvedSession,
  launch: RunnerLaunch,
): Record<string, string> {
  return {
    [RUNNER_ENV.sessionName]: session.name,
    [RUNNER_ENV.namespace]: session.namespace,
    [RUNNER_ENV.agent]: session.agent,
    [RUNNER_ENV.attempt]: String(launch.attempt),
    [RUNNER_ENV.turn]: String(session.turn ?? 1),
    [RUNNER_ENV.workspace]: launch.workspace,
    [RUNNER_ENV.resultFile]: launch.resultFile,
    [RUNNER_ENV.repos]: JSON.stringify(runnerRepos(session.repos, launch.workspace)),
    ...(session.model === undefined ? {} : { [RUNNER_ENV.model]: session.model }),
    ...policyEnvironment(session),
    // The runner stays the entrypoint for every agent, so a command's work is committed and pushed too.
    ...(session.agent === 'command' && session.command
      ? { [RUNNER_ENV.command]: JSON.stringify([...session.command, ...(session.args ?? [])]) }
      : {}),
  };
}

/**
 * The secret part of the runner's environment: the provider's environment, then the prompt and
 * the tokens. The provider's environment comes first so the fixed names can never be shadowed by
 * it (the resolver already refuses such names; this keeps the guarantee local).
 *
 * @throws Error when a repository has a credentialsSecretRef but no token was passed for it, since
 *   the clone would otherwise fail later with a less useful message.
 */
export function runnerSecretEnvironment(
  session: ResolvedSession,
  secrets: RunnerSecrets,
): Record<string, string> {
  const env: Record<string, string> = {
    ...(secrets.providerEnvironment ?? session.provider.environment ?? {}),
  };
  env[RUNNER_ENV.initialPrompt] = session.initialPrompt;
  if (secrets.providerToken !== undefined) env[RUNNER_ENV.providerToken] = secrets.providerToken;
  session.repos.forEach((repo, index) => {
    if (!repo.credentialsSecretRef) return;
    const token = secrets.repoTokens?.[repo.url];
    if (token === undefined) {
      throw new Error(
        `no git token given for ${repo.url}, which names credentialsSecretRef ${repo.credentialsSecretRef.name}`,
      );
    }
    env[gitTokenEnv(index)] = token;
  });
  return env;
}

/**
 * The runner's whole environment for one attempt.
 *
 * @throws Error when a repository's git token is missing from `secrets` (see
 *   {@link runnerSecretEnvironment}).
 */
export function runnerEnvironment(
  session: ResolvedSession,
  launch: RunnerLaunch,
  secrets: RunnerSecrets,
): RunnerEnvironment {
  return {
    plain: runnerPlainEnvironment(session, launch),
    secret: runnerSecretEnvironment(session, secrets),
  };
}
