/**
 * Pre-built workflow bundles, the code a worker loads through SHEPHERD_WORKFLOW_BUNDLE instead of
 * compiling the workflow sources at each start: the plain bundle, and beside it the traced variant
 * carrying Temporal's OpenTelemetry workflow interceptors, for workers whose OTEL_* settings turn
 * tracing on (see worker-interceptors.ts for why the two are kept apart).
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { tracedBundle, workflowInterceptorModules } from '../observability/worker-interceptors.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Writes the plain bundle to `path` and, with `traced`, the traced variant beside it (one after the
 * other: on two cores webpack gains nothing from running twice at once).
 */
export async function writeWorkflowBundles(path: string, { traced }: { traced: boolean }): Promise<void> {
  for (const variant of traced ? [false, true] : [false]) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: workflowInterceptorModules(variant),
      logger: new DefaultLogger('WARN'),
    });
    await writeFile(variant ? tracedBundle(path) : path, code);
  }
}
