/**
 * Errors the session activities throw. The class name becomes the Temporal failure type, which
 * the workflow lists as non-retryable: retrying cannot bring back a deleted session or create a
 * user's missing Secret. (Spec errors are InvalidSpecError and ProviderNotReadyError from
 * src/session/errors.ts.)
 */

/**
 * The AgentSession no longer exists, or exists with another uid (deleted and created again).
 * Thrown by `loadSession`; the workflow run ends quietly, since there is nobody to report to.
 */
export class SessionGoneError extends Error {
  override readonly name = 'SessionGoneError';
}

/**
 * A Secret the session needs (the provider's token, a repository's credentials) or its key is
 * missing. Thrown by `provisionSecrets`; the session ends Failed/CredentialsNotFound. The message
 * names the Secret and key, never a value.
 */
export class CredentialsNotFoundError extends Error {
  override readonly name = 'CredentialsNotFoundError';
}
