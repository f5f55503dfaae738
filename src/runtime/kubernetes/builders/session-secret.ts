/**
 * Builds the session Secret: everything sensitive the runner needs, so the Job itself holds no
 * prompt, token or provider setting as a literal value. Its keys are environment variable names;
 * the runner container takes the whole Secret with `envFrom`, the clone step picks single git
 * tokens with `secretKeyRef`.
 *
 * The activity reads the tokens from the user's Secrets and passes their values in; the builder
 * writes them only into `stringData`, which the API server never returns on reads.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { childMetadata } from './session-metadata.js';
import { sessionObjectNames } from './session-names.js';

/** Fixed keys of the session Secret, each also the environment variable the runner sees. */
export const SESSION_SECRET_KEY = {
  /** The session's `spec.initialPrompt`. */
  initialPrompt: 'INITIAL_PROMPT',
  /** The provider's API token; the runner hands it to the agent in the agent's own variable. */
  providerToken: 'SHEPHERD_PROVIDER_TOKEN',
} as const;

/** The key of the git token for the repository at `index` in the resolved session's repos. */
export function gitTokenKey(index: number): string {
  return `SHEPHERD_GIT_TOKEN_${index}`;
}

/** Secret values the activity read from the user's Secrets. */
export interface SessionSecretValues {
  /** The provider's API token, when the provider has one. */
  providerToken?: string;
  /** Git tokens by repository URL, for the repositories with a credentialsSecretRef. */
  repoTokens?: Readonly<Record<string, string>>;
}

/**
 * The session Secret. Provider environment comes first so the fixed keys can never be shadowed by
 * it (the CRD already refuses such names; this keeps the guarantee local).
 *
 * @throws Error when a repository has a credentialsSecretRef but no token was passed for it, since
 *   the clone would otherwise fail later with a less useful message.
 */
export function buildSessionSecret(session: ResolvedSession, values: SessionSecretValues): V1Secret {
  const stringData: Record<string, string> = { ...session.provider.environment };
  stringData[SESSION_SECRET_KEY.initialPrompt] = session.initialPrompt;
  if (values.providerToken !== undefined) stringData[SESSION_SECRET_KEY.providerToken] = values.providerToken;
  session.repos.forEach((repo, index) => {
    if (!repo.credentialsSecretRef) return;
    const token = values.repoTokens?.[repo.url];
    if (token === undefined) {
      throw new Error(
        `no git token given for ${repo.url}, which names credentialsSecretRef ${repo.credentialsSecretRef.name}`,
      );
    }
    stringData[gitTokenKey(index)] = token;
  });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(session, sessionObjectNames(session.name).secret, 'session-secret'),
    type: 'Opaque',
    stringData,
  };
}
