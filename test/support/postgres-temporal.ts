/**
 * Points a test file at a Temporal server on PostgreSQL instead of the run's dev server, so the
 * scenarios written once (the session lifecycle) are proven on the backend
 * production runs too. A file imports this module first, awaits {@link usePostgresTemporal}, then
 * imports the scenarios: they read TEMPORAL_ADDRESS when their hooks run, and every worker process
 * they start inherits it. When the whole run is on PostgreSQL already (SHEPHERD_TEMPORAL_BACKEND),
 * the run's server is used as it is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { stopGroup } from '../../src/processes/daemon.js';
import { startTemporalPostgresServer } from '../../src/processes/temporal-postgres-server.js';
import { temporalPostgresToolPaths } from '../../src/processes/tools.js';

/** Starts the server (stopped after the file's tests) and makes it the file's Temporal. */
export async function usePostgresTemporal(): Promise<void> {
  if (process.env.SHEPHERD_TEMPORAL_BACKEND === 'postgres') return;
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-postgres-temporal-'));
  const pids: number[] = [];
  const stop = async () => {
    for (const pid of [...pids].reverse()) await stopGroup(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = await startTemporalPostgresServer(dir, temporalPostgresToolPaths(), {}, (daemon) =>
      pids.push(daemon.pid),
    );
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.SHEPHERD_TEMPORAL_BACKEND = 'postgres';
  } catch (error) {
    await stop();
    throw error;
  }
  after(stop);
}
