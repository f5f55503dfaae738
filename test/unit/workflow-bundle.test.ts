/**
 * Which workflow code a worker loads: a worker that traces takes the traced variant of its
 * pre-built bundle and refuses to start without one, naming the file and the fix; one that does
 * not trace takes the plain bundle, which carries no OpenTelemetry interceptors.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { workflowInterceptorModules } from '../../src/observability/worker-interceptors.js';
import { tracedBundle, workflowCode } from '../../src/worker/workflow-bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'bundles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the traced variant lies beside the bundle', () => {
  assert.equal(tracedBundle('/app/dist/workflow-bundle.js'), '/app/dist/workflow-bundle.traced.js');
  assert.equal(tracedBundle('/app/dist/bundle'), '/app/dist/bundle.traced.js');
});

test('a worker that traces loads the traced variant, and refuses a bundle without one', () => {
  const bundle = join(dir, 'workflow-bundle.js');
  writeFileSync(bundle, '');
  assert.throws(
    () => workflowCode(bundle, true),
    (error: Error) =>
      error.message.includes(`SHEPHERD_WORKFLOW_BUNDLE=${bundle}`) &&
      error.message.includes(tracedBundle(bundle)) &&
      error.message.includes('npm run build:dist'),
  );
  writeFileSync(tracedBundle(bundle), '');
  assert.deepEqual(workflowCode(bundle, true), { workflowBundle: { codePath: tracedBundle(bundle) } });
  assert.deepEqual(workflowCode(bundle, false), { workflowBundle: { codePath: bundle } });
});

test('without a bundle the sources are compiled, with the interceptors only when tracing', () => {
  const source = workflowCode(undefined, false);
  assert.ok('workflowsPath' in source && existsSync(source.workflowsPath), JSON.stringify(source));
  assert.deepEqual(workflowInterceptorModules(false), []);
  const modules = workflowInterceptorModules(true);
  assert.equal(modules.length, 1);
  assert.ok(existsSync(modules[0]!), modules[0]);
});
