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

/**
 * An object the session would create (ServiceAccount, Role, RoleBinding, Secret, PVC, Job,
 * NetworkPolicy) already exists under its name but is not controlled by this AgentSession (no
 * controller ownerReference to its uid). The session never adopts, runs as or deletes such an object: it ends
 * Failed/ObjectConflict, and the message names the object's kind and name and what to do.
 */
export class ObjectConflictError extends Error {
  override readonly name = 'ObjectConflictError';
}

/**
 * An object under a child's name is still controlled by a deleted AgentSession of the same name:
 * the garbage collector removes it shortly (a PVC waits for the old runner's pod to go first).
 * Retryable, so a session created again right after a delete waits for the name to be free; a
 * session whose provisioning budget runs out on it ends Failed/ObjectConflict with this message.
 */
export class ObjectPendingRemovalError extends Error {
  override readonly name = 'ObjectPendingRemovalError';
  /** The conflict message, for a run that turns out to be the earlier session's own. */
  readonly conflict: string;

  constructor(message: string, conflict: string) {
    super(message);
    this.conflict = conflict;
  }
}

/**
 * The runtime refused an object of the session for a reason retrying cannot fix: a Kubernetes
 * 4xx answer other than a conflict or throttling (invalid field, forbidden, admission or quota
 * refusal). The session ends Failed/Rejected; the message carries the API server's own message,
 * which names the field.
 */
export class RejectedError extends Error {
  override readonly name = 'RejectedError';
}

/**
 * The AgentSession's status subresource refused a status this session wrote (HTTP 422 on its own
 * uid): a bug or an oversized value, never fixed by writing the same status again.
 */
export class StatusRejectedError extends Error {
  override readonly name = 'StatusRejectedError';
}

/**
 * The namespace's policy restricts the runner's egress, and a host the runner must reach (the
 * model endpoint, a repository's forge, the pull request's forge) has no CIDRs in the worker's
 * SHEPHERD_EGRESS_HOSTS (chart value `egress.hosts`). A NetworkPolicy holds addresses, never host
 * names, so the runner would be cut off from it and fail later with a timeout that names nothing.
 * Thrown by `provisionSecrets` before any object is made; the session ends
 * Failed/EgressHostUnknown and the message names the host and the setting to add it to.
 */
export class EgressHostUnknownError extends Error {
  override readonly name = 'EgressHostUnknownError';
}
