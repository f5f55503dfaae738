/**
 * What loads the control plane during a run, read from kube-apiserver's and etcd's own metrics:
 * which resources' LISTs the API server had to serve from etcd (it keeps no watch cache of
 * Events, so those reach etcd and make it read every Event of the namespace), its open watches
 * by resource, and etcd's side: bytes sent to its clients, its heap, and its watchers, slow ones
 * and the events buffered for them. A run whose etcd grows without its database growing then
 * says whether reads or watches hold the memory.
 */
import { metricValue, sumBy } from './prometheus-text.js';

/** Cumulative counters and gauges at one moment. */
export interface LoadCounters {
  atMs: number;
  /** LISTs served from etcd, and the objects etcd returned for them, by resource. */
  storageLists: Map<string, number>;
  storageListFetched: Map<string, number>;
  /** Open WATCH requests by resource. */
  watches: Map<string, number>;
  etcdSentBytes: number;
  etcdHeapInUseBytes: number;
  etcdWatchers: number;
  etcdSlowWatchers: number;
  etcdPendingEvents: number;
}

/** One interval's load: rates over it, and the gauges at its end. */
export interface LoadSample {
  /** Seconds since the sampling began. */
  t: number;
  /** Per resource, LISTs per second served from etcd and the objects per second they read. */
  etcdLists: Record<string, { perS: number; objectsPerS: number }>;
  watches: Record<string, number>;
  etcdSentMiBPerS: number;
  etcdHeapInUseMiB: number;
  etcdWatchers: number;
  etcdSlowWatchers: number;
  etcdPendingEvents: number;
}

const MIB = 2 ** 20;

/** The counters of one reading of the API server's and etcd's `/metrics`. */
export function loadCounters(atMs: number, apiserverText: string, etcdText: string): LoadCounters {
  const number = (value: number | undefined) => value ?? NaN;
  return {
    atMs,
    storageLists: sumBy(apiserverText, 'apiserver_storage_list_total', 'resource'),
    storageListFetched: sumBy(apiserverText, 'apiserver_storage_list_fetched_objects_total', 'resource'),
    watches: new Map(
      [...sumBy(apiserverText, 'apiserver_longrunning_requests', 'resource')].filter(([, n]) => n > 0),
    ),
    etcdSentBytes: number(metricValue(etcdText, 'etcd_network_client_grpc_sent_bytes_total')),
    etcdHeapInUseBytes: number(metricValue(etcdText, 'go_memstats_heap_inuse_bytes')),
    etcdWatchers: number(metricValue(etcdText, 'etcd_debugging_mvcc_watcher_total')),
    etcdSlowWatchers: number(metricValue(etcdText, 'etcd_debugging_mvcc_slow_watcher_total')),
    etcdPendingEvents: number(metricValue(etcdText, 'etcd_debugging_mvcc_pending_events_total')),
  };
}

/** The load between two readings; `t` counts from `originMs`. */
export function loadBetween(before: LoadCounters, after: LoadCounters, originMs: number): LoadSample {
  const seconds = Math.max((after.atMs - before.atMs) / 1000, 1e-3);
  const rate = (a: number, b: number) => Number(((a - b) / seconds).toFixed(2));
  const etcdLists: LoadSample['etcdLists'] = {};
  for (const [resource, count] of after.storageLists) {
    const perS = rate(count, before.storageLists.get(resource) ?? 0);
    if (perS <= 0) continue;
    etcdLists[resource] = {
      perS,
      objectsPerS: rate(
        after.storageListFetched.get(resource) ?? 0,
        before.storageListFetched.get(resource) ?? 0,
      ),
    };
  }
  return {
    t: Math.round((after.atMs - originMs) / 1000),
    etcdLists,
    watches: Object.fromEntries(after.watches),
    etcdSentMiBPerS: rate(after.etcdSentBytes / MIB, before.etcdSentBytes / MIB),
    etcdHeapInUseMiB: Math.round(after.etcdHeapInUseBytes / MIB),
    etcdWatchers: after.etcdWatchers,
    etcdSlowWatchers: after.etcdSlowWatchers,
    etcdPendingEvents: after.etcdPendingEvents,
  };
}

/** A sample as one progress line: the resources whose etcd reads cost the most objects first. */
export function describeLoad(sample: LoadSample): string {
  const lists = Object.entries(sample.etcdLists)
    .sort(([, a], [, b]) => b.objectsPerS - a.objectsPerS)
    .slice(0, 4)
    .map(([resource, l]) => `${resource} ${l.perS}/s (${Math.round(l.objectsPerS)} objects/s)`)
    .join(', ');
  return `etcd LISTs: ${lists || 'none'}; etcd sent ${sample.etcdSentMiBPerS} MiB/s, heap ${sample.etcdHeapInUseMiB} MiB, watchers ${sample.etcdWatchers} (${sample.etcdSlowWatchers} slow, ${sample.etcdPendingEvents} events pending)`;
}
