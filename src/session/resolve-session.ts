/**
 * Resolves an AgentSession into a `ResolvedSession`: the session's own fields first, then the
 * namespace's AgentConfig, then Shepherd's built-in defaults. It also catches what the CRD cannot
 * see on its own, because the answer depends on the AgentConfig or the provider (a defaulted agent
 * of `command` without a command, a provider that is not ready). Pure: the caller fetches the
 * AgentConfig and the provider, using `providerNameFor` to know which one.
 */
import { RESERVED_PREFIX } from '../resources/constants.js';
import { ENV_NAME_PATTERN, isReservedEnvName } from '../runner-contract/variables.js';
import type {
  AgentConfig,
  AgentProvider,
  AgentSession,
  AgentSessionSpec,
  AgentType,
  EnvVar,
  RepoSpec,
} from '../resources/types.js';
import { parseDuration } from './duration.js';
import { InvalidSpecError, ProviderNotReadyError } from './errors.js';
import type { ResolvedProvider, ResolvedRepo, ResolvedSession } from './resolved-session.js';

/** Shepherd's built-in defaults, used when neither the session nor the AgentConfig sets a value. */
export const BUILT_IN_DEFAULTS = {
  /** The agent when neither spec.agent nor AgentConfig defaultAgent is set. */
  agent: 'claude' as AgentType,
  /** The per-attempt timeout: 1h. */
  timeoutMs: 3_600_000,
  /** The workspace size. */
  workspaceSize: '10Gi',
  /** How long an idle conversation waits for its next prompt: 24h. */
  inactivityTimeoutMs: 86_400_000,
  /** The runner image; it contains git, the runner and both agents. */
  image: 'ghcr.io/shepherd-dev/runner:0.2.0',
} as const;

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

/** What the caller fetched for the session. */
export interface ResolveInputs {
  /** The namespace's AgentConfig named `default`, if it exists. */
  config?: AgentConfig;
  /** The AgentProvider named by `providerNameFor`, if it exists. */
  provider?: AgentProvider;
}

/** The agent the session runs once defaults apply. */
export function agentFor(spec: AgentSessionSpec, config: AgentConfig | undefined): AgentType {
  return spec.agent ?? config?.spec?.defaultAgent ?? BUILT_IN_DEFAULTS.agent;
}

/**
 * The AgentProvider the session uses: `spec.providerRef`, else (without an inline provider) the
 * AgentConfig's default for the agent. Undefined when the session uses an inline provider or none.
 */
export function providerNameFor(spec: AgentSessionSpec, config: AgentConfig | undefined): string | undefined {
  if (spec.providerRef) return spec.providerRef.name;
  if (spec.provider) return undefined;
  return config?.spec?.defaultProviders?.[agentFor(spec, config)];
}

/** The default output branch: `shepherd/<session name>`. */
export function defaultOutputBranch(sessionName: string): string {
  return `shepherd/${sessionName}`;
}

/** A directory name for a repository, from the last segment of its URL. */
function repoBaseName(url: string): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  const name = last
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[.-]+/, '');
  return name || 'repo';
}

/** Gives each repository a distinct directory, numbering repeats (`app`, `app-2`) in spec order. */
function repoDirs(repos: readonly RepoSpec[]): string[] {
  const used = new Set<string>();
  return repos.map((repo) => {
    const base = repoBaseName(repo.url);
    let dir = base;
    for (let n = 2; used.has(dir); n += 1) dir = `${base}-${n}`;
    used.add(dir);
    return dir;
  });
}

function resolveRepos(session: AgentSession): ResolvedRepo[] {
  const repos = session.spec.repos ?? [];
  const dirs = repoDirs(repos);
  return repos.map((repo, index) => {
    const outputBranch = repo.outputBranch ?? defaultOutputBranch(session.metadata.name);
    if (repo.branch !== undefined && repo.branch === outputBranch) {
      throw new InvalidSpecError(
        `spec.repos[${index}].outputBranch`,
        `spec.repos[${index}].outputBranch defaults to ${outputBranch}, which is also its base branch; set a different outputBranch`,
      );
    }
    return {
      url: repo.url,
      ...(repo.branch === undefined ? {} : { branch: repo.branch }),
      outputBranch,
      ...(repo.commit === undefined ? {} : { commit: repo.commit }),
      ...(repo.credentialsSecretRef
        ? {
            credentialsSecretRef: {
              name: repo.credentialsSecretRef.name,
              key: repo.credentialsSecretRef.key ?? 'token',
            },
          }
        : {}),
      autoPush: repo.autoPush ?? true,
      dir: dirs[index] as string,
    };
  });
}

const INLINE_FIELD = 'spec.provider.environment';
const providerField = (name: string) => `AgentProvider ${name} spec.environment`;

function checkEnvironment(environment: Record<string, string>, field: string): Record<string, string> {
  for (const name of Object.keys(environment)) {
    if (!ENV_NAME.test(name) || isReservedEnvName(name)) {
      throw new InvalidSpecError(
        field,
        `${field} has the variable "${name}", which is not allowed: use letters, digits and _, not starting with a digit, and neither INITIAL_PROMPT nor a SHEPHERD_ prefix`,
      );
    }
  }
  return { ...environment };
}

function resolveProvider(session: AgentSession, agent: AgentType, inputs: ResolveInputs): ResolvedProvider {
  const spec = session.spec;
  if (spec.provider) {
    return {
      ...(spec.provider.authTokenSecretRef
        ? { authTokenSecretRef: { ...spec.provider.authTokenSecretRef } }
        : {}),
      environmentNames: Object.keys(checkEnvironment(spec.provider.environment ?? {}, INLINE_FIELD)),
    };
  }
  const name = providerNameFor(spec, inputs.config);
  if (name === undefined) return { environmentNames: [] };
  const source = spec.providerRef ? 'spec.providerRef' : `the AgentConfig's defaultProviders.${agent}`;
  const provider = inputs.provider;
  if (provider === undefined || provider.metadata.name !== name) {
    throw new ProviderNotReadyError(
      `AgentProvider ${name} (from ${source}) does not exist in namespace ${session.metadata.namespace ?? ''}; create it or name another provider`,
    );
  }
  if (provider.status?.ready !== true) {
    const why = provider.status?.conditions?.find((condition) => condition.type === 'Ready')?.message;
    throw new ProviderNotReadyError(
      `AgentProvider ${name} (from ${source}) is not ready${why ? `: ${why}` : ''}; check its authTokenSecretRef Secret and key`,
    );
  }
  const agentTypes = provider.spec.agentTypes ?? [];
  if (agentTypes.length > 0 && !agentTypes.includes(agent)) {
    throw new ProviderNotReadyError(
      `AgentProvider ${name} (from ${source}) serves ${agentTypes.join(', ')}, not ${agent}; name a provider for ${agent}`,
    );
  }
  return {
    name,
    ...(provider.spec.authTokenSecretRef
      ? { authTokenSecretRef: { ...provider.spec.authTokenSecretRef } }
      : {}),
    environmentNames: Object.keys(checkEnvironment(provider.spec.environment ?? {}, providerField(name))),
  };
}

/**
 * The values of the resolved provider's environment, read again where they are needed (the
 * session Secret) rather than carried in the resolved session. Checked as `resolveSession` checks
 * them, since the provider may have changed since.
 *
 * @param namespace The session's namespace, for messages.
 * @param resolved The provider the session was resolved to.
 * @param current What was read now: the AgentSession's spec (an inline provider), or the
 *   AgentProvider named by `resolved.name`, if it still exists.
 * @throws ProviderNotReadyError when the named AgentProvider no longer exists.
 * @throws InvalidSpecError when a variable name is not allowed.
 */
export function providerEnvironment(
  namespace: string,
  resolved: ResolvedProvider,
  current: { spec?: AgentSessionSpec; provider?: AgentProvider },
): Record<string, string> {
  if (resolved.name === undefined) {
    return checkEnvironment(current.spec?.provider?.environment ?? {}, INLINE_FIELD);
  }
  if (current.provider?.metadata.name !== resolved.name) {
    throw new ProviderNotReadyError(
      `AgentProvider ${resolved.name} no longer exists in namespace ${namespace}; create it again or name another provider`,
    );
  }
  return checkEnvironment(current.provider.spec.environment ?? {}, providerField(resolved.name));
}

/** AgentConfig env first, then the session's; a session entry replaces the config's of the same name. */
function mergeEnv(configEnv: readonly EnvVar[], sessionEnv: readonly EnvVar[]): EnvVar[] {
  const byName = new Map<string, EnvVar>();
  for (const variable of [...configEnv, ...sessionEnv]) byName.set(variable.name, variable);
  return [...byName.values()];
}

/**
 * Resolves a session.
 *
 * @throws InvalidSpecError when a field is unusable once defaults apply (the error names it).
 * @throws ProviderNotReadyError when the provider is missing, not ready or serves another agent.
 */
export function resolveSession(session: AgentSession, inputs: ResolveInputs = {}): ResolvedSession {
  const { metadata, spec } = session;
  const configSpec = inputs.config?.spec ?? {};
  if (!metadata.namespace || !metadata.uid) {
    throw new InvalidSpecError(
      'metadata',
      'the AgentSession has no namespace or uid; resolve it as read from the API server',
    );
  }
  const agent = agentFor(spec, inputs.config);
  if (agent === 'command' && !spec.command?.length) {
    throw new InvalidSpecError(
      'spec.command',
      'spec.command is required when the agent is command (set here or by the AgentConfig defaultAgent)',
    );
  }
  if (agent !== 'command' && (spec.command || spec.args)) {
    throw new InvalidSpecError(
      'spec.command',
      `spec.command and spec.args are only allowed for agent command, not ${agent}`,
    );
  }
  if (agent !== 'command' && !spec.initialPrompt) {
    throw new InvalidSpecError(
      'spec.initialPrompt',
      `spec.initialPrompt is required for agent ${agent}: tell the agent what to do`,
    );
  }
  const timeoutMs =
    spec.timeout !== undefined
      ? parseDuration(spec.timeout, 'spec.timeout')
      : configSpec.defaultTimeout !== undefined
        ? parseDuration(configSpec.defaultTimeout, 'AgentConfig spec.defaultTimeout')
        : BUILT_IN_DEFAULTS.timeoutMs;
  const inactivityTimeoutMs =
    spec.conversation?.inactivityTimeout !== undefined
      ? parseDuration(spec.conversation.inactivityTimeout, 'spec.conversation.inactivityTimeout')
      : BUILT_IN_DEFAULTS.inactivityTimeoutMs;
  const env = mergeEnv(configSpec.env ?? [], spec.env ?? []);
  const reservedEnv = env.find((variable) => isReservedEnvName(variable.name));
  if (reservedEnv) {
    throw new InvalidSpecError(
      'spec.env',
      `spec.env may not set ${reservedEnv.name}: Shepherd sets it for the runner`,
    );
  }
  const storageClass = spec.workspace?.storageClass ?? configSpec.storageClass;
  const labels = Object.fromEntries(
    Object.entries(spec.podMetadata?.labels ?? {}).filter(([key]) => !key.startsWith(RESERVED_PREFIX)),
  );

  return {
    namespace: metadata.namespace,
    name: metadata.name,
    uid: metadata.uid,
    generation: metadata.generation ?? 0,
    agent,
    ...(spec.command ? { command: [...spec.command] } : {}),
    ...(spec.args ? { args: [...spec.args] } : {}),
    initialPrompt: spec.initialPrompt ?? '',
    repos: resolveRepos(session),
    provider: resolveProvider(session, agent, inputs),
    ...(spec.model === undefined ? {} : { model: spec.model }),
    timeoutMs,
    retries: spec.retries ?? 0,
    workspace: {
      size: spec.workspace?.size ?? configSpec.storageSize ?? BUILT_IN_DEFAULTS.workspaceSize,
      ...(storageClass === undefined ? {} : { storageClass }),
      retain: spec.workspace?.retain ?? false,
    },
    image: spec.image ?? configSpec.defaultImage ?? BUILT_IN_DEFAULTS.image,
    ...(configSpec.imagePullSecrets?.length
      ? { imagePullSecrets: configSpec.imagePullSecrets.map((secret) => secret.name) }
      : {}),
    env,
    ...(spec.resources
      ? {
          resources: {
            ...(spec.resources.limits ? { limits: { ...spec.resources.limits } } : {}),
            ...(spec.resources.requests ? { requests: { ...spec.resources.requests } } : {}),
          },
        }
      : {}),
    nodeSelector: { ...spec.nodeSelector },
    tolerations: (spec.tolerations ?? []).map((toleration) => ({ ...toleration })),
    podMetadata: { labels, annotations: { ...spec.podMetadata?.annotations } },
    ...(spec.pullRequest ? { pullRequest: structuredClone(spec.pullRequest) } : {}),
    ...(spec.trigger ? { trigger: structuredClone(spec.trigger) } : {}),
    conversation: {
      stopOnTurnFinished:
        spec.conversation?.stopOnTurnFinished ?? !TRIGGERED_SOURCES.has(spec.trigger?.source ?? ''),
      inactivityTimeoutMs,
    },
  };
}

/** Sources whose people reply where the work came from: their sessions stay open after a turn. */
const TRIGGERED_SOURCES = new Set(['github', 'gitea', 'jira', 'slack']);
