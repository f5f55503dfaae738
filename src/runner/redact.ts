/**
 * Keeps secrets out of everything the runner writes: the session log (its stdout and stderr, which
 * `kubectl logs` and the API's log stream show to anyone who may read the session) and the result.
 * Tokens reach the runner only through its environment; this replaces their values wherever an
 * agent or git echoes them back.
 */
import { RUNNER_ENV } from '../runner-contract/variables.js';
import type { RunnerRepo } from '../runner-contract/repos.js';

const REDACTED = '[redacted]';

// Short values would redact ordinary words; real tokens are far longer.
const MIN_SECRET_LENGTH = 8;

// Variables that conventionally hold credentials, e.g. a provider's environment passing
// ANTHROPIC_AUTH_TOKEN or OPENAI_API_KEY straight to the agent.
const SECRET_NAME = /(TOKEN|API_KEY|SECRET|PASSWORD)/i;

/** Replaces known secret values in text. */
export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | undefined>) {
    const unique = new Set<string>();
    for (const secret of secrets) {
      if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) unique.add(secret);
    }
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...unique].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.replaceAll(secret, REDACTED);
    return result;
  }
}

/** The secret values in the runner's environment: provider and git tokens, and credential-like variables. */
export function secretsInEnvironment(env: NodeJS.ProcessEnv, repos: readonly RunnerRepo[]): string[] {
  const names = new Set<string>([RUNNER_ENV.providerToken]);
  for (const repo of repos) if (repo.tokenEnv) names.add(repo.tokenEnv);
  for (const name of Object.keys(env)) if (SECRET_NAME.test(name)) names.add(name);
  return [...names].flatMap((name) => {
    const value = env[name];
    return value === undefined ? [] : [value];
  });
}
