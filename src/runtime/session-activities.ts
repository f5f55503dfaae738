/**
 * The activities the session workflow calls, as one interface with two implementations: the
 * Kubernetes runtime (PVC, Secret, Job) and the local runtime (directory, environment,
 * process). The workflow imports only this type. Every activity is idempotent: names are
 * deterministic, an object that already exists is adopted only when the session owns it
 * (ObjectConflictError otherwise), "not found" on delete is success, and only owned objects are
 * deleted. A refusal by the runtime is RejectedError: neither is worth retrying.
 */
import type { AgentSessionSpec, AgentSessionStatus, TurnStatus } from '../resources/types.js';
import type { RunnerTermination } from '../session/exit-outcome.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import type { RunnerEvent } from '../workflows/session-contract.js';

/** Which session an activity acts on. */
export interface SessionRef {
  namespace: string;
  name: string;
  /** The AgentSession's uid; an activity never acts on a CR with another uid. */
  uid?: string;
}

/** What `loadSession` reads: the session, and for the local runtime its spec, which has no CR. */
export interface LoadSessionInput extends SessionRef {
  spec?: AgentSessionSpec;
  labels?: Record<string, string>;
  /** The previous run's last attempt, when the runtime keeps no status of its own. */
  previousAttempt?: number;
  /** The previous run's turns, likewise. */
  previousTurns?: TurnStatus[];
}

/** What `loadSession` found. */
export interface LoadedSession {
  session: ResolvedSession;
  /** The last attempt an earlier run recorded, 0 for a new session. */
  previousAttempt: number;
  /** The turns an earlier run of a conversation recorded, which a restart goes on from. */
  previousTurns?: TurnStatus[];
}

/** The workspace once provisioned. */
export interface WorkspaceInfo {
  /** PVC name (or directory, locally). */
  name: string;
  /**
   * `Bound`; `WaitForFirstConsumer` when binding waits for the pod; `Pending` when it is not
   * bound yet (the runner's pod waits for it).
   */
  reason: string;
  /**
   * What the workspace is, for status messages: `PVC <name>`, `directory <path>`. Absent in the
   * results recorded by older workers.
   */
  description?: string;
}

/** The runner's Job (or process) for one attempt. */
export interface RunnerLaunch {
  /** Job name (or pid file, locally). */
  name: string;
  /** False when an earlier try of this activity had already created it. */
  created: boolean;
  /**
   * What the runner is, for status messages: `Job <name>`, `process <pid>`. Absent in the results
   * recorded by older workers.
   */
  description?: string;
}

/** What `stopRunner` saw of the runner it stopped. */
export interface StoppedRunner {
  /** How the runner ended, with the result it wrote on the way out, when that was seen. */
  termination?: RunnerTermination;
}

/** The activities of the session workflow. */
export interface SessionActivities {
  /**
   * Reads the session, its AgentConfig and provider, and resolves every default.
   * @throws InvalidSpecError, ProviderNotReadyError (non-retryable) for a bad or unready spec;
   *   SessionGoneError when the session no longer exists (or has another uid).
   */
  loadSession(input: LoadSessionInput): Promise<LoadedSession>;
  /**
   * Creates (or adopts its own) workspace and waits briefly for it to be bound.
   * @throws ObjectConflictError, RejectedError (non-retryable).
   */
  provisionWorkspace(session: ResolvedSession): Promise<WorkspaceInfo>;
  /**
   * Creates (or updates) the per-session Secret from the provider's and repositories' Secrets, and
   * the runner's ServiceAccount, Role and RoleBinding, and, when the namespace's policy restricts
   * egress, the runner pods' NetworkPolicy. Secret values never leave the activity.
   * @throws CredentialsNotFoundError (non-retryable) when a referenced Secret or key is missing.
   * @throws EgressHostUnknownError (non-retryable) when a host the runner must reach has no CIDRs
   *   in the worker's egress settings.
   */
  provisionSecrets(session: ResolvedSession): Promise<void>;
  /**
   * Creates (or adopts its own) runner Job of `attempt`.
   * @throws ObjectConflictError, RejectedError (non-retryable).
   */
  launchRunner(input: { session: ResolvedSession; attempt: number }): Promise<RunnerLaunch>;
  /**
   * Level-triggered check of the runner of `attempt`: what the Job and pod show now. The safety
   * net behind the watcher's signals. Empty while nothing has happened yet.
   */
  observeRunner(input: { session: SessionRef; attempt: number }): Promise<RunnerEvent[]>;
  /**
   * Deletes the runner Job of `attempt` and waits until its pod is gone (stop, timeout, restart,
   * before a retry), heartbeating meanwhile; returns what it saw of the runner's end. Workers from
   * before this returned nothing.
   */
  stopRunner(input: { session: SessionRef; attempt: number }): Promise<StoppedRunner | void>;
  /** Deletes the Jobs, Secrets, runner identity and egress policy (and the workspace when `deleteWorkspace`). */
  cleanup(input: { session: SessionRef; attempts: number[]; deleteWorkspace: boolean }): Promise<void>;
  /**
   * Writes `status` into the AgentSession's status subresource when it differs from what is
   * there. Returns whether it wrote. A session that is gone is not an error.
   */
  mirrorStatus(input: { session: SessionRef; status: AgentSessionStatus }): Promise<boolean>;
}
