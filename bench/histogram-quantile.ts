/**
 * A quantile of a Prometheus histogram read from a text exposition, as PromQL's
 * `histogram_quantile` computes it: the `_bucket` series of the metric whose labels match are
 * summed per upper bound, and the quantile is interpolated linearly inside its bucket. The
 * benchmark reads the Temporal server's workflow-task schedule-to-start latency this way.
 */
import { metricSeries } from './prometheus-text.js';

/** Cumulative count per upper bound (`le`), summed over the matching series. */
export function histogramBuckets(
  text: string,
  metric: string,
  labels: Record<string, string>,
): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const series of metricSeries(text, `${metric}_bucket`)) {
    if (!Object.entries(labels).every(([key, want]) => series.labels[key] === want)) continue;
    const le = series.labels.le === '+Inf' ? Infinity : Number(series.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + series.value);
  }
  return buckets;
}

/** The q-quantile (0..1) of cumulative buckets; NaN when there are no observations. */
export function histogramQuantile(q: number, buckets: Map<number, number>): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      // In the +Inf bucket there is no upper edge: report the highest finite bound, as PromQL does.
      if (bound === Infinity) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** The difference of two cumulative bucket sets (after − before): what a run observed. */
export function bucketDelta(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}
