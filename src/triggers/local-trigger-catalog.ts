/**
 * The local runtime's TriggerCatalog: the AgentTriggers of the local resources file
 * (`SHEPHERD_TRIGGERS_FILE`, see local-resources.ts), their webhook secrets from the Secrets in the
 * same file or the environment (localSecretSource), read at start and again every `refreshMs` —
 * so editing the file or the secrets takes effect without a restart — and kept in memory, so a
 * delivery is answered without touching the disk.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { indexBySource, resolveCatalogTrigger, catalogKey, keyOf } from './catalog-entry.js';
import { localResourcesFile } from './local-resources.js';
import { localSecretSource } from './secret-source.js';
import { type SessionSpecValidator, sessionSpecValidator } from './template-validation.js';
import type { CatalogTrigger, TriggerCatalog } from './trigger-catalog.js';

/** Options of {@link startLocalTriggerCatalog}. */
export interface LocalTriggerCatalogOptions {
  /** The triggers file; none means no triggers (every delivery is refused). */
  file: string | undefined;
  logger: Logger;
  /** Where secrets not in the file are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default the AgentSession CRD's spec schema from the chart */
  validator?: SessionSpecValidator;
  /** How often the file and the secrets are read again, in ms. @default 2000 */
  refreshMs?: number;
}

/** What changes when a trigger's entry changes; the secret only as a hash. */
function fingerprint(entry: CatalogTrigger): string {
  const secret = entry.webhookSecret ? createHash('sha256').update(entry.webhookSecret).digest('hex') : '';
  return JSON.stringify([entry.trigger, secret, entry.problem ?? '']);
}

/** Reads the triggers file and keeps its triggers in memory until stopped. */
export function startLocalTriggerCatalog(options: LocalTriggerCatalogOptions): TriggerCatalog {
  const { logger } = options;
  const refreshMs = options.refreshMs ?? 2000;
  const validator = options.validator ?? sessionSpecValidator();
  let lastError = '';
  const resources = localResourcesFile(options.file, (error) => {
    if (error.message !== lastError)
      logger.warn({ file: options.file, error: error.message }, 'triggers file');
    lastError = error.message;
  });
  const secrets = localSecretSource(resources, options.env);
  let entries = new Map<string, CatalogTrigger>();
  let bySource = new Map<string, CatalogTrigger[]>();
  const listeners: Array<() => void> = [];

  const refresh = async (): Promise<void> => {
    const next = new Map<string, CatalogTrigger>();
    for (const trigger of resources().triggers) {
      const key = keyOf(trigger);
      next.set(key, await resolveCatalogTrigger(trigger, { secrets, validator, logger }, entries.get(key)));
    }
    const changed =
      next.size !== entries.size ||
      [...next].some(([key, entry]) => {
        const before = entries.get(key);
        return !before || fingerprint(before) !== fingerprint(entry);
      });
    if (!changed) return;
    for (const [key, entry] of next) {
      if (entry.problem && entry.problem !== entries.get(key)?.problem) {
        logger.warn({ trigger: key, problem: entry.problem }, 'trigger cannot be used');
      }
    }
    entries = next;
    bySource = indexBySource(entries.values());
    for (const listener of listeners) listener();
  };

  const first = refresh();
  let running: Promise<void> | undefined = first.finally(() => {
    running = undefined;
  });
  const timer = setInterval(() => {
    // A refresh slower than the interval is not stacked behind by another.
    if (running) return;
    running = refresh()
      .catch((error: unknown) => {
        logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'reading triggers failed',
        );
      })
      .finally(() => {
        running = undefined;
      });
  }, refreshMs);
  timer.unref();

  return {
    bySource: (source) => bySource.get(source) ?? [],
    get: (namespace, name) => entries.get(catalogKey(namespace, name)),
    onChange: (listener) => {
      listeners.push(listener);
    },
    ready: () => first,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
