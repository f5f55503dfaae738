/**
 * Records the event histories that test/workflows/replay.test.ts replays: representative sessions
 * of the session workflow as it is now, run on the time-skipping test server with the fake
 * runtime, each fetched once its run has ended and written to
 * test/workflows/histories/<session>.json (the JSON form other Temporal tools read too).
 *
 * Run it only to add the histories of a new workflow type, or of a deliberate change that is
 * guarded by `patched()` — never to make a failing replay pass: a history that no longer replays
 * is a session in flight that the change would break. So it writes only the histories that are
 * not there yet; `--overwrite` replaces the named ones. docs/workflow-upgrades.md says more.
 *
 * Usage: npx tsx test/workflows/record-histories.ts [--overwrite] [session...]
 *        (no session named: every recording whose history is missing)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/processes/tools.js';
import { RejectedError } from '../../src/runtime/errors.js';
import { approveUpdate } from '../../src/workflows/session-contract.js';
import { gate } from './support/fake-runtime.js';
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
  /** The history's file name, without `.json`, and the recorded session's name. */
  history: string;
  options?: Omit<SessionOptions, 'name'>;
  /** Scripts the runtime before the session starts. */
  setup?(session: TestSession): void;
  play(session: TestSession): Promise<void>;
  /** Which run's history to keep: the one that ended the session (default), or its first. */
  run?: 'first' | 'last';
}

/** A session that waits long enough to continue as new a few times, then succeeds. */
const longWait: Omit<Recording, 'history'> = {
  options: {
    spec: sessionSpec({ timeout: '24h' }),
    input: { continueAsNewAfterEvents: 60 },
  },
  async play(session) {
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.timePasses('30m');
    await session.runnerExits(1, 0, pushedResult(session.name));
  },
};

/** A conversation whose history is long after turn 1: it continues as new while Idle, then takes turn 2. */
const longConversation: Omit<Recording, 'history'> = {
  options: {
    spec: sessionSpec({
      initialPrompt: 'fix it',
      conversation: { stopOnTurnFinished: false, inactivityTimeout: '1h' },
    }),
    input: { continueAsNewAfterEvents: 40 },
  },
  async play(session) {
    await session.runnerStarts(1);
    const first = (await session.state()).status.runId;
    await session.runnerExits(1, 0, pushedResult(session.name));
    // The new run writes no status until the next turn: ask it.
    while ((await session.state()).status.runId === first) await new Promise((r) => setTimeout(r, 20));
    await session.prompt('also fix the other test');
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult(session.name));
    await session.runtime.mirrored((status) => status.phase === 'Idle' && status.turns?.length === 2);
    await session.stop();
  },
};

/** A session restarted while its runner runs: the second attempt succeeds. */
const restartedWhileRunning: Omit<Recording, 'history'> = {
  async play(session) {
    await session.runnerStarts(1);
    await session.runtime.mirrored((status) => status.phase === 'Running');
    await session.restart();
    await session.runnerStarts(2);
    await session.runnerExits(2, 0, pushedResult(session.name));
  },
};

/** A session with one retry: its first runner exits 1, its second `exitCode` with work pushed. */
function retriedOnce(exitCode: number, summary?: string): Omit<Recording, 'history'> {
  return {
    options: { spec: sessionSpec({ retries: 1 }) },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 1);
      await session.runnerStarts(2);
      await session.runnerExits(2, exitCode, pushedResult(session.name, summary));
    },
  };
}

const recordings: Recording[] = [
  {
    history: 'succeeded',
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, pushedResult(session.name));
    },
  },
  { history: 'retried', ...retriedOnce(0) },
  {
    // The runner never ends: the 2-minute checks and the timeout are skipped through.
    history: 'timed-out',
    options: { spec: sessionSpec({ timeout: '30m' }) },
    async play(session) {
      await session.runnerStarts(1);
    },
  },
  {
    history: 'stopped-while-running',
    async play(session) {
      await session.runnerStarts(1);
      await session.runtime.mirrored((status) => status.phase === 'Running');
      await session.stop();
    },
  },
  { history: 'restarted-while-running', ...restartedWhileRunning },
  {
    // The recorded run is the second one: a new run of the same workflow id, started by the
    // restart of the stopped session.
    history: 'restarted-after-finishing',
    async play(session) {
      await session.runnerStarts(1);
      await session.runtime.mirrored((status) => status.phase === 'Running');
      await session.stop();
      await session.result();
      await session.restart();
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult(session.name));
    },
  },
  {
    // The recorded run is the second one: a restart that arrives while the first run cleans up
    // continues it as new.
    history: 'restarted-during-cleanup',
    async play(session) {
      const cleanup = gate();
      session.runtime.hold('cleanup', cleanup.opened);
      await session.runnerStarts(1);
      await session.runnerExits(1, 1);
      await session.runtime.called('cleanup');
      await session.restart();
      cleanup.open();
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult(session.name));
    },
  },
  {
    history: 'failed-missing-credentials',
    options: { missingSecret: 'git-credentials' },
    async play() {},
  },
  // Recorded with the continue-as-new patch: the run that hands its wait over, and the last one.
  { history: 'continued-as-new-while-waiting', ...longWait, run: 'first' },
  { history: 'resumed-after-continue-as-new', ...longWait, run: 'last' },
  // Recorded with the hardened-core patch.
  { history: 'hardened-failed-after-retry', ...retriedOnce(1, 'the tests still fail') },
  {
    history: 'hardened-stopped-while-provisioning-retries',
    setup(session) {
      session.runtime.fail('provisionWorkspace', () => new Error('connect ECONNREFUSED 10.0.0.1:6443'));
    },
    async play(session) {
      await session.runtime.until(() => session.runtime.inputsOf('provisionWorkspace').length >= 2);
      await session.stop();
    },
  },
  {
    history: 'hardened-launch-refused',
    setup(session) {
      session.runtime.fail(
        'launchRunner',
        () => new RejectedError('Kubernetes refused Job: spec.template.labels: Invalid value'),
      );
    },
    async play() {},
  },
  { history: 'hardened-restarted-while-running', ...restartedWhileRunning },
  {
    // Three turns: one prompt while Idle, a question answered, then a stop while Idle.
    history: 'conversation-turns-question-stopped',
    options: { spec: sessionSpec({ initialPrompt: 'fix it', conversation: { stopOnTurnFinished: false } }) },
    async play(session) {
      const idle = () => session.runtime.mirrored((status) => status.phase === 'Idle');
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, pushedResult(session.name));
      await idle();
      await session.prompt('also fix the other test');
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, { ...pushedResult(session.name), question: 'Which database?' });
      await session.runtime.mirrored((status) => status.phase === 'WaitingForInput');
      await session.prompt('PostgreSQL', 'answer');
      await session.runnerStarts(3);
      await session.runnerExits(3, 0, pushedResult(session.name));
      await idle();
      await session.stop();
    },
  },
  {
    history: 'conversation-inactive',
    options: {
      spec: sessionSpec({
        initialPrompt: 'fix it',
        conversation: { stopOnTurnFinished: false, inactivityTimeout: '1h' },
      }),
    },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, pushedResult(session.name));
      await session.runtime.mirrored((status) => status.phase === 'Idle');
      await session.timePasses('2h');
    },
  },
  { history: 'conversation-continued-between-turns', ...longConversation, run: 'first' },
  { history: 'conversation-resumed-between-turns', ...longConversation, run: 'last' },
  {
    history: 'limits-slot-taken-and-charged',
    options: { policy: { maxConcurrentSessions: 2, budget: { monthlyUsd: 100 } } },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, { ...pushedResult(session.name), usage: { costUsd: 0.5 } });
    },
  },
  // Recorded with the quick-start patch: the session read by a local activity, one status write
  // for provisioning and launch.
  {
    history: 'quick-start-succeeded',
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 0, pushedResult(session.name));
    },
  },
  {
    history: 'quick-start-failed-missing-credentials',
    options: { missingSecret: 'git-credentials' },
    async play() {},
  },
  {
    history: 'limits-budget-approved',
    options: { policy: { budget: { perSessionUsd: 0.05 } } },
    async play(session) {
      await session.runnerStarts(1);
      await session.runnerExits(1, 1, { repos: [], usage: { costUsd: 0.08 } });
      await session.runtime.mirrored((status) => status.phase === 'WaitingForApproval');
      await session.handle.executeUpdate(approveUpdate, { args: [{ capUsd: 1 }] });
      await session.runnerStarts(2);
      await session.runnerExits(2, 0, pushedResult(session.name));
    },
  },
];

const args = process.argv.slice(2);
const overwrite = args.includes('--overwrite');
const named = args.filter((arg) => !arg.startsWith('--'));
const unknown = named.filter((name) => !recordings.some((r) => r.history === name));
if (unknown.length > 0) throw new Error(`no recording named ${unknown.join(', ')}`);
const fileOf = (recording: Recording) => join(HISTORIES_DIR, `${recording.history}.json`);
const due = recordings.filter((recording) => {
  if (named.length > 0 && !named.includes(recording.history)) return false;
  if (!existsSync(fileOf(recording)) || overwrite) return true;
  console.log(`${fileOf(recording)}: kept (it was recorded from an earlier workflow)`);
  return false;
});

if (due.length > 0) {
  const sessions = await SessionEnvironment.start();
  try {
    mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const recording of due) {
      const session = sessions.session({ ...recording.options, name: recording.history });
      recording.setup?.(session);
      const firstRunId = await session.start();
      await recording.play(session);
      const state = await session.result();
      const handle =
        recording.run === 'first'
          ? sessions.env.client.workflow.getHandle(session.workflowId, firstRunId)
          : session.handle;
      const history = await handle.fetchHistory();
      writeFileSync(fileOf(recording), historyToJson(history));
      console.log(
        `${fileOf(recording)}: ${history.events?.length ?? 0} events, the session ended ${state.phase}`,
      );
    }
  } finally {
    await sessions.stop();
  }
}
