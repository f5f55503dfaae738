/**
 * The Shepherd image's entry point, bundled to `dist/shepherd.mjs` by build-dist.ts: one image
 * serves both processes, and its argument chooses which — `node dist/shepherd.mjs worker` (the
 * worker, src/worker/main.ts) or `node dist/shepherd.mjs api` (the API, src/api/main.ts). The
 * pre-built workflow bundle and runner bundle lie beside it and are the defaults of
 * SHEPHERD_WORKFLOW_BUNDLE and SHEPHERD_RUNNER_BUNDLE, so a worker started from dist/ neither
 * compiles the workflow sources nor needs them.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
process.env.SHEPHERD_WORKFLOW_BUNDLE ??= join(here, 'workflow-bundle.js');
process.env.SHEPHERD_RUNNER_BUNDLE ??= join(here, 'shepherd-runner.mjs');

const command = process.argv[2];
if (command === 'worker') await import('../worker/main.js');
else if (command === 'api') await import('../api/main.js');
else {
  console.error(`usage: shepherd.mjs worker|api (not "${command ?? ''}")`);
  process.exit(2);
}
