/**
 * TypeScript shapes of the Shepherd custom resources, matching the CRDs in
 * charts/shepherd/files/crds/ field for field. Objects read through the Kubernetes API arrive as
 * plain JSON, so timestamps are RFC 3339 strings, not Dates. Field documentation lives in the CRDs
 * (`kubectl explain agentsession.spec`); comments here say only what the type system cannot.
 */

/** Object metadata as Shepherd reads it from its own resources. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The agents Shepherd can run. `command` runs `spec.command` / `spec.args` as given. */
export type AgentType = 'claude' | 'opencode' | 'command';

/** Every agent type, in the order the CRD lists them. */
export const AGENT_TYPES: readonly AgentType[] = ['claude', 'opencode', 'command'];

/** The user's intent for a session, kept apart from the observed `Phase`. */
export type DesiredState = 'Running' | 'Stopped';

/**
 * Where a session is in its lifecycle: Pending → Provisioning → Running → Succeeded | Failed |
 * TimedOut, or Stopping → Stopped after a stop. A conversation is `Idle` between turns and
 * `WaitingForInput` while the agent's question waits for an answer. A session held back by its
 * NamespacePolicy's concurrency limit is `Queued`; one that reached a budget cap waits
 * `WaitingForApproval`.
 */
export type Phase =
  | 'Pending'
  | 'Queued'
  | 'Provisioning'
  | 'Running'
  | 'Idle'
  | 'WaitingForInput'
  | 'WaitingForApproval'
  | 'Succeeded'
  | 'Failed'
  | 'TimedOut'
  | 'Stopping'
  | 'Stopped';

/** The status of a condition, as in metav1.ConditionStatus. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A status condition in the metav1.Condition shape. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339, second precision, as metav1.Time serialises it. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** A key of a Secret in the same namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** Git credentials for one repository; `key` defaults to `token` in the CRD. */
export interface CredentialsSecretRef {
  name: string;
  key?: string;
}

/** One repository in `spec.repos`. */
export interface RepoSpec {
  url: string;
  branch?: string;
  outputBranch?: string;
  commit?: string;
  credentialsSecretRef?: CredentialsSecretRef;
  /** Defaults to true in the CRD. */
  autoPush?: boolean;
}

/** A reference to an AgentProvider in the same namespace. */
export interface ProviderRef {
  name: string;
}

/** A provider described inline in a session (mutually exclusive with `providerRef`). */
export interface InlineProvider {
  authTokenSecretRef?: SecretKeyRef;
  environment?: Record<string, string>;
}

/** Where an environment variable's value comes from, when it is not literal. */
export interface EnvVarSource {
  secretKeyRef?: { name: string; key: string; optional?: boolean };
  configMapKeyRef?: { name: string; key: string; optional?: boolean };
}

/** One environment variable in `spec.env` (session or AgentConfig). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
}

/** A resource quantity; the CRD accepts integers as well as strings such as `500m` or `4Gi`. */
export type Quantity = string | number;

/** CPU and memory for the runner. */
export interface ResourceRequirements {
  limits?: Record<string, Quantity>;
  requests?: Record<string, Quantity>;
}

/** A toleration, as in a pod spec. */
export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** Labels and annotations copied onto the runner pod. */
export interface PodMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The session's workspace volume. */
export interface WorkspaceSpec {
  size?: string;
  storageClass?: string;
  /** Defaults to false in the CRD. */
  retain?: boolean;
}

/** Where a session came from, for feedback to that source. */
export interface TriggerSpec {
  /** The AgentTrigger (same namespace) whose feedback settings and credentials report back. */
  name?: string;
  source?: string;
  url?: string;
  ids?: Record<string, string>;
}

/** The kinds of forge Shepherd opens pull requests on. */
export type ForgeType = 'github' | 'gitea';

/** A forge by kind and web address. */
export interface ForgeRef {
  type: ForgeType;
  url: string;
}

/** `spec.pullRequest`: the pull request opened for each changed repository. */
export interface PullRequestSpec {
  /** Defaults to true when the repository is on a known forge. */
  enabled?: boolean;
  draft?: boolean;
  title?: string;
  labels?: string[];
  forge?: ForgeRef;
}

/** `spec.conversation`: whether the session waits for further prompts after a turn. */
export interface ConversationSpec {
  /**
   * End the session when a turn finishes. Defaults to true, except for sessions a trigger started
   * (a forge, Jira or Slack), where people reply on the source.
   */
  stopOnTurnFinished?: boolean;
  /** How long an idle session waits for its next prompt (a duration; default 24h). */
  inactivityTimeout?: string;
}

/** `AgentSession.spec`. */
export interface AgentSessionSpec {
  agent?: AgentType;
  command?: string[];
  args?: string[];
  initialPrompt?: string;
  repos?: RepoSpec[];
  providerRef?: ProviderRef;
  provider?: InlineProvider;
  model?: string;
  /** A duration such as `1h30m`; parse with `parseDuration`. */
  timeout?: string;
  /** Defaults to 0 in the CRD. */
  retries?: number;
  /** Defaults to `Running` in the CRD. */
  desiredState?: DesiredState;
  workspace?: WorkspaceSpec;
  image?: string;
  env?: EnvVar[];
  resources?: ResourceRequirements;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  podMetadata?: PodMetadata;
  trigger?: TriggerSpec;
  pullRequest?: PullRequestSpec;
  conversation?: ConversationSpec;
}

/** What happened to one repository after the agent ran. */
export type ReconciledRepoStatus = 'Pending' | 'Pushed' | 'NoChanges' | 'NotPushed' | 'Failed';

/** One entry of `status.reconciledRepos`. */
export interface ReconciledRepo {
  url: string;
  branch?: string;
  commit?: string;
  pullRequestUrl?: string;
  status?: ReconciledRepoStatus;
  message?: string;
}

/** What the agent consumed, when it reports it. */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  costUsd?: number;
}

/** Where a turn's prompt came from. */
export type PromptSource = 'spec' | 'api' | 'cli' | 'kubectl' | 'github' | 'gitea' | 'jira' | 'slack';

/** How a turn ended. */
export type TurnResult = 'Succeeded' | 'Failed' | 'TimedOut' | 'Stopped' | 'Question';

/** One entry of `status.turns`: one prompt and what the agent made of it. */
export interface TurnStatus {
  number: number;
  source: PromptSource;
  /** Who sent the prompt, as the source names them (a forge login, a Slack user id, a user name). */
  author?: string;
  /** RFC 3339. */
  startTime?: string;
  completionTime?: string;
  /** The first and last attempt of the turn (a retry is a further attempt of the same turn). */
  firstAttempt?: number;
  lastAttempt?: number;
  /** Absent while the turn runs. */
  result?: TurnResult;
  /** The runner's summary of the turn. */
  summary?: string;
  /** The commit the turn pushed on the output branch of the first repository. */
  commit?: string;
  usage?: Usage;
}

/** `status.question`: what the agent asked, while the session is `WaitingForInput`. */
export interface QuestionStatus {
  text: string;
  /** The turn that asked it; the answer becomes the next turn. */
  turn: number;
  /** RFC 3339. */
  askedTime: string;
}

/** `AgentSession.status`, written only by the session workflow. */
export interface AgentSessionStatus {
  phase?: Phase;
  conditions?: Condition[];
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  attempt?: number;
  runnerPodName?: string;
  exitCode?: number;
  reconciledRepos?: ReconciledRepo[];
  workflowId?: string;
  runId?: string;
  result?: string;
  /** Summed over all turns. */
  usage?: Usage;
  turns?: TurnStatus[];
  question?: QuestionStatus;
}

/** An AgentSession: one agent run. */
export interface AgentSession {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentSession';
  metadata: ObjectMeta;
  spec: AgentSessionSpec;
  status?: AgentSessionStatus;
}

/** `AgentProvider.spec`. */
export interface AgentProviderSpec {
  displayName?: string;
  /** Empty or absent means the provider serves every agent. */
  agentTypes?: AgentType[];
  authTokenSecretRef?: SecretKeyRef;
  environment?: Record<string, string>;
}

/** `AgentProvider.status`. */
export interface AgentProviderStatus {
  ready?: boolean;
  observedGeneration?: number;
  conditions?: Condition[];
}

/** An AgentProvider: a model provider's credentials and environment. */
export interface AgentProvider {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentProvider';
  metadata: ObjectMeta;
  spec: AgentProviderSpec;
  status?: AgentProviderStatus;
}

/** `AgentConfig.spec`: a namespace's defaults for its sessions. */
export interface AgentConfigSpec {
  defaultAgent?: AgentType;
  defaultProviders?: Partial<Record<AgentType, string>>;
  defaultImage?: string;
  /** Pull secrets of the runner pods (the registry of `defaultImage` or a session's image). */
  imagePullSecrets?: Array<{ name: string }>;
  defaultTimeout?: string;
  storageClass?: string;
  storageSize?: string;
  env?: EnvVar[];
}

/** An AgentConfig; Shepherd reads only the one named `default` in each namespace. */
export interface AgentConfig {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentConfig';
  metadata: ObjectMeta;
  spec?: AgentConfigSpec;
}

/** A prefix pattern: an exact value, or a prefix followed by `*` (`ghcr.io/acme/*`). */
export type PolicyPattern = string;

/** `NamespacePolicy.spec.budget`: caps on runner-reported cost, in USD. */
export interface PolicyBudget {
  perSessionUsd?: number;
  monthlyUsd?: number;
  /** At a cap: `Pause` waits for an `approve` with a new cap (the default), `Stop` ends the session. */
  onExceeded?: 'Pause' | 'Stop';
}

/** One allowed egress destination of `NamespacePolicy.spec.egress.allow`. */
export interface EgressRule {
  cidr: string;
  except?: string[];
  ports?: Array<{ port: number; protocol?: 'TCP' | 'UDP' }>;
}

/** `NamespacePolicy.spec.egress`: what a runner pod may reach besides DNS, model and forges. */
export interface PolicyEgress {
  /** Defaults to true: every runner pod gets a default-deny egress NetworkPolicy. */
  restrict?: boolean;
  allow?: EgressRule[];
}

/** `NamespacePolicy.spec`: what the sessions of a namespace may ask for. Unset means no limit. */
export interface NamespacePolicySpec {
  allowedAgents?: AgentType[];
  allowedModels?: PolicyPattern[];
  allowedImages?: PolicyPattern[];
  allowedRepositories?: PolicyPattern[];
  allowedForgeHosts?: string[];
  maxTimeout?: string;
  maxRetries?: number;
  /** Caps on each request and limit of `spec.resources`, by resource name. */
  maxResources?: Record<string, Quantity>;
  maxWorkspaceSize?: string;
  allowedNodeSelectorKeys?: string[];
  /** A session's toleration must equal one of these in every field it sets. */
  allowedTolerations?: Toleration[];
  /** Prefixes that pod label and annotation keys of `spec.podMetadata` must start with. */
  allowedPodMetadataPrefixes?: string[];
  /** The labels a Secret must carry for a session to reference it. */
  usableSecrets?: { matchLabels: Record<string, string> };
  maxConcurrentSessions?: number;
  budget?: PolicyBudget;
  /** Tool names passed to the agent (Claude Code's `--allowedTools` / `--disallowedTools`). */
  tools?: { allowed?: string[]; denied?: string[] };
  egress?: PolicyEgress;
}

/** `NamespacePolicy.status`: the namespace's usage, as the worker last recorded it. */
export interface NamespacePolicyStatus {
  /** `YYYY-MM` (UTC) of `spentUsd`. */
  month?: string;
  spentUsd?: number;
  tokens?: number;
  runningSessions?: number;
  queuedSessions?: number;
  conditions?: Condition[];
}

/** A NamespacePolicy; Shepherd reads only the one named `default` in each namespace. */
export interface NamespacePolicy {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'NamespacePolicy';
  metadata: ObjectMeta;
  spec?: NamespacePolicySpec;
  status?: NamespacePolicyStatus;
}

/** Where an AgentTrigger's work comes from. */
export type TriggerSource = 'github' | 'gitea' | 'jira' | 'slack';

/** Every trigger source, in the order the CRD lists them. */
export const TRIGGER_SOURCES: readonly TriggerSource[] = ['github', 'gitea', 'jira', 'slack'];

/** A Secret in the same namespace, by name; the keys it must hold are the field's. */
export interface SecretRef {
  name: string;
}

/** A key of a Secret whose key has a default in the CRD. */
export interface SecretKeyRefWithDefault {
  name: string;
  key?: string;
}

/** `AgentTrigger.spec.match`: every field set must match. */
export interface TriggerMatch {
  /** `owner/name`; empty means every repository. */
  repositories?: string[];
  label?: string;
  assignee?: string;
  /** The command word a comment or message starts with, e.g. `/shepherd`. */
  command?: string;
  /**
   * The login people @-mention to talk to the sessions of this trigger (the bot's, without `@`);
   * defaults to `assignee`.
   */
  mention?: string;
  jql?: string;
  /** A Jira status a ticket moved to. */
  status?: string;
  /** Slack channel ids. */
  channels?: string[];
}

/** `AgentTrigger.spec.forge`. */
export interface TriggerForge {
  /** Defaults to https://github.com for a github trigger. */
  url?: string;
  /** Keys `token`, or `appId`, `privateKey` and `installationId`. */
  credentialsSecretRef: SecretRef;
}

/** `AgentTrigger.spec.jira`. */
export interface TriggerJira {
  url: string;
  /** Keys `email` and `apiToken`. */
  credentialsSecretRef: SecretRef;
  /** Exactly one of transition or assignee. */
  claim?: { transition?: string; assignee?: string };
  /** A duration such as `1m`; defaults to 1m in the CRD. */
  pollInterval?: string;
}

/** `AgentTrigger.spec.feedback`. */
export interface TriggerFeedback {
  /** Defaults to true in the CRD. */
  onStart?: boolean;
  /** Defaults to true in the CRD. */
  onEnd?: boolean;
  /** Defaults to 20 in the CRD. */
  logTailLines?: number;
  jira?: { successTransition?: string; failureTransition?: string };
}

/** `AgentTrigger.spec`. */
export interface AgentTriggerSpec {
  source: TriggerSource;
  match?: TriggerMatch;
  /** An AgentSession spec, checked against the AgentSession schema when the trigger is read. */
  sessionTemplate: AgentSessionSpec;
  forge?: TriggerForge;
  /** The key defaults to `secret` in the CRD. */
  webhookSecretRef?: SecretKeyRefWithDefault;
  jira?: TriggerJira;
  /** The key defaults to `botToken` in the CRD. */
  slack?: { botTokenSecretRef: SecretKeyRefWithDefault };
  feedback?: TriggerFeedback;
}

/** `AgentTrigger.status`. */
export interface AgentTriggerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** An AgentTrigger: routes events of a source to sessions in its namespace. */
export interface AgentTrigger {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentTrigger';
  metadata: ObjectMeta;
  spec: AgentTriggerSpec;
  status?: AgentTriggerStatus;
}
