/**
 * `npm run bench:prompts -- [--sessions N] [--turns T]`: N conversations kept open on ONE worker
 * process on the real environment, each taking T follow-up prompts, one after the other as each
 * goes Idle (all N at once). It reports, over the N × T prompts:
 *  - prompt accepted → the next turn's Job exists (p50/p99): the time the target is about
 *    (p99 ≤ 1 s), from the moment `sendSessionPrompt` returns the turn to the Job's ADDED event;
 *  - the Update's round trip (sent → accepted, p50/p99), which a caller waits for;
 *  - how many turns ended Succeeded, and Jobs per attempt (must be exactly one).
 * Every runner runs one second on the KWOK node and exits 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { FAKE_POD_ANNOTATIONS } from '../src/devenv/kwok-stages.js';
import { startEnvironment } from '../src/devenv/environment.js';
import { missingTools, toolPaths } from '../src/processes/tools.js';
import { GROUP, PLURAL, VERSION } from '../src/resources/constants.js';
import type { AgentSession } from '../src/resources/types.js';
import { jobName } from '../src/runtime/kubernetes/builders/session-names.js';
import { sendSessionPrompt } from '../src/session-client/session-commands.js';
import { installCrds } from '../test/support/crds.js';
import { shepherdObjects } from '../test/support/shepherd-objects.js';
import { startWorkerProcess } from '../test/support/worker-process.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    turns: { type: 'string', default: '5' },
  },
});
const total = Number(values.sessions);
const followUps = Number(values.turns);

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
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

  const toJob: number[] = [];
  const roundTrip: number[] = [];
  const failures: string[] = [];
  console.log(`# ${total} conversations, ${followUps} follow-up prompts each`);
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
} finally {
  await connection?.close();
  await worker?.stop();
  await env.stop();
}
