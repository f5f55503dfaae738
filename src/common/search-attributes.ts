/**
 * Custom search attributes that make sessions filterable in the Temporal Web UI and through
 * `ListWorkflowExecutions`. The Temporal dev server that the embedded stack and the test
 * environment start registers them (src/processes/temporal-dev-server.ts); on any other Temporal
 * server an operator registers them once (docs/operations.md). Set by the session workflow. Kept
 * free of Node imports so workflow code can use it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Name and Temporal type of every search attribute Shepherd uses. */
export const SEARCH_ATTRIBUTES = {
  /** Kubernetes namespace (tenant) of the session. */
  namespace: { name: 'ShepherdNamespace', type: 'Keyword' },
  /** Session name inside its namespace. */
  session: { name: 'ShepherdSession', type: 'Keyword' },
  /** Current phase, e.g. `Running` or `Failed`. */
  phase: { name: 'ShepherdPhase', type: 'Keyword' },
  /** Agent kind: `claude`, `opencode` or `command`. */
  agent: { name: 'ShepherdAgent', type: 'Keyword' },
  /** URL of the session's first repository. */
  repo: { name: 'ShepherdRepo', type: 'Keyword' },
} as const;

/** Typed keys for the attributes above, for `typedSearchAttributes` and `upsertSearchAttributes`. */
export const SEARCH_ATTRIBUTE_KEYS = {
  namespace: defineSearchAttributeKey(SEARCH_ATTRIBUTES.namespace.name, SearchAttributeType.KEYWORD),
  session: defineSearchAttributeKey(SEARCH_ATTRIBUTES.session.name, SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey(SEARCH_ATTRIBUTES.phase.name, SearchAttributeType.KEYWORD),
  agent: defineSearchAttributeKey(SEARCH_ATTRIBUTES.agent.name, SearchAttributeType.KEYWORD),
  repo: defineSearchAttributeKey(SEARCH_ATTRIBUTES.repo.name, SearchAttributeType.KEYWORD),
} as const;
