/**
 * Pre-built workflow bundles, the code a worker loads through SHEPHERD_WORKFLOW_BUNDLE instead of
 * compiling the workflow sources at each start: the plain bundle, and beside it the traced variant
 * carrying Temporal's OpenTelemetry workflow interceptors, for workers whose OTEL_* settings turn
 * tracing on (see worker-interceptors.ts for why the two are kept apart); and which of them, or
 * the sources, a worker loads.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { workflowInterceptorModules } from '../observability/worker-interceptors.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** The traced variant of the pre-built bundle `bundle`, which lies beside it: `x.js` → `x.traced.js`. */
export function tracedBundle(bundle: string): string {
  return bundle.replace(/(\.js)?$/, '.traced.js');
}

/**
 * The workflow code a worker loads: the pre-built `bundle` when one is configured (its traced
 * variant when the worker traces), else the sources (compiled JavaScript where no TypeScript is).
 *
 * @throws Error when the worker traces and the bundle has no traced variant beside it.
 */
export function workflowCode(
  bundle: string | undefined,
  traced: boolean,
): { workflowsPath: string } | { workflowBundle: { codePath: string } } {
  if (bundle && traced) {
    const codePath = tracedBundle(bundle);
    if (!existsSync(codePath)) {
      throw new Error(
        `SHEPHERD_WORKFLOW_BUNDLE=${bundle}: tracing is on (OTEL_*), and its traced variant ${codePath} is missing; build both with npm run build:dist, or unset SHEPHERD_WORKFLOW_BUNDLE to bundle the sources`,
      );
    }
    return { workflowBundle: { codePath } };
  }
  if (bundle) return { workflowBundle: { codePath: bundle } };
  return {
    workflowsPath: existsSync(WORKFLOWS_PATH)
      ? WORKFLOWS_PATH
      : fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
  };
}

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
