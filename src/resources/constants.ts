/**
 * Names that identify Shepherd's custom resources and the objects it creates for them: the API
 * group and version, the plural resource names used in REST paths, and the label keys that tie a
 * child object to its session. Shepherd uses no finalizers: ownerReferences let the garbage
 * collector delete a session's children, so deleting an AgentSession never hangs on a worker.
 */

/** The API group of every Shepherd resource. */
export const GROUP = 'shepherd.dev';

/** The only served version of the Shepherd resources. */
export const VERSION = 'v1alpha1';

/** `apiVersion` as written in objects: `shepherd.dev/v1alpha1`. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Kinds of the Shepherd resources. */
export const KIND = {
  agentSession: 'AgentSession',
  agentProvider: 'AgentProvider',
  agentConfig: 'AgentConfig',
  agentTrigger: 'AgentTrigger',
  namespacePolicy: 'NamespacePolicy',
} as const;

/** Plural resource names, as used in REST paths, RBAC rules and `CustomObjectsApi` calls. */
export const PLURAL = {
  agentSession: 'agentsessions',
  agentProvider: 'agentproviders',
  agentConfig: 'agentconfigs',
  agentTrigger: 'agenttriggers',
  namespacePolicy: 'namespacepolicies',
} as const;

/** The one AgentConfig per namespace that Shepherd reads; the CRD refuses any other name. */
export const AGENT_CONFIG_NAME = 'default';

/** The one NamespacePolicy per namespace that Shepherd reads; the CRD refuses any other name. */
export const NAMESPACE_POLICY_NAME = 'default';

/** The label a Secret carries to be usable by sessions under the chart's default policy. */
export const USABLE_SECRET_LABEL = 'shepherd.dev/usable';

/**
 * Label on every child object (and the runner pod) naming its AgentSession. The value is the
 * session's name, or a shortened, hashed form when the name is longer than a label value may be
 * (see `sessionLabelValue`). Select a session's children with it.
 */
export const SESSION_LABEL = 'shepherd.dev/session';

/** Label on the Job and the runner pod with the attempt number, so attempts can be told apart. */
export const ATTEMPT_LABEL = 'shepherd.dev/attempt';

/** Standard label marking objects Shepherd created; its value is `MANAGED_BY_VALUE`. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** Value of `MANAGED_BY_LABEL` on Shepherd's objects. */
export const MANAGED_BY_VALUE = 'shepherd';

/** Standard label saying which part of a session an object is (workspace, secret, runner). */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/**
 * Annotation with the session's full name, on every child object. The label value may be a
 * shortened form; this annotation never is.
 */
export const SESSION_NAME_ANNOTATION = 'shepherd.dev/session-name';

/**
 * Annotation on an AgentSession recording that `spec.desiredState: Stopped` was asked for, with
 * the generation it was seen at. Written by the controller (and by the API's stop and restart),
 * removed once the session was restarted; while it is there, desiredState Running at a later
 * generation means "restart". A stop by signal or a spec edit leaves no such record, so neither
 * ever restarts a session.
 */
export const STOP_REQUESTED_ANNOTATION = 'shepherd.dev/stop-requested-generation';

/** Label and annotation keys under this prefix belong to Shepherd; users may not set them. */
export const RESERVED_PREFIX = 'shepherd.dev/';

/**
 * Annotation a `kubectl` user sets on an AgentSession to send it a prompt: the value is the text
 * for the session's next turn (or the answer to its question). The controller sends it to the
 * session's workflow (source `kubectl`) and removes it once the workflow took or refused it; a
 * refusal is left in {@link PROMPT_REFUSED_ANNOTATION}. The one `shepherd.dev/` key users write.
 */
export const PROMPT_ANNOTATION = 'shepherd.dev/prompt';

/**
 * Annotation the controller writes while it sends the prompt of {@link PROMPT_ANNOTATION}: which
 * prompt (its hash), the id of the Update that carries it, which controller replica sends it and
 * since when. Written with a resourceVersion precondition, so one replica sends a prompt, and the
 * Update id makes sending it again (after a crash) return the first answer instead of a new turn.
 */
export const PROMPT_CLAIM_ANNOTATION = 'shepherd.dev/prompt-claim';

/**
 * Annotation with why the session refused the last prompt sent through {@link PROMPT_ANNOTATION}
 * (finished, running a turn, …). Removed when a later prompt is taken.
 */
export const PROMPT_REFUSED_ANNOTATION = 'shepherd.dev/prompt-refused';
