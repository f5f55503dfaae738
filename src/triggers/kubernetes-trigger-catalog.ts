/**
 * The Kubernetes TriggerCatalog: one informer over AgentTriggers in every namespace, or one per
 * watched namespace (watch-scope.ts), supervised so that it outlives API server outages; each
 * trigger's template checked and its webhook Secret read through the SecretSource when the
 * trigger is added or changed, and every Secret read again each `secretRefreshMs` — a rotated
 * secret is picked up without watching Secrets, which would need list and watch on every Secret
 * of the cluster; reading needs only get on the ones named.
 * Routing reads the result from memory: no Kubernetes call on a delivery's path.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.js';
import { superviseInformer, type SupervisedInformerOptions } from '../reconcile/supervised-informer.js';
import { type WatchNamespaces, customObjectCollection, watchedInformer } from '../reconcile/watch-scope.js';
import { GROUP, PLURAL, VERSION } from '../resources/constants.js';
import type { AgentTrigger } from '../resources/types.js';
import { indexBySource, resolveCatalogTrigger, catalogKey, keyOf } from './catalog-entry.js';
import type { SecretSource } from './secret-source.js';
import { type SessionSpecValidator, sessionSpecValidator } from './template-validation.js';
import type { CatalogTrigger, TriggerCatalog } from './trigger-catalog.js';

/** Options of {@link startKubernetesTriggerCatalog}. */
export interface KubernetesTriggerCatalogOptions {
  kubeConfig: KubeConfig;
  /** The namespaces whose AgentTriggers are used; others are never seen. @default every namespace */
  namespaces?: WatchNamespaces;
  /** Where webhook secrets are read (kubernetesSecretSource in production). */
  secrets: SecretSource;
  logger: Logger;
  /** @default the AgentSession CRD's spec schema from the chart */
  validator?: SessionSpecValidator;
  /** How often every trigger's Secret is read again, in ms. @default 60000 */
  secretRefreshMs?: number;
  /** The informer's restart backoff. */
  backoff?: Pick<SupervisedInformerOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'healthyAfterMs'>;
}

/** Starts the informer; the catalog follows the cluster's AgentTriggers until stopped. */
export function startKubernetesTriggerCatalog(options: KubernetesTriggerCatalogOptions): TriggerCatalog {
  const { kubeConfig, secrets, logger } = options;
  const validator = options.validator ?? sessionSpecValidator();
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const entries = new Map<string, CatalogTrigger>();
  /** The newest object seen per key: a slow Secret read never overwrites a newer version. */
  const latest = new Map<string, AgentTrigger>();
  let bySource = new Map<string, CatalogTrigger[]>();
  const listeners: Array<() => void> = [];
  const pending = new Set<Promise<void>>();
  let stopped = false;

  const changed = () => {
    bySource = indexBySource(entries.values());
    for (const listener of listeners) listener();
  };

  const resolve = (trigger: AgentTrigger): Promise<void> => {
    const key = keyOf(trigger);
    const work = resolveCatalogTrigger(trigger, { secrets, validator, logger }, entries.get(key)).then(
      (entry) => {
        if (stopped || latest.get(key) !== trigger) return;
        const before = entries.get(key);
        if (entry.problem && entry.problem !== before?.problem) {
          logger.warn({ trigger: key, problem: entry.problem }, 'trigger cannot be used');
        }
        const same =
          before?.trigger === entry.trigger &&
          before.webhookSecret === entry.webhookSecret &&
          before.problem === entry.problem;
        entries.set(key, entry);
        if (!same) changed();
      },
    );
    pending.add(work);
    void work.finally(() => pending.delete(work));
    return work;
  };

  const informer = watchedInformer(
    kubeConfig,
    'agent-triggers',
    options.namespaces,
    customObjectCollection(custom, { group: GROUP, version: VERSION, plural: PLURAL.agentTrigger }),
  );
  // Once listed, the listed triggers' Secret reads are pending; the catalog is ready when they end.
  const listed = informer.listed().then(() => Promise.all([...pending]).then(() => undefined));
  const onUpsert = (object: KubernetesObject) => {
    const trigger = object as unknown as AgentTrigger;
    latest.set(keyOf(trigger), trigger);
    void resolve(trigger);
  };
  informer.on('add', onUpsert);
  informer.on('update', onUpsert);
  informer.on('delete', (object) => {
    const key = keyOf(object as unknown as AgentTrigger);
    latest.delete(key);
    if (entries.delete(key)) changed();
  });
  const supervised = Object.entries(informer.informers).map(([name, each]) =>
    superviseInformer(each, { name, logger, ...options.backoff }),
  );
  for (const each of supervised) void each.start();

  const refreshMs = options.secretRefreshMs ?? 60_000;
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    // One trigger at a time: a cluster with many triggers is read steadily, not in a burst.
    void (async () => {
      for (const trigger of [...latest.values()]) {
        if (stopped) break;
        await resolve(trigger);
      }
    })().finally(() => {
      refreshing = false;
    });
  }, refreshMs);
  timer.unref();

  return {
    bySource: (source) => bySource.get(source) ?? [],
    get: (namespace, name) => entries.get(catalogKey(namespace, name)),
    onChange: (listener) => {
      listeners.push(listener);
    },
    ready: () => listed,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(supervised.map((each) => each.stop()));
      await Promise.all([...pending]);
    },
  };
}
