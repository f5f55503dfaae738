/**
 * The Kubernetes trigger catalog against the test API server: AgentTriggers of every namespace
 * with their webhook secrets once ready, a rotated Secret picked up by the periodic re-read, a
 * missing Secret a problem until it is created, and a deleted trigger gone — each answered from
 * memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../src/resources/constants.js';
import type { AgentTrigger } from '../../src/resources/types.js';
import { startKubernetesTriggerCatalog } from '../../src/triggers/kubernetes-trigger-catalog.js';
import { kubernetesSecretSource } from '../../src/triggers/secret-source.js';
import { installCrds } from '../support/crds.js';
import { eventually, kubeConfig, testNamespace } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function trigger(namespace: string, name: string, secretName: string): AgentTrigger {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentTrigger',
    metadata: { name, namespace },
    spec: {
      source: 'gitea',
      match: { label: 'shepherd' },
      forge: { url: 'http://127.0.0.1:3000', credentialsSecretRef: { name: 'forge' } },
      webhookSecretRef: { name: secretName },
      sessionTemplate: { agent: 'command', command: ['true'] },
    },
  };
}

const createTrigger = (body: AgentTrigger) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: body.metadata.namespace!,
    plural: PLURAL.agentTrigger,
    body,
  });

const writeSecret = async (namespace: string, name: string, value: string) => {
  const body = { metadata: { name, namespace }, stringData: { secret: value } };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch {
    await core.replaceNamespacedSecret({ namespace, name, body });
  }
};

test(
  'AgentTriggers of every namespace with their secrets, kept up to date',
  { timeout: 120_000 },
  async (t) => {
    await installCrds(kc);
    const ns = await testNamespace(t, kc, 'triggers');
    await writeSecret(ns, 'webhook', 'first');
    await createTrigger(trigger(ns, 'labelled', 'webhook'));

    const catalog = startKubernetesTriggerCatalog({
      kubeConfig: kc,
      secrets: kubernetesSecretSource(kc),
      logger: silent,
      secretRefreshMs: 200,
    });
    let changes = 0;
    catalog.onChange(() => (changes += 1));
    try {
      await catalog.ready();
      // Ready means listed and every listed trigger's Secret read.
      assert.equal(catalog.get(ns, 'labelled')?.webhookSecret, 'first');
      assert.equal(catalog.get(ns, 'labelled')?.problem, undefined);
      assert.ok(catalog.bySource('gitea').some((e) => e.trigger.metadata.namespace === ns));

      await writeSecret(ns, 'webhook', 'rotated');
      await eventually(
        'the rotated secret',
        () => Promise.resolve(catalog.get(ns, 'labelled')?.webhookSecret),
        (value) => value === 'rotated',
      );

      await createTrigger(trigger(ns, 'early', 'not-yet'));
      const early = await eventually(
        'the trigger whose Secret is missing',
        () => Promise.resolve(catalog.get(ns, 'early')),
        (entry) => entry !== undefined,
      );
      assert.equal(early?.webhookSecret, undefined);
      assert.match(early?.problem ?? '', new RegExp(`Secret not-yet in namespace ${ns} has no key secret`));
      await writeSecret(ns, 'not-yet', 'now');
      await eventually(
        'the Secret created later',
        () => Promise.resolve(catalog.get(ns, 'early')),
        (entry) => entry?.webhookSecret === 'now' && entry.problem === undefined,
      );

      const before = changes;
      await custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL.agentTrigger,
        name: 'labelled',
      });
      await eventually(
        'the deleted trigger gone',
        () => Promise.resolve(catalog.get(ns, 'labelled')),
        (entry) => entry === undefined,
      );
      assert.ok(changes > before);
    } finally {
      await catalog.stop();
    }
  },
);
