/**
 * `shepherd … | head` closes the CLI's standard output while it still writes: the CLI must end
 * quietly with exit code 0, as other command-line tools do, not with an EPIPE stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/shepherd.js', import.meta.url));

test('the CLI ends quietly with exit code 0 when its reader has gone away', async () => {
  const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Closed before the CLI has even loaded, so its first write meets a pipe with no reader.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(stderr, '', 'nothing on stderr');
  assert.equal(code, 0);
});
