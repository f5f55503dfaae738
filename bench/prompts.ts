/**
 * `npm run bench:prompts -- [--sessions N] [--turns T] [--immediate]`: N conversations kept open
 * on ONE worker process on the real environment, each taking T follow-up prompts, one after the
 * other as each goes Idle (all N at once). A prompt is sent once the session has removed its last
 * runner, as a person replying takes longer than that; `--immediate` sends it the moment the
 * session is Idle, so the next turn also waits for that clean-up. It reports, over the N × T prompts:
 *  - prompt accepted → the next turn's Job exists (p50/p99): the time the target is about
 *    (p99 ≤ 1 s), from the moment `sendSessionPrompt` returns the turn to the Job's ADDED event;
 *  - the Update's round trip (sent → accepted, p50/p99), which a caller waits for;
 *  - how many turns ended Succeeded, and Jobs per attempt (must be exactly one);
 *  - per activity, how long it ran and how long it waited for a worker slot.
 * Every runner runs one second on the KWOK node and exits 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { FAKE_POD_ANNOTATIONS } from '../src/devenv/kwok-stages.js';
import { startEnvironment } from '../src/devenv/environment.js';
import { missingTools, toolPaths } from '../src/processes/tools.js';
import { GROUP, PLURAL, SESSION_LABEL, VERSION } from '../src/resources/constants.js';
import type { AgentSession } from '../src/resources/types.js';
import { jobName } from '../src/runtime/kubernetes/builders/session-names.js';
import { sendSessionPrompt } from '../src/session-client/session-commands.js';
import { sessionWorkflowId } from '../src/workflows/session-contract.js';
import { installCrds } from '../test/support/crds.js';
import { shepherdObjects } from '../test/support/shepherd-objects.js';
import { startWorkerProcess } from '../test/support/worker-process.js';
import { percentile } from './percentile.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    turns: { type: 'string', default: '5' },
    immediate: { type: 'boolean', default: false },
  },
});
const total = Number(values.sessions);
const followUps = Number(values.turns);
const immediate = values.immediate;

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

if (missingTools(toolPaths()).length > 0) throw new Error('tools missing: run `npm run setup` first');
const env = await startEnvironment();
Object.assign(process.env, env.variables);
const kc = new k8s.KubeConfig();
kc.loadFromFile(env.kubeconfigPath);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const objects = shepherdObjects(kc);
let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
let connection: Connection | undefined;
try {
  await installCrds(kc);
  worker = await startWorkerProcess();
  connection = await Connection.connect({ address: env.variables.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  const namespace = 'bench-prompts';
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  /** When each Job (by name) was first seen, and how many objects of that name there were. */
  const jobAdded = new Map<string, number>();
  const jobUids = new Map<string, Set<string>>();
  /** The latest status of each session, and who waits for it to change. */
  const latest = new Map<string, AgentSession>();
  const waiters = new Set<() => void>();

  const jobs = k8s.makeInformer(kc, `/apis/batch/v1/namespaces/${namespace}/jobs`, () =>
    batch.listNamespacedJob({ namespace }),
  );
  jobs.on('add', (job: k8s.V1Job) => {
    const name = job.metadata!.name!;
    if (!jobAdded.has(name)) jobAdded.set(name, performance.now());
    const uids = jobUids.get(name) ?? new Set<string>();
    uids.add(job.metadata!.uid!);
    jobUids.set(name, uids);
  });
  const sessions = k8s.makeInformer(
    kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL.agentSession}`,
    () =>
      custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL.agentSession,
      }) as never,
  );
  const onSession = (s: AgentSession) => {
    latest.set(s.metadata.name, s);
    for (const wake of waiters) wake();
  };
  sessions.on('add', onSession as never);
  sessions.on('update', onSession as never);
  await jobs.start();
  await sessions.start();

  /** Waits until the session is Idle after `turn`, at most five minutes. */
  const idleAfter = async (name: string, turn: number): Promise<AgentSession> => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const s = latest.get(name);
      if (s?.status?.phase === 'Idle' && s.status.turns?.at(-1)?.number === turn) return s;
      if (s?.status?.phase && ['Succeeded', 'Failed', 'TimedOut', 'Stopped'].includes(s.status.phase)) {
        throw new Error(`${name} ended ${s.status.phase} before turn ${turn + 1}`);
      }
      if (Date.now() > deadline) throw new Error(`${name} was not Idle after turn ${turn} within 5 min`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        setTimeout(wake, 1_000);
      });
    }
  };

  /**
   * Waits until the idle session's clean-up between turns is done: the runner's identity, which it
   * removes last, is gone, and no activity is in flight.
   */
  const cleanedUp = async (name: string): Promise<void> => {
    const handle = client.workflow.getHandle(sessionWorkflowId(namespace, name));
    const labelSelector = `${SESSION_LABEL}=${name}`;
    while ((await core.listNamespacedServiceAccount({ namespace, labelSelector })).items.length > 0) {
      await sleep(100);
    }
    while ((await handle.describe()).raw.pendingActivities?.length) await sleep(50);
  };

  const toJob: number[] = [];
  const roundTrip: number[] = [];
  const failures: string[] = [];
  console.log(
    `# ${total} conversations, ${followUps} follow-up prompts each, sent ${immediate ? 'the moment each is Idle' : 'once each has cleaned up'}`,
  );
  const started = Date.now();
  await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const name = `c-${String(i).padStart(3, '0')}`;
      try {
        await objects.createSession(
          namespace,
          name,
          {
            agent: 'command',
            command: ['true'],
            initialPrompt: 'turn 1',
            image: 'shepherd/runner:bench',
            conversation: { stopOnTurnFinished: false, inactivityTimeout: '1h' },
            podMetadata: { annotations: { [FAKE_POD_ANNOTATIONS.duration]: '1s' } },
          },
          worker!.labels,
        );
        for (let turn = 1; turn <= followUps; turn += 1) {
          const idle = await idleAfter(name, turn);
          if (!immediate) await cleanedUp(name);
          const job = jobName(name, (idle.status?.attempt ?? 0) + 1);
          const sent = performance.now();
          const outcome = await sendSessionPrompt(client, namespace, name, {
            prompt: `turn ${turn + 1}`,
            source: 'api',
          });
          const accepted = performance.now();
          if (outcome.outcome !== 'accepted') throw new Error(`turn ${turn + 1}: ${JSON.stringify(outcome)}`);
          roundTrip.push(accepted - sent);
          while (!jobAdded.has(job)) await sleep(5);
          toJob.push(Math.max(0, jobAdded.get(job)! - accepted));
        }
        await idleAfter(name, followUps + 1);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }),
  );
  await jobs.stop();
  await sessions.stop();

  // Where the time goes: each activity's wait for a worker slot and its own run, from the
  // sessions' histories.
  const waited = new Map<string, number[]>();
  const ran = new Map<string, number[]>();
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  for (const name of latest.keys()) {
    const history = await client.workflow.getHandle(sessionWorkflowId(namespace, name)).fetchHistory();
    const scheduled = new Map<string, { type: string; at: number }>();
    const started = new Map<string, number>();
    for (const event of history.events ?? []) {
      const id = String(event.eventId);
      const at = ms(event.eventTime);
      const s = event.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(id, { type: s.activityType?.name ?? '?', at });
      const st = event.activityTaskStartedEventAttributes;
      if (st) {
        const of = scheduled.get(String(st.scheduledEventId));
        if (of) (waited.get(of.type) ?? waited.set(of.type, []).get(of.type)!).push(at - of.at);
        started.set(String(st.scheduledEventId), at);
      }
      const c = event.activityTaskCompletedEventAttributes;
      if (c) {
        const of = scheduled.get(String(c.scheduledEventId));
        const from = started.get(String(c.scheduledEventId));
        if (of && from !== undefined)
          (ran.get(of.type) ?? ran.set(of.type, []).get(of.type)!).push(at - from);
      }
    }
  }

  const turnsSucceeded = [...latest.values()]
    .flatMap((s) => s.status?.turns ?? [])
    .filter((t) => t.result === 'Succeeded').length;
  const duplicateJobs = [...jobUids.values()].filter((uids) => uids.size > 1).length;
  console.log(`# done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const failure of failures) console.log(`failed: ${failure}`);
  console.log(
    `turns: ${total * (followUps + 1)}, succeeded: ${turnsSucceeded}, jobs with more than one object: ${duplicateJobs}`,
  );
  console.log(
    `prompt accepted → next turn's Job exists: p50 ${fmt(percentile(toJob, 50))}, p99 ${fmt(percentile(toJob, 99))} (${toJob.length} prompts)`,
  );
  console.log(
    `Update round trip (sent → accepted): p50 ${fmt(percentile(roundTrip, 50))}, p99 ${fmt(percentile(roundTrip, 99))}`,
  );
  for (const [type, samples] of [...ran].sort(([a], [b]) => a.localeCompare(b))) {
    const queue = waited.get(type) ?? [];
    console.log(
      `  ${type}: runs p50 ${fmt(percentile(samples, 50))}, p99 ${fmt(percentile(samples, 99))}; waits for a worker p50 ${fmt(percentile(queue, 50))}, p99 ${fmt(percentile(queue, 99))} (${samples.length})`,
    );
  }
} finally {
  await connection?.close();
  await worker?.stop();
  await env.stop();
}
