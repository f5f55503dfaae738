/**
 * Which namespaces a process lists and watches: the whole cluster (the default), or only the
 * namespaces `SHEPHERD_WATCH_NAMESPACES` names, for an install whose RBAC is a Role per namespace
 * rather than a ClusterRole. Every list and watch of the worker and the API that would span the
 * cluster goes through here, so namespaced mode is decided in one place: one cluster-wide list
 * and watch, or one per listed namespace with the same selectors, handlers and cache lookups.
 * Objects in a namespace that is not listed are never seen.
 */
import {
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  type ObjectCallback,
  Watch,
} from '@kubernetes/client-node';
import { listAllPages } from './paged-list.js';

/** The namespaces watched; undefined for every namespace of the cluster. */
export type WatchNamespaces = readonly string[] | undefined;

/** A namespace name as Kubernetes takes it: an RFC 1123 label. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The namespaces of a comma-separated `value` read from variable `variable`; unset or empty means
 * every namespace. Throws naming the variable on a name Kubernetes would refuse.
 */
export function parseWatchNamespaces(value: string | undefined, variable: string): WatchNamespaces {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return undefined;
  for (const name of names) {
    if (name.length > 63 || !DNS_1123_LABEL.test(name))
      throw new Error(
        `${variable} must be namespace names separated by commas (lowercase letters, digits and '-', at most 63 characters), not "${name}"`,
      );
  }
  return [...new Set(names)];
}

/** The selectors and paging of a list; the same for a cluster-wide and a namespaced list. */
export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  _continue?: string;
}

/** How one collection is listed across the cluster and in one namespace. */
export interface Collection<T extends KubernetesObject> {
  /** The cluster-wide collection path, e.g. `/api/v1/pods`; a namespace's is derived from it. */
  path: string;
  listAll(params: ListParams): Promise<KubernetesListObject<T>>;
  listIn(namespace: string, params: ListParams): Promise<KubernetesListObject<T>>;
}

/** The collection of a custom resource, e.g. AgentSessions, listed through `custom`. */
export function customObjectCollection(
  custom: CustomObjectsApi,
  resource: { group: string; version: string; plural: string },
): Collection<KubernetesObject> {
  type List = Promise<KubernetesListObject<KubernetesObject>>;
  return {
    path: `/apis/${resource.group}/${resource.version}/${resource.plural}`,
    listAll: (params) => custom.listClusterCustomObject({ ...resource, ...params }) as List,
    listIn: (namespace, params) =>
      custom.listNamespacedCustomObject({ ...resource, namespace, ...params }) as List,
  };
}

/** One list-and-watch target: the whole cluster, or one namespace. */
interface Scope<T extends KubernetesObject> {
  /** Undefined for the whole cluster. */
  namespace: string | undefined;
  path: string;
  list(params: ListParams): Promise<KubernetesListObject<T>>;
}

function scopesOf<T extends KubernetesObject>(
  namespaces: WatchNamespaces,
  collection: Collection<T>,
): Scope<T>[] {
  if (!namespaces)
    return [{ namespace: undefined, path: collection.path, list: (params) => collection.listAll(params) }];
  // `/apis/batch/v1/jobs` → `/apis/batch/v1/namespaces/<namespace>/jobs`.
  const cut = collection.path.lastIndexOf('/');
  return namespaces.map((namespace) => ({
    namespace,
    path: `${collection.path.slice(0, cut)}/namespaces/${namespace}${collection.path.slice(cut)}`,
    list: (params) => collection.listIn(namespace, params),
  }));
}

/** Every object of `collection` in the watched namespaces, in pages, one namespace after another. */
export async function listWatched<T extends KubernetesObject>(
  namespaces: WatchNamespaces,
  collection: Collection<T>,
  params: Pick<ListParams, 'labelSelector' | 'fieldSelector'> = {},
): Promise<T[]> {
  const items: T[] = [];
  for (const scope of scopesOf(namespaces, collection)) {
    items.push(
      ...(await listAllPages((page) =>
        scope.list({
          ...params,
          limit: page.limit,
          ...(page.continueToken ? { _continue: page.continueToken } : {}),
        }),
      )),
    );
  }
  return items;
}

/** The informers over one collection in the watched namespaces, used as one. */
export interface WatchedInformer<T extends KubernetesObject> {
  /**
   * The informers by the name their logs carry (`name`, or `name/<namespace>` for each listed
   * namespace), for the reconcile loop or superviseInformer to start and supervise.
   */
  informers: Record<string, Informer<T>>;
  /** Registers `callback` on every informer. */
  on(verb: 'add' | 'update' | 'delete', callback: ObjectCallback<T>): void;
  /** The cached object, from the informer of its namespace. */
  get(name: string, namespace: string | undefined): T | undefined;
  /** Every cached object, of every watched namespace. */
  cached(): T[];
  /** Resolves once every informer's first list has returned and its objects reached the handlers. */
  listed(): Promise<void>;
}

/** Makes the informers of `collection` for the watched namespaces; nothing runs until they are started. */
export function watchedInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  name: string,
  namespaces: WatchNamespaces,
  collection: Collection<T>,
  selectors: Pick<ListParams, 'labelSelector' | 'fieldSelector'> = {},
): WatchedInformer<T> {
  const byNamespace = new Map<string | undefined, ListWatch<T>>();
  const informers: Record<string, Informer<T>> = {};
  const firstLists: Array<Promise<void>> = [];
  for (const scope of scopesOf(namespaces, collection)) {
    let markListed: () => void = () => undefined;
    firstLists.push(
      new Promise<void>((resolve) => {
        markListed = resolve;
      }),
    );
    const informer = new ListWatch<T>(
      scope.path,
      new Watch(kubeConfig),
      async () => {
        const list = await scope.list(selectors);
        // The informer hands the listed objects to the handlers right after this returns.
        setImmediate(markListed);
        return list;
      },
      false,
      selectors.labelSelector,
      selectors.fieldSelector,
    );
    byNamespace.set(scope.namespace, informer);
    informers[scope.namespace === undefined ? name : `${name}/${scope.namespace}`] = informer;
  }
  const all = Promise.all(firstLists).then(() => undefined);
  return {
    informers,
    on(verb, callback) {
      for (const informer of byNamespace.values()) informer.on(verb, callback);
    },
    get(objectName, namespace) {
      const informer = byNamespace.get(namespaces ? namespace : undefined);
      return informer?.get(objectName, namespace);
    },
    cached: () => [...byNamespace.values()].flatMap((informer) => informer.list()),
    listed: () => all,
  };
}
