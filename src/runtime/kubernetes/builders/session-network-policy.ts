/**
 * Builds the runner pods' egress NetworkPolicy, made when the namespace's NamespacePolicy restricts
 * egress (`spec.egress`, `restrict` unset or true). It selects every attempt's runner pod of the
 * session and allows only:
 *
 *  - DNS (UDP and TCP 53) to any address. Not only to kube-system's kube-dns pods: the label
 *    those pods carry differs between distributions, and a node-local DNS cache answers on a
 *    link-local address that no pod selector matches, so a selector would cut DNS off on such
 *    clusters. Little is lost: the cluster's resolver forwards any name upstream, so a pod that may
 *    ask it anything can tunnel through DNS whichever resolver it is pinned to.
 *  - The hosts the session must reach, each on the port its URL names: the model endpoint, each
 *    repository's host and the pull request's forge. A NetworkPolicy has no host names, so each
 *    host is looked up in the worker's map of host → CIDRs (SHEPHERD_EGRESS_HOSTS); a host missing
 *    from it fails the session with EgressHostUnknownError instead of a runner that cannot connect.
 *    A host written as an IP address needs no entry.
 *  - The policy's own `allow` destinations, with their `except` blocks and ports.
 *
 * Nothing else, in particular not the Kubernetes API server (the runner does not call it; a
 * policy lists its address in `allow` if an agent must). Enforcing the policy is the CNI's work:
 * on a cluster whose network plugin ignores NetworkPolicy it is stored and has no effect.
 */
import { isIP } from 'node:net';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { COMPONENT_LABEL } from '../../../resources/constants.js';
import { urlHost } from '../../../policy/policy-rules.js';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { EgressHostUnknownError } from '../../errors.js';
import { childMetadata, sessionSelectorLabels } from './session-metadata.js';
import { sessionObjectNames } from './session-names.js';

/** The worker's egress addresses: host name (lower case) → the CIDRs it is served from. */
export type EgressHosts = Readonly<Record<string, readonly string[]>>;

/** The variable and the chart value that hold {@link EgressHosts}, for messages. */
export const EGRESS_HOSTS_SETTING = 'SHEPHERD_EGRESS_HOSTS (chart value egress.hosts)';

/** A host the runner must reach, the TCP port it reaches it on, and why (for messages). */
export interface EgressDestination {
  host: string;
  port: number;
  purpose: string;
}

/** What the policy needs besides the session. */
export interface EgressInputs {
  /** The worker's host → CIDRs map. */
  hosts: EgressHosts;
  /**
   * The provider's environment values, as written into the session Secret: a `*_BASE_URL` there
   * moves the model endpoint (e.g. ANTHROPIC_BASE_URL to a gateway).
   */
  providerEnvironment: Record<string, string>;
}

/**
 * The public API of the model providers whose endpoint is known without configuration, by the
 * provider part of a model name (`anthropic/...`) or the agent's own provider. Another provider
 * is reached through a `<PROVIDER>_BASE_URL` in the environment or an `allow` entry of the policy.
 */
const DEFAULT_MODEL_ENDPOINTS: Readonly<Record<string, string>> = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com',
};

/** Claude Code variables that send it to a cloud's model service instead of api.anthropic.com. */
const CLAUDE_CLOUD_SWITCHES = ['CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX'];

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'https:': 443, 'http:': 80, 'ssh:': 22 };

/** Whether the session's runner pods get the egress NetworkPolicy. */
export function restrictsEgress(session: Pick<ResolvedSession, 'policy'>): boolean {
  const egress = session.policy?.egress;
  // The CRD documents restrict as true when unset: a policy that writes `egress:` means it.
  return egress !== undefined && egress.restrict !== false;
}

/** The host and TCP port a repository, forge or endpoint URL is reached on; undefined for a local path. */
function endpointOf(url: string): { host: string; port: number } | undefined {
  const host = urlHost(url)
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (!host) return undefined;
  // scp-like `git@host:path` is ssh on its standard port.
  if (url.startsWith('git@')) return { host, port: 22 };
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol];
  return port === undefined ? undefined : { host, port };
}

/** Whether `value` reads as on (`1`, `true`), as Claude Code takes its switches. */
const isOn = (value: string | undefined) => value !== undefined && /^(1|true|yes)$/i.test(value.trim());

/** The model endpoints the agent calls. */
function modelDestinations(session: ResolvedSession, providerEnvironment: Record<string, string>) {
  // The pod's environment: the session's plain variables override the provider's (envFrom) ones,
  // as in the Job. A variable taken from elsewhere (valueFrom) cannot be known here.
  const env: Record<string, string> = { ...providerEnvironment };
  for (const variable of session.env) if (variable.value !== undefined) env[variable.name] = variable.value;

  const destinations: EgressDestination[] = [];
  const baseUrls = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_BASE_URL') || !/^https?:\/\//i.test(value)) continue;
    const endpoint = endpointOf(value);
    if (!endpoint) continue;
    baseUrls.add(name);
    destinations.push({ ...endpoint, purpose: `the model endpoint (${name})` });
  }

  let provider: string | undefined;
  if (session.agent === 'claude') {
    provider = CLAUDE_CLOUD_SWITCHES.some((name) => isOn(env[name])) ? undefined : 'anthropic';
  } else if (session.agent === 'opencode') {
    provider = session.model?.includes('/') ? session.model.split('/')[0] : 'anthropic';
  }
  const fallback = provider === undefined ? undefined : DEFAULT_MODEL_ENDPOINTS[provider];
  if (provider !== undefined && fallback && !baseUrls.has(`${provider.toUpperCase()}_BASE_URL`)) {
    destinations.push({ ...endpointOf(fallback)!, purpose: `the model endpoint of ${provider}` });
  }
  return destinations;
}

/** Every host the session's runner must reach, in a stable order: model, repositories, forge. */
export function egressDestinations(
  session: ResolvedSession,
  providerEnvironment: Record<string, string>,
): EgressDestination[] {
  const destinations = modelDestinations(session, providerEnvironment);
  for (const repo of session.repos) {
    const endpoint = endpointOf(repo.url);
    if (endpoint) destinations.push({ ...endpoint, purpose: `repository ${repo.url}` });
  }
  const forgeUrl = session.pullRequest?.forge?.url;
  const forge = forgeUrl === undefined ? undefined : endpointOf(forgeUrl);
  if (forge) destinations.push({ ...forge, purpose: `the pull request forge ${forgeUrl}` });
  return destinations;
}

/** An IP address as the CIDR of that one address. */
function addressCidr(host: string): string | undefined {
  const family = isIP(host);
  return family === 4 ? `${host}/32` : family === 6 ? `${host}/128` : undefined;
}

/**
 * The egress NetworkPolicy of the session's runner pods, or undefined when the namespace's policy
 * does not restrict egress.
 *
 * @throws EgressHostUnknownError naming every host the runner must reach that `inputs.hosts` has
 *   no CIDRs for.
 */
export function buildSessionNetworkPolicy(
  session: ResolvedSession,
  inputs: EgressInputs,
): V1NetworkPolicy | undefined {
  if (!restrictsEgress(session)) return undefined;

  // One rule per host, with every port the session reaches it on.
  const byHost = new Map<string, { cidrs: readonly string[]; ports: Set<number> }>();
  const missing = new Map<string, string[]>();
  for (const { host, port, purpose } of egressDestinations(session, inputs.providerEnvironment)) {
    const cidrs = Object.hasOwn(inputs.hosts, host) ? inputs.hosts[host] : undefined;
    const literal = addressCidr(host);
    const resolved = cidrs && cidrs.length > 0 ? cidrs : literal ? [literal] : undefined;
    if (!resolved) {
      missing.set(host, [...(missing.get(host) ?? []), purpose]);
      continue;
    }
    const entry = byHost.get(host) ?? { cidrs: resolved, ports: new Set<number>() };
    entry.ports.add(port);
    byHost.set(host, entry);
  }
  if (missing.size > 0) {
    const hosts = [...missing].map(([host, purposes]) => `${host} (${purposes.join(', ')})`).join(', ');
    const example = JSON.stringify(Object.fromEntries([...missing.keys()].map((host) => [host, ['<cidr>']])));
    throw new EgressHostUnknownError(
      `the NamespacePolicy of ${session.namespace} restricts the runner's egress, but ${EGRESS_HOSTS_SETTING} has no CIDRs for ${hosts}; add them to the worker's ${EGRESS_HOSTS_SETTING}, e.g. ${example}, or set the policy's egress.restrict to false`,
    );
  }

  const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });
  const egress: V1NetworkPolicyEgressRule[] = [
    // No `to`: any destination, on the DNS port only (see above for why not kube-dns alone).
    { ports: [{ protocol: 'UDP', port: 53 }, tcp(53)] },
    ...[...byHost.values()].map(({ cidrs, ports }): V1NetworkPolicyEgressRule => ({
      to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [...ports].map(tcp),
    })),
    ...(session.policy?.egress?.allow ?? []).map((rule): V1NetworkPolicyEgressRule => ({
      to: [{ ipBlock: { cidr: rule.cidr, ...(rule.except?.length ? { except: [...rule.except] } : {}) } }],
      // No ports: every port of the block, as the policy's rule leaves them open.
      ...(rule.ports?.length
        ? { ports: rule.ports.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port })) }
        : {}),
    })),
  ];

  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMetadata(session, sessionObjectNames(session.name).egress, 'runner-egress'),
    spec: {
      // Every attempt's runner pod: the labels buildSessionJob gives the pod template.
      podSelector: { matchLabels: { ...sessionSelectorLabels(session.name), [COMPONENT_LABEL]: 'runner' } },
      policyTypes: ['Egress'],
      egress,
    },
  };
}
