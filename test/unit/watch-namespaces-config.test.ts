/**
 * SHEPHERD_WATCH_NAMESPACES as the worker and the API read it: unset or empty means every
 * namespace, a comma-separated list of names limits both to those namespaces, and a name
 * Kubernetes would refuse stops the process at start with an error naming the variable.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiConfigFromEnv } from '../../src/api/config.js';
import { workerConfigFromEnv } from '../../src/worker/config.js';

// No Temporal profile file of the machine's user may leak into these cases.
const base = { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'shepherd-no-such-temporal.toml') };
const readers = { worker: workerConfigFromEnv, api: apiConfigFromEnv };

for (const [component, read] of Object.entries(readers)) {
  test(`${component}: unset or empty watches every namespace`, () => {
    assert.equal(read(base).watchNamespaces, undefined);
    assert.equal(read({ ...base, SHEPHERD_WATCH_NAMESPACES: '' }).watchNamespaces, undefined);
  });

  test(`${component}: a list of names, spaces trimmed and repeats dropped`, () => {
    const config = read({ ...base, SHEPHERD_WATCH_NAMESPACES: 'team-a, team-b,team-a,0ps' });
    assert.deepEqual(config.watchNamespaces, ['team-a', 'team-b', '0ps']);
  });

  test(`${component}: a name Kubernetes would refuse is refused, naming the variable`, () => {
    for (const bad of ['Team-A', 'team_a', '-team', 'team-', 'a.b', 'x'.repeat(64)]) {
      assert.throws(
        () => read({ ...base, SHEPHERD_WATCH_NAMESPACES: `ok,${bad}` }),
        (error: Error) =>
          error.message.startsWith('SHEPHERD_WATCH_NAMESPACES must be namespace names') &&
          error.message.includes(`"${bad}"`),
        bad,
      );
    }
  });
}
