/**
 * Errors of the session package. The class name becomes the Temporal failure type, so each names
 * one kind of problem; all of them are non-retryable, because retrying cannot fix a bad spec.
 */

/**
 * A session (or AgentConfig) field holds a value Shepherd cannot use. Thrown by `parseDuration`
 * and by session resolution; `field` is the path a user would look for, e.g. `spec.timeout`.
 */
export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpecError';

  /**
   * @param field The offending field, e.g. `spec.timeout`.
   * @param message What is wrong and how to fix it; it should name `field`.
   */
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The session's provider cannot be used: the AgentProvider is missing, not ready, or does not
 * serve the session's agent. Thrown by session resolution; the session ends
 * Failed/ProviderNotReady and nothing is created.
 */
export class ProviderNotReadyError extends Error {
  override readonly name = 'ProviderNotReadyError';
}

/**
 * The session asks for something its namespace's NamespacePolicy does not allow (or references a
 * Secret the policy does not mark usable). The session ends Failed/PolicyViolation before anything
 * is created; the message names the rule and the field.
 */
export class PolicyViolationError extends Error {
  override readonly name = 'PolicyViolationError';
}
