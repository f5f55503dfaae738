/**
 * The benchmark's picture: the distribution of session start and exit → status latencies, and
 * each process's RSS over the run (workers and the environment's), drawn with Vega-Lite (rendered headless to SVG by Vega) and
 * rasterised to PNG by resvg, so no browser or native canvas is needed.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** What the plot shows. */
export interface PlotInput {
  title: string;
  /** Latency samples in milliseconds, by series name (e.g. start, baseline, exit → status). */
  latencies: Record<string, number[]>;
  /** RSS samples: seconds since the start, process name (a worker, kube-apiserver, …), MiB. */
  rss: { t: number; process: string; mib: number }[];
}

/** Renders the plot as PNG bytes. */
export async function renderPlot(input: PlotInput): Promise<Buffer> {
  const latencyRows = Object.entries(input.latencies).flatMap(([series, samples]) =>
    [...samples]
      .sort((a, b) => a - b)
      .map((ms, i) => ({ series, seconds: ms / 1000, fraction: (i + 1) / samples.length })),
  );
  const spec: TopLevelSpec = {
    title: input.title,
    hconcat: [
      {
        title: 'latency distribution (cumulative)',
        width: 420,
        height: 300,
        data: { values: latencyRows },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'seconds', type: 'quantitative', scale: { type: 'symlog' }, title: 'seconds' },
          y: { field: 'fraction', type: 'quantitative', title: 'fraction of sessions' },
          color: { field: 'series', type: 'nominal' },
        },
      },
      {
        title: 'RSS',
        width: 420,
        height: 300,
        data: { values: input.rss },
        mark: 'line',
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since the first session' },
          y: { field: 'mib', type: 'quantitative', title: 'MiB' },
          color: { field: 'process', type: 'nominal' },
        },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
}
