/**
 * Series of a Prometheus text exposition: what the benchmark reads from the Temporal server, the
 * workers, kube-apiserver and etcd. A series line is `name{labels} value [timestamp]`; comments
 * and other metrics are skipped, and label values keep their escapes, which none of the labels
 * read here hold.
 */

/** One series of a metric: its labels and its value. */
export interface Series {
  labels: Record<string, string>;
  value: number;
}

/** The series of `metric` (exactly that name, so `x` does not match `x_total`). */
export function metricSeries(text: string, metric: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    let labelText = '';
    let valueText: string;
    if (rest.startsWith('{')) {
      const close = rest.lastIndexOf('}');
      if (close < 0) continue;
      labelText = rest.slice(1, close);
      valueText = rest.slice(close + 1);
    } else if (rest.startsWith(' ')) {
      valueText = rest;
    } else {
      continue;
    }
    const labels: Record<string, string> = {};
    for (const [, key, value] of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    const value = Number(valueText.trim().split(/\s+/)[0]);
    if (!Number.isNaN(value)) series.push({ labels, value });
  }
  return series;
}

/** The value of an unlabelled series (a gauge such as etcd's database size), or undefined. */
export function metricValue(text: string, metric: string): number | undefined {
  return metricSeries(text, metric).find((s) => Object.keys(s.labels).length === 0)?.value;
}

/** The sum of `metric`'s series per value of `label` (series without it are summed under ""). */
export function sumBy(text: string, metric: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const { labels, value } of metricSeries(text, metric)) {
    const key = labels[label] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return sums;
}
