/**
 * Lists every object of a collection in pages. A resync lists all runner pods or sessions of the
 * cluster; one unpaged list of thousands of pods is a multi-megabyte response that the API server
 * assembles in memory, while pages keep both sides' peak memory flat.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

/** Objects per page. */
export const PAGE_SIZE = 250;

/**
 * Calls `listPage` with a continue token until the collection is exhausted.
 *
 * @param listPage Lists one page: `limit` objects from `continueToken` (undefined for the first).
 */
export async function listAllPages<T extends KubernetesObject>(
  listPage: (page: { limit: number; continueToken: string | undefined }) => Promise<KubernetesListObject<T>>,
): Promise<T[]> {
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    const page = await listPage({ limit: PAGE_SIZE, continueToken });
    items.push(...page.items);
    continueToken = page.metadata?._continue || undefined;
  } while (continueToken);
  return items;
}
