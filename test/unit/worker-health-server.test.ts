/**
 * The worker's probe endpoints as the kubelet calls them: alive while the process runs, ready only
 * while the Temporal worker polls.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startHealthServer } from '../../src/worker/health-server.js';

test('/readyz follows the worker polling; /healthz answers throughout; anything else is 404', async () => {
  let polling = false;
  const server = await startHealthServer(0, () => polling);
  const { port } = server.address() as AddressInfo;
  const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  try {
    assert.equal(await status('/healthz'), 200);
    assert.equal(await status('/readyz'), 503);
    polling = true;
    assert.equal(await status('/readyz'), 200);
    assert.equal(await status('/readyz?verbose'), 200);
    assert.equal(await status('/metrics'), 404);
  } finally {
    server.close();
  }
});
