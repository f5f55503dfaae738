/**
 * `npm run build:dist [-- OUTDIR]`: builds dist/ (or OUTDIR), everything the Shepherd image runs
 * besides its production node_modules, so the image needs neither tsx nor the TypeScript sources:
 *
 * - `shepherd.mjs`, the entry point (src/image/shepherd.ts: `worker` or `api`), with its chunks
 *   under `chunks/`. Packages stay external and come from node_modules — the Temporal core
 *   bridge is a native module, and `npm ci --omit=dev` gives the versions of package-lock.json;
 *   split into chunks so the API never loads the worker's Temporal SDK, nor the worker Fastify;
 * - `workflow-bundle.js`, the session workflow bundled as the worker loads it
 *   (SHEPHERD_WORKFLOW_BUNDLE), so a worker starts without webpack compiling the workflow, and
 *   `workflow-bundle.traced.js`, the same with the OpenTelemetry workflow interceptors, which a
 *   worker loads instead when OTEL_* turns tracing on;
 * - `shepherd-runner.mjs`, the runner for the local runtime (SHEPHERD_RUNNER_BUNDLE), bundled
 *   whole like the runner image's.
 *
 * The AgentSession CRD the API validates sessions against is embedded in the entry's bundle.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { NODE_BUNDLE_OPTIONS, bundleRunner } from '../runner/bundle.js';
import { writeWorkflowBundles } from '../worker/workflow-bundle.js';

const src = fileURLToPath(new URL('..', import.meta.url));
const CRD_FILE = join(src, '..', 'charts', 'shepherd', 'files', 'crds', 'agentsessions.yaml');

/** The files of a built dist/. */
export interface Dist {
  /** The entry point: `node <entry> worker` or `node <entry> api`. */
  entry: string;
  workflowBundle: string;
  runnerBundle: string;
}

/** Builds dist/ into `outDir` and returns its files. */
export async function buildDist(outDir: string): Promise<Dist> {
  // Chunks are named by their hash: the last build's would stay beside the new ones.
  rmSync(join(outDir, 'chunks'), { recursive: true, force: true });
  const dist: Dist = {
    entry: join(outDir, 'shepherd.mjs'),
    workflowBundle: join(outDir, 'workflow-bundle.js'),
    runnerBundle: join(outDir, 'shepherd-runner.mjs'),
  };
  mkdirSync(outDir, { recursive: true });
  // webpack's and esbuild's work overlap: on two cores the three builds take the longest of them.
  await Promise.all([
    build({
      ...NODE_BUNDLE_OPTIONS,
      entryPoints: { shepherd: join(src, 'image', 'shepherd.ts') },
      outdir: outDir,
      outExtension: { '.js': '.mjs' },
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      packages: 'external',
      define: { SHEPHERD_BUNDLED_AGENTSESSION_CRD: JSON.stringify(readFileSync(CRD_FILE, 'utf8')) },
    }),
    writeWorkflowBundles(dist.workflowBundle, { traced: true }),
    bundleRunner(dist.runnerBundle),
  ]);
  return dist;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const outDir = resolve(process.argv[2] ?? join(src, '..', 'dist'));
  await buildDist(outDir);
  console.log(`built ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
