/**
 * Condition types and reasons of Shepherd's resources, and the helpers that maintain a
 * `status.conditions` list with the semantics of apimachinery's `meta.SetStatusCondition`. The
 * helpers are pure (the clock is an argument, inputs are never mutated) so the workflow, activities
 * and tests can all use them, and they report whether anything changed so status is written only
 * then.
 */
import type { Condition, ConditionStatus } from './types.js';

/** Condition types of an AgentSession, in the order a session normally passes through them. */
export const ConditionType = {
  /** The spec was validated and resolved against AgentConfig defaults and the provider. */
  Validated: 'Validated',
  /** The workspace exists: a PersistentVolumeClaim (True once it is bound), or a directory locally. */
  PVCReady: 'PVCReady',
  /** The session Secret, ServiceAccount, Role and RoleBinding exist (locally: every secret is set). */
  SecretsReady: 'SecretsReady',
  /** The runner of the current attempt was created: its Job, or locally its process. */
  JobCreated: 'JobCreated',
  /** The runner of the current attempt has started; the message names its pod (or process). */
  RunnerStarted: 'RunnerStarted',
  /**
   * Every repository's outcome is recorded in `status.reconciledRepos`; for now that record is the
   * runner's own report of what it pushed.
   */
  ReposReconciled: 'ReposReconciled',
  /**
   * The session is progressing normally: True while the runner works; False while provisioning
   * (InProgress), before a retry (Retrying) and once finished (the final reason).
   */
  Ready: 'Ready',
  /** The session finished successfully (True) or finished otherwise (False). */
  Completed: 'Completed',
  /** The session finished unsuccessfully; the reason says why and the message what to do. */
  Failed: 'Failed',
  /**
   * Set only for a session under a NamespacePolicy budget whose runner reported tokens but no
   * cost, for a model the price table does not know: False/Unpriced, as its spending cannot be
   * held to the caps.
   */
  BudgetTracked: 'BudgetTracked',
} as const;

/** One of the AgentSession condition types. */
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Condition types of an AgentProvider. */
export const ProviderConditionType = {
  /** The token Secret exists and holds the key (or the provider needs no token). */
  Ready: 'Ready',
} as const;

/**
 * Reasons for conditions. Each is a CamelCase constant, as the CRD's reason pattern requires, and
 * means the same thing on every condition that uses it.
 */
export const Reason = {
  /** The session spec passed validation and was resolved. Used on Validated=True. */
  Resolved: 'Resolved',
  /** The spec is invalid or contradicts itself in a way the CRD could not catch. Validated=False, Failed=True. */
  InvalidSpec: 'InvalidSpec',
  /** The referenced AgentProvider is missing, not ready, or does not serve the agent. Validated=False, Failed=True. */
  ProviderNotReady: 'ProviderNotReady',
  /**
   * The session asks for something its namespace's NamespacePolicy does not allow, or references
   * a Secret the policy does not mark usable; the message names the rule and the field. Nothing
   * is created. Validated=False (or SecretsReady=False), Failed=True.
   */
  PolicyViolation: 'PolicyViolation',
  /**
   * A Secret the session needs — the provider's token or a repository's credentialsSecretRef — is
   * missing or lacks its key. SecretsReady=False, Failed=True.
   */
  CredentialsNotFound: 'CredentialsNotFound',
  /** A step is under way (creating an object, waiting for a pod). Used with status Unknown or False. */
  InProgress: 'InProgress',
  /** The workspace claim is bound to a volume. PVCReady=True. */
  Bound: 'Bound',
  /**
   * Waiting: the workspace claim is not bound yet (PVCReady=False), or the runner of the attempt
   * has not started yet (RunnerStarted=False).
   */
  Pending: 'Pending',
  /** The runner of an attempt was created. JobCreated=True. */
  Created: 'Created',
  /** The runner container is running. RunnerStarted=True. */
  Started: 'Started',
  /** The session is provisioning or running as expected. Ready=True. */
  Progressing: 'Progressing',
  /** The runner exited 0 (and the repositories were reconciled). Completed=True. */
  Succeeded: 'Succeeded',
  /** The runner exited non-zero (1, or a code other than 2) and no retry is left. Failed=True. */
  RunnerExit: 'RunnerExit',
  /** The runner exited 2: a prerequisite was missing. Never retried. Failed=True. */
  PrerequisiteFailed: 'PrerequisiteFailed',
  /** The runner was killed for exceeding its memory limit. Not retried. Failed=True. */
  OOMKilled: 'OOMKilled',
  /** The runner image could not be pulled (ImagePullBackOff, ErrImagePull, InvalidImageName). Never retried. Failed=True. */
  ImagePullBackOff: 'ImagePullBackOff',
  /** The runner container could not be created from its configuration (e.g. a referenced Secret key is missing). Failed=True. */
  ContainerConfigError: 'ContainerConfigError',
  /** The runner pod was evicted from its node (node pressure, drain, preemption). Retried like exit 1. */
  Evicted: 'Evicted',
  /** The runner pod disappeared without reporting an exit (deleted, node lost). Retried like exit 1. */
  RunnerLost: 'RunnerLost',
  /** The Job's activeDeadlineSeconds (the session timeout) ended the attempt. Phase TimedOut. */
  DeadlineExceeded: 'DeadlineExceeded',
  /** The workflow's own timer for the session timeout fired and deleted the Job. Phase TimedOut. */
  TimedOut: 'TimedOut',
  /** The user stopped the session (stop signal, API call or desiredState Stopped). Phase Stopped. */
  UserStopped: 'UserStopped',
  /** A new attempt is starting after a retryable failure; the message names the failure. */
  Retrying: 'Retrying',
  /** Creating or checking child objects failed for a reason the workflow could not recover from. Failed=True. */
  ProvisioningFailed: 'ProvisioningFailed',
  /**
   * An object the session would create already exists and is not owned by this AgentSession; the
   * message names it. Nothing of it is used or deleted. Failed=True.
   */
  ObjectConflict: 'ObjectConflict',
  /**
   * The runtime refused an object of the session (an invalid field, admission such as Pod
   * Security, a ResourceQuota); the message is the API server's own. Never retried. Failed=True.
   */
  Rejected: 'Rejected',
  /**
   * The namespace's policy restricts the runner's egress and a host the runner must reach has no
   * CIDRs in the worker's egress settings (SHEPHERD_EGRESS_HOSTS); the message names the host.
   * Never retried. SecretsReady=False, Failed=True.
   */
  EgressHostUnknown: 'EgressHostUnknown',
  /**
   * The AgentSession refused a status holding what the runner reported (a value its schema does
   * not allow); the status was written without it. ReposReconciled=False.
   */
  StatusRejected: 'StatusRejected',
  /**
   * The session was created (or edited before it ever ran) with desiredState Stopped: nothing was
   * started. Phase Stopped, Ready=False; setting desiredState to Running starts it.
   */
  Held: 'Held',
  /**
   * The session's workflow was terminated in Temporal (`temporal workflow terminate`) before it
   * wrote a final status; the controller noticed and wrote this one. Its runner may have been
   * left to the garbage collector. Failed=True.
   */
  WorkflowTerminated: 'WorkflowTerminated',
  /**
   * The session's workflow ran past a Temporal workflow execution or run timeout before it wrote
   * a final status; the controller noticed and wrote this one. Failed=True.
   */
  WorkflowTimedOut: 'WorkflowTimedOut',
  /**
   * The session's workflow closed without a final status for another reason (cancelled in
   * Temporal, failed, or its history is gone); the controller noticed and wrote this one.
   * Failed=True.
   */
  WorkflowClosed: 'WorkflowClosed',
  /** Every repository was pushed or had no changes, as the runner reported. ReposReconciled=True. */
  Reconciled: 'Reconciled',
  /** A repository was not pushed, or the runner reported nothing for it. ReposReconciled=False. */
  PushMissing: 'PushMissing',
  /**
   * A pushed output branch is not on its forge at the commit the runner reported: the work is not
   * where the session says it is. ReposReconciled=False, Failed=True.
   */
  PushNotFound: 'PushNotFound',
  /**
   * The forge refused a pull request, or could not be reached within the retries; the branch is
   * pushed and nothing is lost. ReposReconciled=False; the session still Succeeded.
   */
  PullRequestFailed: 'PullRequestFailed',
  /**
   * A Secret exists and holds its key: AgentProvider Ready=True; on a session, SecretsReady=True
   * (every Secret it needs was found and the runner's secrets and identity are in place).
   */
  SecretFound: 'SecretFound',
  /** AgentProvider: the token Secret does not exist. Ready=False. */
  SecretNotFound: 'SecretNotFound',
  /** AgentProvider: the token Secret exists but lacks the key. Ready=False. */
  SecretKeyMissing: 'SecretKeyMissing',
  /**
   * A conversation's turn finished and the session waits for the next prompt: phase Idle,
   * Ready=True. The Job and Secrets are gone; the workspace is kept.
   */
  TurnFinished: 'TurnFinished',
  /** The agent asked a question and waits for the answer: phase WaitingForInput, Ready=True. */
  QuestionAsked: 'QuestionAsked',
  /** An idle conversation got no prompt within spec.conversation.inactivityTimeout. Phase Succeeded. */
  Inactive: 'Inactive',
  /** The session's pull request was merged or closed while the conversation was idle. Phase Succeeded. */
  PullRequestClosed: 'PullRequestClosed',
  /**
   * The namespace's sessions hold every slot its NamespacePolicy's maxConcurrentSessions allows:
   * phase Queued, Ready=False; the message gives the session's place in the queue.
   */
  Queued: 'Queued',
  /**
   * The session or the namespace reached a budget cap of its NamespacePolicy: phase
   * WaitingForApproval (Ready=False) until an approve with a higher cap, or, when the policy says
   * Stop or no approval comes, phase Failed.
   */
  BudgetExceeded: 'BudgetExceeded',
  /**
   * A runner reported tokens and no cost, and the price table has no price for the model: its
   * spending is not counted against the budgets (its tokens are). BudgetTracked=False.
   */
  Unpriced: 'Unpriced',
} as const;

/** One of the documented reasons. */
export type Reason = (typeof Reason)[keyof typeof Reason];

/** The longest message the CRDs accept (metav1.Condition's limit). */
export const MAX_CONDITION_MESSAGE_LENGTH = 32768;

/** The condition to set; `lastTransitionTime` is computed. */
export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Result of `setStatusCondition`. */
export interface SetConditionResult {
  /** The resulting list, always a new array: the input is never mutated. */
  conditions: Condition[];
  /** Whether anything differs from the input, i.e. whether status needs writing. */
  changed: boolean;
}

/**
 * Formats a time as metav1.Time serialises it: RFC 3339 in UTC with second precision. Comparing
 * stored and fresh timestamps only works when both are in this form.
 */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Cuts a message to the CRD's limit without splitting a UTF-16 surrogate pair, since a dangling
 * half would make the JSON the API server receives invalid.
 */
export function capMessage(message: string): string {
  if (message.length <= MAX_CONDITION_MESSAGE_LENGTH) return message;
  let cut = MAX_CONDITION_MESSAGE_LENGTH;
  const last = message.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return message.slice(0, cut);
}

/**
 * Sets a condition in a list with apimachinery `SetStatusCondition` semantics: the condition is
 * added if its type is absent; otherwise status, reason, message and observedGeneration are
 * updated, and `lastTransitionTime` moves to `now` only when the status changes. The input list is
 * never mutated.
 */
export function setStatusCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): SetConditionResult {
  const current = conditions ?? [];
  const message = capMessage(input.message);
  const index = current.findIndex((condition) => condition.type === input.type);
  if (index < 0) {
    const added: Condition = {
      type: input.type,
      status: input.status,
      ...(input.observedGeneration === undefined ? {} : { observedGeneration: input.observedGeneration }),
      lastTransitionTime: formatTime(now),
      reason: input.reason,
      message,
    };
    return { conditions: [...current, added], changed: true };
  }

  const existing = current[index] as Condition;
  const updated: Condition = {
    ...existing,
    status: input.status,
    reason: input.reason,
    message,
    lastTransitionTime: existing.status === input.status ? existing.lastTransitionTime : formatTime(now),
  };
  if (input.observedGeneration !== undefined) updated.observedGeneration = input.observedGeneration;

  const changed =
    existing.status !== updated.status ||
    existing.reason !== updated.reason ||
    existing.message !== updated.message ||
    existing.observedGeneration !== updated.observedGeneration;
  if (!changed) return { conditions: [...current], changed: false };
  return { conditions: current.map((condition, i) => (i === index ? updated : condition)), changed: true };
}

/** Returns the condition of the given type, if present. */
export function findStatusCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/** Whether the condition of the given type is present with status True. */
export function isStatusConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findStatusCondition(conditions, type)?.status === 'True';
}

/** Removes the condition of the given type; `changed` says whether it was there. */
export function removeStatusCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): SetConditionResult {
  const current = conditions ?? [];
  const kept = current.filter((condition) => condition.type !== type);
  return { conditions: kept, changed: kept.length !== current.length };
}
