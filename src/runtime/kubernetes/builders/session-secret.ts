/**
 * Builds the session Secret: the secret part of the runner's environment (see
 * runner-contract/environment.ts), so the Job itself holds no prompt, token or provider setting as
 * a literal value. Its keys are environment variable names; the runner container takes the whole
 * Secret with `envFrom`, the clone step picks single git tokens with `secretKeyRef`.
 *
 * The activity reads the tokens from the user's Secrets and passes their values in; the builder
 * writes them only into `stringData`, which the API server never returns on reads.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { type RunnerSecrets, runnerSecretEnvironment } from '../../../runner-contract/environment.js';
import { childMetadata } from './session-metadata.js';
import { sessionObjectNames } from './session-names.js';

/**
 * The session Secret.
 *
 * @throws Error when a repository has a credentialsSecretRef but no token was passed for it.
 */
export function buildSessionSecret(session: ResolvedSession, values: RunnerSecrets): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(session, sessionObjectNames(session.name).secret, 'session-secret'),
    type: 'Opaque',
    stringData: runnerSecretEnvironment(session, values),
  };
}
