/**
 * The resolved session: an AgentSession with every default applied (AgentConfig, provider,
 * built-in defaults) and every duration parsed, so the builders and the workflow never look at
 * defaults again. It is plain JSON, fit for a workflow's state and activity payloads, and holds
 * no secret values: Secrets by reference, the provider's environment by variable name.
 */
import type {
  PolicyBudget,
  PolicyEgress,
  AgentType,
  EnvVar,
  PullRequestSpec,
  ResourceRequirements,
  SecretKeyRef,
  Toleration,
  TriggerSpec,
} from '../resources/types.js';

/** One repository, defaults applied. */
export interface ResolvedRepo {
  url: string;
  /** The base branch; absent means the remote's default branch. */
  branch?: string;
  /** Where the work is pushed; `shepherd/<session name>` unless the spec says otherwise. */
  outputBranch: string;
  commit?: string;
  /** The user's Secret key with the git token; copied into the session Secret. */
  credentialsSecretRef?: SecretKeyRef;
  autoPush: boolean;
  /** The clone's directory under /workspace, unique among the session's repositories. */
  dir: string;
}

/** The provider the agent uses, from an AgentProvider or the inline `spec.provider`. */
export interface ResolvedProvider {
  /** The AgentProvider's name; absent for an inline provider or none at all. */
  name?: string;
  /** The Secret key holding the API token; absent when the provider needs none. */
  authTokenSecretRef?: SecretKeyRef;
  /**
   * The names of the provider's extra environment variables for the agent. Their values are not
   * here: this object travels in Temporal payloads, so the Kubernetes runtime reads the values
   * from the provider when it writes the session Secret, and the Job takes them from there.
   * Absent in sessions resolved by older workers, which carried `environment` instead.
   */
  environmentNames?: string[];
  /**
   * The provider's environment with its values: only in sessions resolved by older workers, and
   * in the local runtime, whose workflow input (the spec) is the session's only record and carries
   * them anyway.
   */
  environment?: Record<string, string>;
}

/** The workspace volume, defaults applied. */
export interface ResolvedWorkspace {
  /** A quantity such as `10Gi`. */
  size: string;
  /** Absent means the cluster's default StorageClass. */
  storageClass?: string;
  retain: boolean;
}

/** An AgentSession ready to be built into Kubernetes objects. */
export interface ResolvedSession {
  namespace: string;
  name: string;
  /** The AgentSession's uid, for ownerReferences. */
  uid: string;
  /** The metadata.generation the session was resolved from, for observedGeneration. */
  generation: number;
  agent: AgentType;
  /** Only for agent `command`: replaces the image's entrypoint. */
  command?: string[];
  /** Only for agent `command`. */
  args?: string[];
  /** The task; empty for a `command` agent given none. */
  initialPrompt: string;
  repos: ResolvedRepo[];
  provider: ResolvedProvider;
  model?: string;
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** Extra attempts after a retryable failure. */
  retries: number;
  workspace: ResolvedWorkspace;
  image: string;
  /** The AgentConfig's pull secrets for the runner pod (absent when none, and in sessions of older workers). */
  imagePullSecrets?: string[];
  /** AgentConfig env merged with the session's (the session's entry wins by name). */
  env: EnvVar[];
  resources?: ResourceRequirements;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  podMetadata: { labels: Record<string, string>; annotations: Record<string, string> };
  /** The pull request settings, as the spec gives them (absent in sessions of older workers). */
  pullRequest?: PullRequestSpec;
  /** Where the session came from, for feedback (absent in sessions of older workers). */
  trigger?: TriggerSpec;
  /** Whether the session stays open for more turns (absent in sessions of older workers: it does not). */
  conversation?: ResolvedConversation;
  /**
   * The conversation turn this runner works on, set by the workflow from turn 2 on (then
   * `initialPrompt` is that turn's prompt). Absent means turn 1.
   */
  turn?: number;
  /**
   * What the namespace's policy asks of the session beyond validation (absent in sessions of older
   * workers, and when the policy sets none of it).
   */
  policy?: ResolvedPolicy;
}

/** The parts of the NamespacePolicy that act while the session runs. */
export interface ResolvedPolicy {
  /** Labels a Secret must carry before the worker reads it for this session. */
  usableSecretLabels?: Record<string, string>;
  /** Tools passed to the agent. */
  tools?: { allowed?: string[]; denied?: string[] };
  /** Whether the runner pod gets the egress NetworkPolicy, and what it allows beyond the defaults. */
  egress?: PolicyEgress;
  /** How many sessions of the namespace may run a turn at once. */
  maxConcurrentSessions?: number;
  budget?: PolicyBudget;
  /**
   * What the runner about to launch may still spend in USD, under the session's and the
   * namespace's caps: set by the workflow before each launch (absent: the whole perSessionUsd).
   */
  budgetLeftUsd?: number;
}

/** `spec.conversation` with its defaults applied. */
export interface ResolvedConversation {
  stopOnTurnFinished: boolean;
  /** How long an idle session waits for its next prompt, in milliseconds. */
  inactivityTimeoutMs: number;
}
