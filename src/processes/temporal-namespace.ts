/**
 * Making a Temporal namespace ready for sessions: registered, with Shepherd's search attributes
 * (src/common/search-attributes.ts), which the session workflow sets and the server refuses
 * undeclared. One home for what the PostgreSQL-backed server, the tests' namespaces and the
 * time-skipping test server each need (the dev server takes them as flags).
 */
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';

const INDEXED_VALUE_TYPES = {
  Keyword: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
};
/** gRPC ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

/** Registers `namespace` with a day's retention; one that exists already is left as it is. */
export async function registerNamespace(connection: Connection, namespace: string): Promise<void> {
  await connection.workflowService
    .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
    .catch((error: { code?: number }) => {
      if (error.code !== ALREADY_EXISTS) throw error;
    });
}

/** Adds Shepherd's search attributes named in `names` (by default all of them) to `namespace`. */
export async function addSearchAttributes(
  connection: Connection,
  namespace: string,
  names: readonly string[] = Object.values(SEARCH_ATTRIBUTES).map((attribute) => attribute.name),
): Promise<void> {
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      Object.values(SEARCH_ATTRIBUTES)
        .filter((attribute) => names.includes(attribute.name))
        .map((attribute) => [attribute.name, INDEXED_VALUE_TYPES[attribute.type]]),
    ),
  });
}

/**
 * Those of Shepherd's search attributes `namespace` does not list yet (a server adds them
 * asynchronously), or undefined when the server does not answer.
 */
export async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<string[] | undefined> {
  const current = await connection.operatorService.listSearchAttributes({ namespace }).catch(() => undefined);
  if (!current) return undefined;
  return Object.values(SEARCH_ATTRIBUTES)
    .map((attribute) => attribute.name)
    .filter((name) => !(name in (current.customAttributes ?? {})));
}
