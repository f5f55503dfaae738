/**
 * Records the event histories that test/workflows/replay.test.ts replays: representative sessions
 * of the session workflow as it is now, run on the time-skipping test server with the fake
 * runtime, each fetched once its run has ended and written to
 * test/workflows/histories/<session>.json (the JSON form other Temporal tools read too).
 *
 * Run it only to add the histories of a new workflow type, or of a deliberate change that is
 * guarded by `patched()` — never to make a failing replay pass: a history that no longer replays
 * is a session in flight that the change would break. docs/workflow-upgrades.md says more.
 *
 * Usage: npx tsx test/workflows/record-histories.ts [session...]   (no argument: all of them)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/processes/tools.js';
import { historyToJson } from './support/history-json.js';
import {
  pushedResult,
  SessionEnvironment,
  type SessionOptions,
  sessionSpec,
  type TestSession,
} from './support/session-environment.js';

// The replay test reads every file here.
const HISTORIES_DIR = join(repoRoot, 'test', 'workflows', 'histories');

/** A recorded session: how it is set up and what happens to it until its run ends. */
interface Recording {
  options: SessionOptions;
  play(session: TestSession): Promise<void>;
}

const recordings: Recording[] = [
  {
    options: { name: 'succeeded' },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, pushedResult('succeeded'));
    },
  },
  {
    options: { name: 'retried', spec: sessionSpec({ retries: 1 }) },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 1);
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult('retried'));
    },
  },
  {
    // The runner never ends: the 2-minute checks and the timeout are skipped through.
    options: { name: 'timed-out', spec: sessionSpec({ timeout: '30m' }) },
    async play(session) {
      await session.runnerStarts(1);
    },
  },
  {
    options: { name: 'stopped-while-running' },
    async play(session) {
      await session.runnerStarts(1);
      await session.runtime.mirrored((status) => status.phase === 'Running');
      await session.stop();
    },
  },
  {
    options: { name: 'restarted-while-running' },
    async play(session) {
      await session.runnerStarts(1);
      await session.runtime.mirrored((status) => status.phase === 'Running');
      await session.restart();
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult('restarted-while-running'));
    },
  },
  {
    // The recorded run is the second one: a new run of the same workflow id, started by the
    // restart of the stopped session.
    options: { name: 'restarted-after-finishing' },
    async play(session) {
      await session.runnerStarts(1);
      await session.runtime.mirrored((status) => status.phase === 'Running');
      await session.stop();
      await session.result();
      await session.restart();
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult('restarted-after-finishing'));
    },
  },
  {
    // The recorded run is the second one: a restart that arrives while the first run cleans up
    // continues it as new.
    options: { name: 'restarted-during-cleanup' },
    async play(session) {
      let releaseCleanup = () => {};
      session.runtime.hold('cleanup', new Promise<void>((resolve) => (releaseCleanup = resolve)));
      await session.runnerStarts(1);
      await session.runnerExits(1, 1);
      await session.runtime.called('cleanup');
      await session.restart();
      releaseCleanup();
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult('restarted-during-cleanup'));
    },
  },
  {
    options: { name: 'failed-missing-credentials', missingSecret: 'git-credentials' },
    async play() {},
  },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !recordings.some((r) => r.options.name === name));
if (unknown.length > 0) throw new Error(`no recording named ${unknown.join(', ')}`);

const sessions = await SessionEnvironment.start();
try {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  for (const recording of recordings) {
    if (wanted.length > 0 && !wanted.includes(recording.options.name)) continue;
    const session = sessions.session(recording.options);
    await session.start();
    await recording.play(session);
    const state = await session.result();
    const history = await session.handle.fetchHistory();
    const file = join(HISTORIES_DIR, `${recording.options.name}.json`);
    writeFileSync(file, historyToJson(history));
    console.log(`${file}: ${history.events?.length ?? 0} events, ended ${state.phase}`);
  }
} finally {
  await sessions.stop();
}
