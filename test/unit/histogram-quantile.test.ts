/** The benchmark's reading of a Prometheus histogram, against PromQL's histogram_quantile. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketDelta, histogramBuckets, histogramQuantile } from '../../bench/histogram-quantile.js';

const exposition = `# HELP task_schedule_to_start_latency task_schedule_to_start_latency histogram
# TYPE task_schedule_to_start_latency histogram
task_schedule_to_start_latency_bucket{namespace="default",task_type="Workflow",le="0.01"} 10
task_schedule_to_start_latency_bucket{namespace="default",task_type="Workflow",le="0.1"} 90
task_schedule_to_start_latency_bucket{namespace="default",task_type="Workflow",le="1"} 100
task_schedule_to_start_latency_bucket{namespace="default",task_type="Workflow",le="+Inf"} 100
task_schedule_to_start_latency_bucket{namespace="default",task_type="Activity",le="0.01"} 0
task_schedule_to_start_latency_bucket{namespace="default",task_type="Activity",le="0.1"} 0
task_schedule_to_start_latency_bucket{namespace="default",task_type="Activity",le="1"} 0
task_schedule_to_start_latency_bucket{namespace="default",task_type="Activity",le="+Inf"} 50
task_schedule_to_start_latency_count{namespace="default",task_type="Workflow"} 100
`;

test('only the series whose labels match are summed, per upper bound', () => {
  const buckets = histogramBuckets(exposition, 'task_schedule_to_start_latency', { task_type: 'Workflow' });
  assert.deepEqual(
    [...buckets],
    [
      [0.01, 10],
      [0.1, 90],
      [1, 100],
      [Infinity, 100],
    ],
  );
});

test('quantiles interpolate inside their bucket, as PromQL does', () => {
  const buckets = histogramBuckets(exposition, 'task_schedule_to_start_latency', { task_type: 'Workflow' });
  // rank 50 of 100 falls in (0.01, 0.1] holding 80 observations: 0.01 + 0.09 * 40/80.
  assert.ok(Math.abs(histogramQuantile(0.5, buckets) - 0.055) < 1e-9);
  // rank 95 falls in (0.1, 1] holding 10: 0.1 + 0.9 * 5/10.
  assert.ok(Math.abs(histogramQuantile(0.95, buckets) - 0.55) < 1e-9);
  const activity = histogramBuckets(exposition, 'task_schedule_to_start_latency', { task_type: 'Activity' });
  assert.equal(histogramQuantile(0.95, activity), 1, 'beyond the last finite bound: that bound');
  assert.ok(Number.isNaN(histogramQuantile(0.95, new Map())));
});

test('a run is measured as the difference of two readings', () => {
  const before = new Map([
    [0.1, 5],
    [Infinity, 5],
  ]);
  const after = new Map([
    [0.1, 15],
    [Infinity, 25],
  ]);
  assert.deepEqual(
    [...bucketDelta(after, before)],
    [
      [0.1, 10],
      [Infinity, 20],
    ],
  );
});
