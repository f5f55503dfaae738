/** The benchmark's reading of the control plane's load from kube-apiserver's and etcd's metrics. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLoad, loadBetween, loadCounters } from '../../bench/cluster-load.js';
import { metricSeries, metricValue, sumBy } from '../../bench/prometheus-text.js';

const apiserver = (
  events: number,
  eventObjects: number,
  pods: number,
) => `# HELP apiserver_storage_list_total Number of LIST requests served from storage
# TYPE apiserver_storage_list_total counter
apiserver_storage_list_total{group="",resource="events"} ${events}
apiserver_storage_list_total{group="",resource="pods"} ${pods}
apiserver_storage_list_total{group="events.k8s.io",resource="events"} 1
apiserver_storage_list_fetched_objects_total{group="",resource="events"} ${eventObjects}
apiserver_storage_list_fetched_objects_total{group="",resource="pods"} ${pods * 10}
apiserver_storage_list_total_extra{resource="events"} 999
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_longrunning_requests{component="apiserver",group="",resource="events",scope="namespace",subresource="",verb="WATCH",version="v1"} 2
apiserver_longrunning_requests{component="apiserver",group="",resource="events",scope="cluster",subresource="",verb="WATCH",version="v1"} 1
apiserver_longrunning_requests{component="apiserver",group="",resource="nodes",scope="cluster",subresource="",verb="WATCH",version="v1"} 0
`;
const etcd = (sentBytes: number) => `# TYPE etcd_network_client_grpc_sent_bytes_total counter
etcd_network_client_grpc_sent_bytes_total ${sentBytes}
go_memstats_heap_inuse_bytes 1.073741824e+09
etcd_debugging_mvcc_watcher_total 40
etcd_debugging_mvcc_slow_watcher_total 2
etcd_debugging_mvcc_pending_events_total 7
`;

test('a metric is read by its exact name, with its labels', () => {
  const text = apiserver(5, 50, 1);
  assert.deepEqual(metricSeries(text, 'apiserver_storage_list_total').length, 3);
  assert.deepEqual(
    [...sumBy(text, 'apiserver_storage_list_total', 'resource')],
    [
      ['events', 6],
      ['pods', 1],
    ],
  );
  assert.equal(metricValue(etcd(10), 'etcd_network_client_grpc_sent_bytes_total'), 10);
  assert.equal(metricValue(etcd(10), 'etcd_network_client_grpc_sent_bytes'), undefined);
});

test('the load between two readings is a rate per resource, and the gauges of the later one', () => {
  const before = loadCounters(1_000, apiserver(10, 1_000, 5), etcd(0));
  const after = loadCounters(61_000, apiserver(70, 601_000, 5), etcd(60 * 2 ** 20));
  const sample = loadBetween(before, after, 1_000);
  assert.equal(sample.t, 60);
  // Pods were not listed from etcd in between, so they are not in the sample.
  assert.deepEqual(sample.etcdLists, { events: { perS: 1, objectsPerS: 10_000 } });
  assert.deepEqual(sample.watches, { pods: 3, events: 3 });
  assert.equal(sample.etcdSentMiBPerS, 1);
  assert.equal(sample.etcdHeapInUseMiB, 1024);
  assert.deepEqual([sample.etcdWatchers, sample.etcdSlowWatchers, sample.etcdPendingEvents], [40, 2, 7]);
  assert.equal(
    describeLoad(sample),
    'etcd LISTs: events 1/s (10000 objects/s); etcd sent 1 MiB/s, heap 1024 MiB, watchers 40 (2 slow, 7 events pending)',
  );
});
