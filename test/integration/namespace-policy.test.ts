/**
 * NamespacePolicy enforced by the worker's validate step and by the API, on the real API server
 * with a real worker process: each rule refused with the rule and the field named and nothing
 * created; Secrets not labelled usable never read; no reference reaches another namespace. The
 * third place, admission at `kubectl apply`, has its own file (namespace-policy-admission).
 *
 * The rules here come from the installation's default policy (SHEPHERD_DEFAULT_POLICY) of the
 * worker and the API, which admission does not see, so the violating AgentSessions are let in and
 * it is the workflow that must refuse them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { sessionObjectNames } from '../../src/runtime/kubernetes/builders/session-names.js';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionSpec, NamespacePolicySpec } from '../../src/resources/types.js';
import { installCrds } from '../support/crds.js';
import { envVar, eventually, kubeConfig } from '../support/kube.js';
import {
  aliceHeaders,
  createApiNamespace,
  fakeRunSession,
  grantSessions,
  kubernetesApi,
} from '../support/kubernetes-api.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const objects = shepherdObjects(kc);

/** Every rule at once; each case below breaks exactly one of them (two for the forge host). */
const POLICY: NamespacePolicySpec = {
  allowedAgents: ['command', 'opencode'],
  allowedModels: ['claude-sonnet-*'],
  allowedImages: ['shepherd/runner:*'],
  allowedRepositories: ['https://git.example.com/team/*', 'https://other.example.org/team/*'],
  allowedForgeHosts: ['git.example.com'],
  maxTimeout: '1h',
  maxRetries: 1,
  maxResources: { cpu: '2', memory: '4Gi' },
  maxWorkspaceSize: '20Gi',
  allowedNodeSelectorKeys: ['pool'],
  allowedTolerations: [{ key: 'dedicated', value: 'agents' }],
  allowedPodMetadataPrefixes: ['kwok.shepherd.dev/', 'team.example.com/'],
};

/** A spec change that breaks one rule, the rule and field the refusal must name. */
const CASES: { name: string; rule: string; field: string; spec: Partial<AgentSessionSpec> }[] = [
  {
    name: 'agent',
    rule: 'allowedAgents',
    field: 'spec.agent',
    spec: { agent: 'claude', initialPrompt: 'hi', command: undefined },
  },
  { name: 'model', rule: 'allowedModels', field: 'spec.model', spec: { model: 'gpt-4o' } },
  { name: 'image', rule: 'allowedImages', field: 'spec.image', spec: { image: 'evil.example.org/miner:1' } },
  {
    name: 'repo',
    rule: 'allowedRepositories',
    field: 'spec.repos[].url',
    spec: { repos: [{ url: 'https://git.example.com/elsewhere/x.git' }] },
  },
  {
    name: 'forge-host',
    rule: 'allowedForgeHosts',
    field: 'spec.repos[].url',
    spec: { repos: [{ url: 'https://other.example.org/team/x.git' }] },
  },
  {
    name: 'pr-forge',
    rule: 'allowedForgeHosts',
    field: 'spec.pullRequest.forge.url',
    spec: {
      repos: [{ url: 'https://other.example.org/team/x.git' }],
      pullRequest: { forge: { type: 'gitea', url: 'https://other.example.org' } },
    },
  },
  { name: 'timeout', rule: 'maxTimeout', field: 'spec.timeout', spec: { timeout: '2h' } },
  { name: 'retries', rule: 'maxRetries', field: 'spec.retries', spec: { retries: 3 } },
  {
    name: 'resources',
    rule: 'maxResources',
    field: 'spec.resources',
    spec: { resources: { limits: { cpu: '4' } } },
  },
  {
    name: 'workspace',
    rule: 'maxWorkspaceSize',
    field: 'spec.workspace.size',
    spec: { workspace: { size: '50Gi' } },
  },
  {
    name: 'node-selector',
    rule: 'allowedNodeSelectorKeys',
    field: 'spec.nodeSelector',
    spec: { nodeSelector: { zone: 'a' } },
  },
  {
    name: 'toleration',
    rule: 'allowedTolerations',
    field: 'spec.tolerations',
    spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] },
  },
  {
    name: 'pod-metadata',
    rule: 'allowedPodMetadataPrefixes',
    field: 'spec.podMetadata',
    spec: { podMetadata: { labels: { 'evil.example.org/x': '1' } } },
  },
];

let worker: WorkerProcess;
let connection: Connection;
let app: FastifyInstance;
let ns: string;

/** A fake run's spec (KWOK plays the runner) with `extra` merged in. */
function fakeSpec(extra: Partial<AgentSessionSpec> = {}): AgentSessionSpec {
  return fakeRunSession('x', {}, { exitCode: 0, duration: '1s' }, extra).spec as AgentSessionSpec;
}

/** The session's Failed condition, which carries the reason and the message. */
function failure(session: AgentSession) {
  return session.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
}

async function ended(namespace: string, name: string): Promise<AgentSession> {
  return eventually(
    `session ${name} to end`,
    () => objects.readSession(namespace, name),
    (s) => ['Succeeded', 'Failed', 'Stopped', 'TimedOut'].includes(s.status?.phase ?? ''),
    90_000,
  );
}

/** What of the session's objects exist in `namespace`. */
async function madeObjects(namespace: string, name: string): Promise<string[]> {
  const names = sessionObjectNames(name);
  const found: string[] = [];
  const exists = async (what: string, read: () => Promise<unknown>) => {
    try {
      await read();
      found.push(what);
    } catch {
      // absent
    }
  };
  await exists('pvc', () => core.readNamespacedPersistentVolumeClaim({ name: names.pvc, namespace }));
  await exists('secret', () => core.readNamespacedSecret({ name: names.secret, namespace }));
  await exists('serviceaccount', () => core.readNamespacedServiceAccount({ name: names.runner, namespace }));
  const jobs = await batch.listNamespacedJob({ namespace });
  for (const job of jobs.items) if (job.metadata?.name?.startsWith(`${name}-a`)) found.push('job');
  return found;
}

async function secret(namespace: string, name: string, labels: Record<string, string> = {}) {
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name, labels }, stringData: { token: `value-of-${name}` } },
  });
}

before(async () => {
  await installCrds(kc);
  worker = await startWorkerProcess({ SHEPHERD_DEFAULT_POLICY: JSON.stringify(POLICY) });
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  app = await kubernetesApi(new Client({ connection }), worker.taskQueue, { defaultPolicy: POLICY });
  ns = await createApiNamespace(kc, 'policy');
  await grantSessions(kc, ns, 'alice');
});

after(async () => {
  await worker?.stop();
  await connection?.close();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

test('the workflow refuses a session that breaks each rule, naming the rule and field, and creates nothing', async () => {
  for (const c of CASES) await objects.createSession(ns, `wf-${c.name}`, fakeSpec(c.spec), worker.labels);
  await objects.createSession(ns, 'wf-compliant', fakeSpec({ timeout: '30m', retries: 1 }), worker.labels);
  for (const c of CASES) {
    const session = await ended(ns, `wf-${c.name}`);
    assert.equal(session.status?.phase, 'Failed', `${c.name}: ${JSON.stringify(session.status)}`);
    assert.equal(failure(session)?.reason, 'PolicyViolation', c.name);
    assert.ok(
      failure(session)?.message?.includes(`NamespacePolicy ${ns}/default rule ${c.rule}: ${c.field} `),
      `${c.name}: ${failure(session)?.message}`,
    );
    assert.deepEqual(await madeObjects(ns, `wf-${c.name}`), [], `${c.name} made objects`);
  }
  const compliant = await ended(ns, 'wf-compliant');
  assert.equal(compliant.status?.phase, 'Succeeded', JSON.stringify(compliant.status));
});

test('the API refuses a session that breaks each rule with 403 PolicyViolation and the rule', async () => {
  for (const c of CASES) {
    const response = await app.inject({
      method: 'POST',
      url: `/api/v1/namespaces/${ns}/sessions`,
      headers: aliceHeaders(),
      payload: fakeRunSession(`api-${c.name}`, worker.labels, { exitCode: 0, duration: '1s' }, c.spec),
    });
    assert.equal(response.statusCode, 403, `${c.name}: ${response.body}`);
    const body = response.json<{
      code: string;
      message: string;
      details: {
        rule: string;
        field: string;
        violations: { rule: string; field: string; message: string }[];
      };
    }>();
    assert.equal(body.code, 'PolicyViolation');
    const violation = body.details.violations.find((v) => v.rule === c.rule && v.field === c.field);
    assert.ok(violation, `${c.name}: ${body.message}`);
    assert.equal(body.details.rule, body.details.violations[0]?.rule);
    assert.ok(body.message.includes(`rule ${c.rule}: ${c.field} `), body.message);
    // Nothing was created: the CR does not exist.
    await assert.rejects(objects.readSession(ns, `api-${c.name}`), c.name);
  }
});

test('a default from the AgentConfig that breaks the policy is refused too', async () => {
  const namespace = await createApiNamespace(kc, 'policy-config');
  try {
    await objects.createConfig(namespace, { defaultImage: 'evil.example.org/miner:1' });
    const { image: _image, ...spec } = fakeSpec();
    await objects.createSession(namespace, 'defaulted', spec, worker.labels);
    const session = await ended(namespace, 'defaulted');
    assert.equal(failure(session)?.reason, 'PolicyViolation');
    assert.match(
      failure(session)?.message ?? '',
      /rule allowedImages: spec\.image evil\.example\.org\/miner:1 /,
    );
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
});

test('a tenant cannot make the worker read a Secret not marked usable, nor one of another namespace', async () => {
  const a = await createApiNamespace(kc, 'tenant-a');
  const b = await createApiNamespace(kc, 'tenant-b');
  try {
    await objects.createPolicy(a, { usableSecrets: { matchLabels: { 'shepherd.dev/usable': 'true' } } });
    await secret(a, 'unmarked');
    await secret(a, 'marked', { 'shepherd.dev/usable': 'true' });
    await secret(b, 'only-in-b', { 'shepherd.dev/usable': 'true' });
    const withSecret = (name: string, secretName: string) =>
      objects.createSession(
        a,
        name,
        fakeSpec({
          env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: secretName, key: 'token' } } }],
        }),
        worker.labels,
      );
    const inlineToken = (name: string, secretName: string) =>
      objects.createSession(
        a,
        name,
        fakeSpec({
          provider: { authTokenSecretRef: { name: secretName, key: 'token' } },
        }),
        worker.labels,
      );
    await withSecret('env-unmarked', 'unmarked');
    await inlineToken('token-unmarked', 'unmarked');
    await withSecret('env-marked', 'marked');
    await inlineToken('token-other-namespace', 'only-in-b');

    for (const [name, field] of [
      ['env-unmarked', 'spec.env[0].valueFrom.secretKeyRef'],
      ['token-unmarked', 'spec.provider.authTokenSecretRef'],
    ] as const) {
      const session = await ended(a, name);
      assert.equal(failure(session)?.reason, 'PolicyViolation', JSON.stringify(session.status));
      assert.ok(
        failure(session)?.message?.includes(`rule usableSecrets: ${field} names Secret unmarked`),
        failure(session)?.message,
      );
      assert.deepEqual(await madeObjects(a, name), [], `${name} made objects`);
    }
    const marked = await ended(a, 'env-marked');
    assert.equal(marked.status?.phase, 'Succeeded', JSON.stringify(marked.status));

    // References are names in the session's own namespace: B's Secret is not found from A, and
    // nothing of its value ends up anywhere in A.
    const other = await ended(a, 'token-other-namespace');
    assert.equal(other.status?.phase, 'Failed');
    assert.equal(failure(other)?.reason, 'CredentialsNotFound', JSON.stringify(other.status));
    assert.match(failure(other)?.message ?? '', new RegExp(`does not exist in namespace ${a}`));
    const secrets = await core.listNamespacedSecret({ namespace: a });
    for (const item of secrets.items) {
      const values = Object.values(item.data ?? {}).map((v) => Buffer.from(v, 'base64').toString());
      assert.ok(
        !values.some((v) => v.includes('value-of-only-in-b')),
        `${item.metadata?.name} holds B's value`,
      );
    }
  } finally {
    for (const name of [a, b]) await core.deleteNamespace({ name }).catch(() => undefined);
  }
});

test('examples/namespace-policy.yaml is a valid NamespacePolicy', async () => {
  const namespace = await createApiNamespace(kc, 'policy-example');
  try {
    const body = k8s.loadYaml<Record<string, unknown>>(
      readFileSync(new URL('../../examples/namespace-policy.yaml', import.meta.url), 'utf8'),
    );
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL.namespacePolicy,
      body,
    });
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
});
