/**
 * The AgentTriggers Shepherd routes with, held in memory so a webhook is answered without a call to
 * Kubernetes: every trigger, and the webhook secret of each, kept up to date in the background.
 * Two implementations: an informer over AgentTriggers (Kubernetes) and the local resources file.
 */
import type { AgentTrigger } from '../resources/types.js';

/** A trigger as routing sees it. */
export interface CatalogTrigger {
  trigger: AgentTrigger;
  /** The webhook secret's value, when the trigger has one and its Secret could be read. */
  webhookSecret?: string;
  /** Why the trigger cannot be used (bad template, missing Secret), when it cannot. */
  problem?: string;
}

/** The triggers, from memory. */
export interface TriggerCatalog {
  /** Every trigger of `source` (all namespaces). */
  bySource(source: AgentTrigger['spec']['source']): readonly CatalogTrigger[];
  /** One trigger, by namespace and name. */
  get(namespace: string, name: string): CatalogTrigger | undefined;
  /** Calls `listener` after every change (add, update, delete, a Secret read again). */
  onChange(listener: () => void): void;
  /** Resolves once the first full list has been read. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}
