/**
 * The NamespacePolicy rules on what a session may ask for, each written twice side by side: as a
 * TypeScript check (the workflow's validate step and the API) and as a CEL expression (the
 * ValidatingAdmissionPolicy that `kubectl apply` meets, generated from this table by
 * admission-policy.ts). Both read the same policy field and give the same message, so a rule
 * cannot exist in one place and not the other. Against the real API server,
 * test/integration/namespace-policy.test.ts refuses each rule in the workflow and the API, and
 * namespace-policy-admission.test.ts at kubectl apply.
 *
 * The CEL side sees the object as written (no AgentConfig defaults); the TypeScript side sees the
 * session once defaults apply, so a default image or agent that breaks the policy is caught in the
 * workflow and the API even though admission let the object in.
 */
import type { AgentType, NamespacePolicySpec, Toleration } from '../resources/types.js';
import { parseDuration } from '../session/duration.js';
import { quantityGreaterThan } from '../resources/quantity.js';

/** What the rules look at: a session spec, with defaults applied where the caller knows them. */
export interface PolicySubject {
  agent?: AgentType;
  model?: string;
  image?: string;
  repoUrls: string[];
  /** `spec.pullRequest.forge.url`. */
  forgeUrl?: string;
  timeout?: string;
  retries?: number;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  workspaceSize?: string;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
}

/** A broken rule: which one, the session field it is about, and the whole message. */
export interface PolicyViolation {
  rule: keyof NamespacePolicySpec;
  field: string;
  message: string;
}

/** One rule, in both languages. */
export interface PolicyRule {
  /** The NamespacePolicy spec field that holds the rule. */
  rule: keyof NamespacePolicySpec;
  /** The AgentSession field the rule is about, as messages name it. */
  field: string;
  /** The spec path (CEL, after `spec.`) compared on UPDATE: an unchanged field is not checked again. */
  specPath: string;
  /** The part of the message after the field, or undefined when the subject keeps the rule. */
  check(subject: PolicySubject, policy: NamespacePolicySpec): string | undefined;
  /** CEL, true when the object keeps the rule; `params` is the NamespacePolicy. */
  cel: string;
  /** CEL for the same message as `check`'s, after the field. */
  celDetail: string;
}

/** Whether `value` matches a pattern: equal, or starting with the part before a trailing `*`. */
export function matchesPattern(value: string, pattern: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** The host of a repository or forge URL; empty for a local path or file:// URL. */
export function urlHost(url: string): string {
  if (url.startsWith('git@')) return url.slice(4).split(':')[0] ?? '';
  if (/^(https?|ssh):\/\//.test(url)) {
    try {
      return new URL(url).hostname;
    } catch {
      return '';
    }
  }
  return '';
}

const CEL_MATCHES = (value: string, list: string) =>
  `${list}.exists(p, p.endsWith('*') ? ${value}.startsWith(p.substring(0, size(p) - 1)) : ${value} == p)`;
// urlHost in CEL. getHostname() keeps the URL's case where URL.hostname lower-cases it, hence
// lowerAscii(); a git@ host is kept as written on both sides.
const CEL_HOST = (url: string) =>
  `(${url}.startsWith('git@') ? ${url}.substring(4).split(':')[0] : (${url}.matches('^(https?|ssh)://') && isURL(${url}) ? url(${url}).getHostname().lowerAscii() : ''))`;
const list = (values: readonly string[]) => values.join(', ');
const oneOf = (values: readonly string[] | undefined) =>
  values && values.length > 0 ? `use one of: ${list(values)}` : 'the policy allows none';
const CEL_ONE_OF = (field: string) =>
  `(size(params.spec.${field}) > 0 ? 'use one of: ' + params.spec.${field}.join(', ') : 'the policy allows none')`;

/**
 * CEL: the keys of `map` (at most `max`, its schema's maxProperties) in ascending order. The API
 * server iterates a map in random order (Go's), so messages that list keys sort them on both
 * sides; `sort()` needs Kubernetes 1.34 and the chart supports 1.30, so each key is placed by
 * its rank (how many keys are smaller), read over a fixed list of positions.
 */
const CEL_SORTED_KEYS = (map: string, max: number) =>
  `[${Array.from({ length: max }, (_, i) => i).join(', ')}].filter(i, i < size(${map})).map(i, ${map}.filter(x, ${map}.filter(y, y < x).size() == i)[0])`;
/** The keys of a record in the order CEL_SORTED_KEYS gives them (code point order; keys are ASCII). */
const sortedKeys = (record: Record<string, unknown>) => Object.keys(record).sort();

// spec.resources and spec.podMetadata are objects, not maps, in the CRD schema: the API server's
// type check refuses `kind in object.spec.resources` and `[kind]`, so the CEL names each field.
const RESOURCE_KINDS = ['requests', 'limits'] as const;
const POD_METADATA_KINDS = ['labels', 'annotations'] as const;
const CEL_RESOURCE_OVER = (kind: string) =>
  `(quantity(string(object.spec.resources.${kind}[name])).compareTo(quantity(string(params.spec.maxResources[name]))) > 0)`;
const CEL_PREFIXED = (key: string) =>
  `params.spec.allowedPodMetadataPrefixes.exists(p, ${key}.startsWith(p))`;

function quantityOver(value: string | number, max: string | number): boolean {
  return quantityGreaterThan(String(value), String(max));
}

function resourcesOver(subject: PolicySubject, max: Record<string, string | number>): string[] {
  const over: string[] = [];
  for (const kind of RESOURCE_KINDS) {
    const values = subject.resources?.[kind] ?? {};
    for (const name of sortedKeys(values)) {
      const value = values[name]!;
      const cap = max[name];
      if (cap !== undefined && quantityOver(value, cap))
        over.push(`${kind}.${name} ${value} (at most ${cap})`);
    }
  }
  return over;
}

function tolerationAllowed(toleration: Toleration, allowed: Toleration): boolean {
  const operator = toleration.operator ?? 'Equal';
  return (
    (allowed.key === undefined || toleration.key === allowed.key) &&
    (allowed.operator === undefined || operator === allowed.operator) &&
    (allowed.value === undefined || toleration.value === allowed.value) &&
    (allowed.effect === undefined || toleration.effect === allowed.effect)
  );
}

const describeToleration = (t: Toleration) =>
  `${t.key ?? ''}${t.operator === 'Exists' ? ' Exists' : `=${t.value ?? ''}`}${t.effect ? `:${t.effect}` : ''}`;

const CEL_TOLERATION_ALLOWED =
  "params.spec.allowedTolerations.exists(a, (!has(a.key) || (has(t.key) && t.key == a.key)) && (!has(a.operator) || (has(t.operator) ? t.operator : 'Equal') == a.operator) && (!has(a.value) || (has(t.value) && t.value == a.value)) && (!has(a.effect) || (has(t.effect) && t.effect == a.effect)))";

/** The rules, in the order messages and the admission policy list them. */
export const POLICY_RULES: readonly PolicyRule[] = [
  {
    rule: 'allowedAgents',
    field: 'spec.agent',
    specPath: 'agent',
    check: (s, p) =>
      p.allowedAgents && s.agent !== undefined && !p.allowedAgents.includes(s.agent)
        ? `${s.agent} is not allowed; ${oneOf(p.allowedAgents)}`
        : undefined,
    cel: '!has(params.spec.allowedAgents) || !has(object.spec.agent) || object.spec.agent in params.spec.allowedAgents',
    celDetail: `object.spec.agent + ' is not allowed; ' + ${CEL_ONE_OF('allowedAgents')}`,
  },
  {
    rule: 'allowedModels',
    field: 'spec.model',
    specPath: 'model',
    check: (s, p) =>
      p.allowedModels && s.model !== undefined && !p.allowedModels.some((m) => matchesPattern(s.model!, m))
        ? `${s.model} is not allowed; ${oneOf(p.allowedModels)}`
        : undefined,
    cel: `!has(params.spec.allowedModels) || !has(object.spec.model) || ${CEL_MATCHES('object.spec.model', 'params.spec.allowedModels')}`,
    celDetail: `object.spec.model + ' is not allowed; ' + ${CEL_ONE_OF('allowedModels')}`,
  },
  {
    rule: 'allowedImages',
    field: 'spec.image',
    specPath: 'image',
    check: (s, p) =>
      p.allowedImages && s.image !== undefined && !p.allowedImages.some((m) => matchesPattern(s.image!, m))
        ? `${s.image} is not allowed; ${oneOf(p.allowedImages)}`
        : undefined,
    cel: `!has(params.spec.allowedImages) || !has(object.spec.image) || ${CEL_MATCHES('object.spec.image', 'params.spec.allowedImages')}`,
    celDetail: `object.spec.image + ' is not allowed; ' + ${CEL_ONE_OF('allowedImages')}`,
  },
  {
    rule: 'allowedRepositories',
    field: 'spec.repos[].url',
    specPath: 'repos',
    check: (s, p) => {
      const refused = p.allowedRepositories
        ? s.repoUrls.filter((url) => !p.allowedRepositories!.some((m) => matchesPattern(url, m)))
        : [];
      return refused.length > 0
        ? `${list(refused)} is not allowed; ${oneOf(p.allowedRepositories)}`
        : undefined;
    },
    cel: `!has(params.spec.allowedRepositories) || !has(object.spec.repos) || object.spec.repos.all(r, ${CEL_MATCHES('r.url', 'params.spec.allowedRepositories')})`,
    celDetail: `object.spec.repos.filter(r, !(${CEL_MATCHES('r.url', 'params.spec.allowedRepositories')})).map(r, r.url).join(', ') + ' is not allowed; ' + ${CEL_ONE_OF('allowedRepositories')}`,
  },
  {
    rule: 'allowedForgeHosts',
    field: 'spec.repos[].url',
    specPath: 'repos',
    check: (s, p) => {
      const hosts = p.allowedForgeHosts;
      const refused = hosts ? s.repoUrls.filter((url) => !hosts.includes(urlHost(url))) : [];
      return refused.length > 0
        ? `${list(refused)} is not on an allowed forge host; ${oneOf(hosts)}`
        : undefined;
    },
    cel: `!has(params.spec.allowedForgeHosts) || !has(object.spec.repos) || object.spec.repos.all(r, ${CEL_HOST('r.url')} in params.spec.allowedForgeHosts)`,
    celDetail: `object.spec.repos.filter(r, !(${CEL_HOST('r.url')} in params.spec.allowedForgeHosts)).map(r, r.url).join(', ') + ' is not on an allowed forge host; ' + ${CEL_ONE_OF('allowedForgeHosts')}`,
  },
  {
    rule: 'allowedForgeHosts',
    field: 'spec.pullRequest.forge.url',
    specPath: 'pullRequest',
    check: (s, p) =>
      p.allowedForgeHosts && s.forgeUrl !== undefined && !p.allowedForgeHosts.includes(urlHost(s.forgeUrl))
        ? `${s.forgeUrl} is not on an allowed forge host; ${oneOf(p.allowedForgeHosts)}`
        : undefined,
    cel: `!has(params.spec.allowedForgeHosts) || !has(object.spec.pullRequest) || !has(object.spec.pullRequest.forge) || !has(object.spec.pullRequest.forge.url) || ${CEL_HOST('object.spec.pullRequest.forge.url')} in params.spec.allowedForgeHosts`,
    celDetail: `object.spec.pullRequest.forge.url + ' is not on an allowed forge host; ' + ${CEL_ONE_OF('allowedForgeHosts')}`,
  },
  {
    rule: 'maxTimeout',
    field: 'spec.timeout',
    specPath: 'timeout',
    check: (s, p) =>
      p.maxTimeout !== undefined &&
      s.timeout !== undefined &&
      parseDuration(s.timeout, 'spec.timeout') >
        parseDuration(p.maxTimeout, 'NamespacePolicy spec.maxTimeout')
        ? `${s.timeout} is longer than the policy allows; set at most ${p.maxTimeout}`
        : undefined,
    cel: '!has(params.spec.maxTimeout) || !has(object.spec.timeout) || duration(object.spec.timeout) <= duration(params.spec.maxTimeout)',
    celDetail:
      "object.spec.timeout + ' is longer than the policy allows; set at most ' + params.spec.maxTimeout",
  },
  {
    rule: 'maxRetries',
    field: 'spec.retries',
    specPath: 'retries',
    check: (s, p) =>
      p.maxRetries !== undefined && s.retries !== undefined && s.retries > p.maxRetries
        ? `${s.retries} is more than the policy allows; set at most ${p.maxRetries}`
        : undefined,
    cel: '!has(params.spec.maxRetries) || !has(object.spec.retries) || object.spec.retries <= params.spec.maxRetries',
    celDetail:
      "string(object.spec.retries) + ' is more than the policy allows; set at most ' + string(params.spec.maxRetries)",
  },
  {
    rule: 'maxResources',
    field: 'spec.resources',
    specPath: 'resources',
    check: (s, p) => {
      const over = p.maxResources ? resourcesOver(s, p.maxResources) : [];
      return over.length > 0 ? `asks for more than the policy allows: ${list(over)}` : undefined;
    },
    cel: `!has(params.spec.maxResources) || !has(object.spec.resources) || (${RESOURCE_KINDS.map(
      (kind) =>
        `(!has(object.spec.resources.${kind}) || object.spec.resources.${kind}.all(name, !(name in params.spec.maxResources) || !${CEL_RESOURCE_OVER(kind)}))`,
    ).join(' && ')})`,
    celDetail: `'asks for more than the policy allows: ' + [${RESOURCE_KINDS.map(
      (kind) =>
        `(has(object.spec.resources.${kind}) ? ${CEL_SORTED_KEYS(`object.spec.resources.${kind}`, 8)}.filter(name, name in params.spec.maxResources && ${CEL_RESOURCE_OVER(kind)}).map(name, '${kind}.' + name + ' ' + string(object.spec.resources.${kind}[name]) + ' (at most ' + string(params.spec.maxResources[name]) + ')').join(', ') : '')`,
    ).join(', ')}].filter(s, s != '').join(', ')`,
  },
  {
    rule: 'maxWorkspaceSize',
    field: 'spec.workspace.size',
    specPath: 'workspace',
    check: (s, p) =>
      p.maxWorkspaceSize !== undefined &&
      s.workspaceSize !== undefined &&
      quantityOver(s.workspaceSize, p.maxWorkspaceSize)
        ? `${s.workspaceSize} is larger than the policy allows; set at most ${p.maxWorkspaceSize}`
        : undefined,
    cel: '!has(params.spec.maxWorkspaceSize) || !has(object.spec.workspace) || !has(object.spec.workspace.size) || quantity(object.spec.workspace.size).compareTo(quantity(params.spec.maxWorkspaceSize)) <= 0',
    celDetail:
      "object.spec.workspace.size + ' is larger than the policy allows; set at most ' + params.spec.maxWorkspaceSize",
  },
  {
    rule: 'allowedNodeSelectorKeys',
    field: 'spec.nodeSelector',
    specPath: 'nodeSelector',
    check: (s, p) => {
      const refused = p.allowedNodeSelectorKeys
        ? sortedKeys(s.nodeSelector).filter((key) => !p.allowedNodeSelectorKeys!.includes(key))
        : [];
      return refused.length > 0
        ? `key ${list(refused)} is not allowed; ${oneOf(p.allowedNodeSelectorKeys)}`
        : undefined;
    },
    cel: '!has(params.spec.allowedNodeSelectorKeys) || !has(object.spec.nodeSelector) || object.spec.nodeSelector.all(k, k in params.spec.allowedNodeSelectorKeys)',
    celDetail: `'key ' + ${CEL_SORTED_KEYS('object.spec.nodeSelector', 32)}.filter(k, !(k in params.spec.allowedNodeSelectorKeys)).join(', ') + ' is not allowed; ' + ${CEL_ONE_OF('allowedNodeSelectorKeys')}`,
  },
  {
    rule: 'allowedTolerations',
    field: 'spec.tolerations',
    specPath: 'tolerations',
    check: (s, p) => {
      const refused = p.allowedTolerations
        ? s.tolerations.filter((t) => !p.allowedTolerations!.some((a) => tolerationAllowed(t, a)))
        : [];
      return refused.length > 0
        ? `${list(refused.map(describeToleration))} is not allowed; ask for one the policy's allowedTolerations lists`
        : undefined;
    },
    cel: `!has(params.spec.allowedTolerations) || !has(object.spec.tolerations) || object.spec.tolerations.all(t, ${CEL_TOLERATION_ALLOWED})`,
    celDetail: `object.spec.tolerations.filter(t, !(${CEL_TOLERATION_ALLOWED})).map(t, (has(t.key) ? t.key : '') + ((has(t.operator) && t.operator == 'Exists') ? ' Exists' : '=' + (has(t.value) ? t.value : '')) + (has(t.effect) ? ':' + t.effect : '')).join(', ') + " is not allowed; ask for one the policy's allowedTolerations lists"`,
  },
  {
    rule: 'allowedPodMetadataPrefixes',
    field: 'spec.podMetadata',
    specPath: 'podMetadata',
    check: (s, p) => {
      const prefixes = p.allowedPodMetadataPrefixes;
      const keys = [...sortedKeys(s.podLabels), ...sortedKeys(s.podAnnotations)];
      const refused = prefixes
        ? keys.filter((key) => !prefixes.some((prefix) => key.startsWith(prefix)))
        : [];
      return refused.length > 0
        ? `key ${list(refused)} is not allowed; ${prefixes!.length > 0 ? `use a key starting with ${list(prefixes!)}` : 'the policy allows none'}`
        : undefined;
    },
    cel: `!has(params.spec.allowedPodMetadataPrefixes) || !has(object.spec.podMetadata) || (${POD_METADATA_KINDS.map(
      (kind) =>
        `(!has(object.spec.podMetadata.${kind}) || object.spec.podMetadata.${kind}.all(k, ${CEL_PREFIXED('k')}))`,
    ).join(' && ')})`,
    celDetail: `'key ' + [${POD_METADATA_KINDS.map(
      (kind) =>
        `(has(object.spec.podMetadata.${kind}) ? ${CEL_SORTED_KEYS(`object.spec.podMetadata.${kind}`, 32)}.filter(k, !${CEL_PREFIXED('k')}).join(', ') : '')`,
    ).join(
      ', ',
    )}].filter(s, s != '').join(', ') + ' is not allowed; ' + (size(params.spec.allowedPodMetadataPrefixes) > 0 ? 'use a key starting with ' + params.spec.allowedPodMetadataPrefixes.join(', ') : 'the policy allows none')`,
  },
];

/** The message of a broken rule, as all three enforcement points word it. */
export function violationMessage(namespace: string, rule: string, field: string, detail: string): string {
  return `NamespacePolicy ${namespace}/default rule ${rule}: ${field} ${detail}`;
}

/** Every rule `subject` breaks under `policy`, in the table's order. */
export function policyViolations(
  namespace: string,
  subject: PolicySubject,
  policy: NamespacePolicySpec,
): PolicyViolation[] {
  return POLICY_RULES.flatMap((entry) => {
    const detail = entry.check(subject, policy);
    const { rule, field } = entry;
    return detail === undefined
      ? []
      : [{ rule, field, message: violationMessage(namespace, rule, field, detail) }];
  });
}
