/**
 * The CRD files are what the API server and `kubectl explain` see. Without a cluster, check that
 * they are structural schemas the API server will accept, documented field by field, with the
 * printer columns, defaults and validations users rely on, and that they match the TypeScript types.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type {
  AgentConfigSpec,
  AgentProviderSpec,
  AgentProviderStatus,
  AgentSessionSpec,
  AgentSessionStatus,
  AgentTriggerSpec,
  TriggerMatch,
} from '../../src/resources/types.js';
import { DURATION_PATTERN } from '../../src/session/duration.js';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string }>;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: Array<{ name: string; jsonPath: string; type: string; priority?: number }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

function load(file: string): { crd: Crd; schema: Schema; version: Crd['spec']['versions'][number] } {
  const crd = parse(
    readFileSync(new URL(`../../charts/shepherd/files/crds/${file}`, import.meta.url), 'utf8'),
  ) as Crd;
  const version = crd.spec.versions[0];
  assert.ok(version);
  return { crd, schema: version.schema.openAPIV3Schema, version };
}

/** Walks a schema, calling `visit` with each node and its path (`.spec.repos[].url`). */
function walk(schema: Schema, path: string, visit: (node: Schema, path: string) => void): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (schema.additionalProperties) walk(schema.additionalProperties, `${path}{}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
}

function child(schema: Schema, path: string): Schema {
  let node: Schema | undefined = schema;
  for (const part of path.split('.')) {
    node = part === '[]' ? node?.items : node?.properties?.[part];
    assert.ok(node, `no ${path} in schema`);
  }
  return node;
}

/** Checks a schema the way the API server's structural-schema and CEL cost checks would. */
function assertStructuralAndBounded(schema: Schema): void {
  walk(schema, '', (node, path) => {
    if (path === '.metadata') return;
    assert.equal(
      node['x-kubernetes-preserve-unknown-fields'],
      undefined,
      `${path} must not preserve unknown fields`,
    );
    if (node['x-kubernetes-int-or-string']) {
      assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], `${path} int-or-string shape`);
    } else {
      assert.ok(node.type, `${path} has no type`);
    }
    if (!path.endsWith('{}') && !path.endsWith('[]')) {
      assert.ok(node.description && node.description.length > 10, `${path || 'root'} has no description`);
    }
    if (node.type === 'object' && path !== '') {
      assert.ok(node.properties || node.additionalProperties, `${path} is an object with no schema`);
    }
    if (node.additionalProperties) assert.ok(node.maxProperties, `${path} map has no maxProperties`);
    if (node.type === 'array') assert.ok(node.maxItems, `${path} has no maxItems`);
    if (node.type === 'string' && !path.match(/^\.(apiVersion|kind)$/)) {
      assert.ok(
        node.maxLength || node.enum || node.format === 'date-time',
        `${path} string has no maxLength`,
      );
    }
    for (const required of node.required ?? []) {
      assert.ok(node.properties?.[required], `${path} requires unknown field ${required}`);
    }
    for (const validation of node['x-kubernetes-validations'] ?? []) {
      assert.ok(
        validation.message && /spec\.|metadata\.name|AgentConfig/.test(validation.message),
        `${path} rule "${validation.rule}" needs a message naming the field`,
      );
    }
  });
}

/** The CRD's field names must be exactly the TypeScript type's. */
function assertSameKeys(schema: Schema, keys: Record<string, true>, what: string): void {
  assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), Object.keys(keys).sort(), what);
}

const sessionSpecKeys: Record<keyof AgentSessionSpec, true> = {
  agent: true,
  command: true,
  args: true,
  initialPrompt: true,
  repos: true,
  providerRef: true,
  provider: true,
  model: true,
  timeout: true,
  retries: true,
  desiredState: true,
  workspace: true,
  image: true,
  env: true,
  resources: true,
  nodeSelector: true,
  tolerations: true,
  podMetadata: true,
  trigger: true,
  pullRequest: true,
  conversation: true,
};
const sessionStatusKeys: Record<keyof AgentSessionStatus, true> = {
  phase: true,
  conditions: true,
  observedGeneration: true,
  startTime: true,
  completionTime: true,
  attempt: true,
  runnerPodName: true,
  exitCode: true,
  reconciledRepos: true,
  workflowId: true,
  runId: true,
  result: true,
  usage: true,
  turns: true,
  question: true,
};
const providerSpecKeys: Record<keyof AgentProviderSpec, true> = {
  displayName: true,
  agentTypes: true,
  authTokenSecretRef: true,
  environment: true,
};
const providerStatusKeys: Record<keyof AgentProviderStatus, true> = {
  ready: true,
  observedGeneration: true,
  conditions: true,
};
const triggerSpecKeys: Record<keyof AgentTriggerSpec, true> = {
  source: true,
  match: true,
  sessionTemplate: true,
  forge: true,
  webhookSecretRef: true,
  jira: true,
  slack: true,
  feedback: true,
};
const triggerMatchKeys: Record<keyof TriggerMatch, true> = {
  repositories: true,
  label: true,
  assignee: true,
  command: true,
  mention: true,
  jql: true,
  status: true,
  channels: true,
};
const configSpecKeys: Record<keyof AgentConfigSpec, true> = {
  defaultAgent: true,
  defaultProviders: true,
  defaultImage: true,
  imagePullSecrets: true,
  defaultTimeout: true,
  storageClass: true,
  storageSize: true,
  env: true,
};

describe('CRD files', () => {
  for (const [file, plural] of [
    ['agentsessions.yaml', PLURAL.agentSession],
    ['agentproviders.yaml', PLURAL.agentProvider],
    ['agentconfigs.yaml', PLURAL.agentConfig],
    ['agenttriggers.yaml', PLURAL.agentTrigger],
    ['namespacepolicies.yaml', PLURAL.namespacePolicy],
  ] as const) {
    it(`${file} is a namespaced ${GROUP}/${VERSION} CRD with a structural, documented, bounded schema`, () => {
      const { crd, schema, version } = load(file);
      assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
      assert.equal(crd.kind, 'CustomResourceDefinition');
      assert.equal(crd.metadata.name, `${plural}.${GROUP}`);
      assert.equal(crd.spec.group, GROUP);
      assert.equal(crd.spec.scope, 'Namespaced');
      assert.equal(crd.spec.names.plural, plural);
      assert.deepEqual(crd.spec.names.categories, ['shepherd']);
      assert.equal(crd.spec.versions.length, 1);
      assert.deepEqual([version.name, version.served, version.storage], [VERSION, true, true]);
      assert.equal(schema.type, 'object');
      assertStructuralAndBounded(schema);
    });
  }

  it('AgentSession is `ags` with a status subresource and the Phase, Agent, Attempt, Repo and Age columns', () => {
    const { crd, version } = load('agentsessions.yaml');
    assert.deepEqual(crd.spec.names.shortNames, ['ags']);
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(
      version.additionalPrinterColumns?.map((column) => [column.name, column.jsonPath, column.priority ?? 0]),
      [
        ['Phase', '.status.phase', 0],
        ['Agent', '.spec.agent', 0],
        ['Attempt', '.status.attempt', 0],
        ['Repo', '.spec.repos[0].url', 1],
        ['Age', '.metadata.creationTimestamp', 0],
      ],
    );
  });

  it('AgentSession defaults autoPush true, retries 0 and desiredState Running', () => {
    const { schema } = load('agentsessions.yaml');
    assert.equal(child(schema, 'spec.repos.[].autoPush').default, true);
    assert.equal(child(schema, 'spec.retries').default, 0);
    assert.equal(child(schema, 'spec.desiredState').default, 'Running');
    assert.equal(child(schema, 'spec.workspace.retain').default, false);
  });

  it('AgentSession conditions are a list-map keyed by type in the metav1.Condition shape', () => {
    const { schema } = load('agentsessions.yaml');
    const conditions = child(schema, 'status.conditions');
    assert.equal(conditions['x-kubernetes-list-type'], 'map');
    assert.deepEqual(conditions['x-kubernetes-list-map-keys'], ['type']);
    assert.deepEqual(conditions.items?.required, [
      'type',
      'status',
      'lastTransitionTime',
      'reason',
      'message',
    ]);
    assert.equal(conditions.items?.properties?.message?.maxLength, 32768);
  });

  it('AgentSession refuses contradictory specs with CEL rules that name the field', () => {
    const { schema } = load('agentsessions.yaml');
    const specRules =
      child(schema, 'spec')['x-kubernetes-validations']?.map((rule) => rule.message ?? '') ?? [];
    assert.ok(
      specRules.some((message) =>
        /spec\.providerRef and spec\.provider are mutually exclusive/.test(message),
      ),
    );
    assert.ok(
      specRules.some((message) => /spec\.command is required when spec\.agent is command/.test(message)),
    );
    assert.ok(
      specRules.some((message) =>
        /spec\.command and spec\.args are only allowed when spec\.agent is command/.test(message),
      ),
    );
    const repoRules = child(schema, 'spec.repos.[]')['x-kubernetes-validations'] ?? [];
    assert.ok(repoRules.some((rule) => /outputBranch must differ/.test(rule.message ?? '')));
  });

  it('the CRD duration pattern is the one the TypeScript parser uses', () => {
    assert.equal(child(load('agentsessions.yaml').schema, 'spec.timeout').pattern, DURATION_PATTERN.source);
    assert.equal(
      child(load('agentconfigs.yaml').schema, 'spec.defaultTimeout').pattern,
      DURATION_PATTERN.source,
    );
  });

  it('the TypeScript types have exactly the CRD fields', () => {
    const session = load('agentsessions.yaml').schema;
    assertSameKeys(child(session, 'spec'), sessionSpecKeys, 'AgentSessionSpec');
    assertSameKeys(child(session, 'status'), sessionStatusKeys, 'AgentSessionStatus');
    const provider = load('agentproviders.yaml').schema;
    assertSameKeys(child(provider, 'spec'), providerSpecKeys, 'AgentProviderSpec');
    assertSameKeys(child(provider, 'status'), providerStatusKeys, 'AgentProviderStatus');
    assertSameKeys(child(load('agentconfigs.yaml').schema, 'spec'), configSpecKeys, 'AgentConfigSpec');
    const trigger = load('agenttriggers.yaml').schema;
    assertSameKeys(child(trigger, 'spec'), triggerSpecKeys, 'AgentTriggerSpec');
    assertSameKeys(child(trigger, 'spec.match'), triggerMatchKeys, 'TriggerMatch');
  });

  it('an AgentTrigger session template is checked exactly like an AgentSession spec', () => {
    const { description: _template, ...template } = child(
      load('agenttriggers.yaml').schema,
      'spec.sessionTemplate',
    );
    const { description: _spec, ...spec } = child(load('agentsessions.yaml').schema, 'spec');
    assert.deepEqual(template, spec, 'agenttriggers.yaml is out of date: run npm run crds:sync');
  });

  it('AgentTrigger is `agt` with Source, Ready and Age columns, and needs the Secrets its source uses', () => {
    const { crd, schema, version } = load('agenttriggers.yaml');
    assert.deepEqual(crd.spec.names.shortNames, ['agt']);
    assert.deepEqual(
      version.additionalPrinterColumns?.map((column) => column.name),
      ['Source', 'Ready', 'Age'],
    );
    assert.deepEqual(child(schema, 'spec.source').enum, ['github', 'gitea', 'jira', 'slack']);
    const messages = (child(schema, 'spec')['x-kubernetes-validations'] ?? []).map((r) => r.message ?? '');
    assert.ok(messages.some((m) => /spec\.webhookSecretRef is required/.test(m)));
    assert.ok(messages.some((m) => /spec\.forge is required/.test(m)));
    assert.equal(child(schema, 'spec.jira.pollInterval').pattern, DURATION_PATTERN.source);
  });

  it('the Helm chart installs these files behind crds.enabled', () => {
    const template = readFileSync(
      new URL('../../charts/shepherd/templates/crds.yaml', import.meta.url),
      'utf8',
    );
    assert.match(template, /\.Values\.crds\.enabled/);
    assert.match(template, /files\/crds\/\*\.yaml/);
    const values = parse(
      readFileSync(new URL('../../charts/shepherd/values.yaml', import.meta.url), 'utf8'),
    ) as { crds: { enabled: boolean } };
    assert.equal(values.crds.enabled, true);
  });
});
