/**
 * A conversation end to end on the real environment: an AgentSession that stays open after a turn
 * runs through the worker (a real child process) on the Temporal dev server, its runners on the
 * KWOK node. Between turns it is Idle with no Job and no Secret left and the same workspace claim;
 * a prompt sent as the API and the CLI send it starts the next turn as a new Job whose Secret holds
 * that prompt; a worker SIGKILLed while the session is idle loses nothing; a finished session
 * refuses a prompt with the reason; inactivity ends it and removes the workspace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { FAKE_POD_ANNOTATIONS } from '../../src/devenv/kwok-stages.js';
import { SESSION_LABEL } from '../../src/resources/constants.js';
import type { AgentSession, AgentSessionSpec, Phase } from '../../src/resources/types.js';
import { RUNNER_ENV } from '../../src/runner-contract/variables.js';
import { sendSessionPrompt } from '../../src/session-client/session-commands.js';
import { shepherdObjects } from '../support/shepherd-objects.js';
import { eventually, kubeConfig, testNamespace } from '../support/kube.js';
import { useWorker } from '../support/worker-fixture.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const objects = shepherdObjects(kc);
const fixture = useWorker(kc);

/** A conversation whose fake runners each exit 0 after a second. */
function conversationSpec(inactivityTimeout: string): AgentSessionSpec {
  return {
    agent: 'command',
    command: ['sh', '-c', 'echo working'],
    initialPrompt: 'fix the flaky test',
    image: 'shepherd/runner:test',
    conversation: { stopOnTurnFinished: false, inactivityTimeout },
    podMetadata: {
      annotations: { [FAKE_POD_ANNOTATIONS.exitCode]: '0', [FAKE_POD_ANNOTATIONS.duration]: '1s' },
    },
  };
}

function untilPhase(namespace: string, name: string, phase: Phase, turns?: number): Promise<AgentSession> {
  return eventually(
    `session ${name} to be ${phase}${turns ? ` after turn ${turns}` : ''}`,
    () => objects.readSession(namespace, name),
    (s) => s.status?.phase === phase && (turns === undefined || s.status.turns?.at(-1)?.number === turns),
    90_000,
  );
}

async function children(namespace: string, name: string) {
  const labelSelector = `${SESSION_LABEL}=${name}`;
  return {
    jobs: (await batch.listNamespacedJob({ namespace, labelSelector })).items,
    secrets: (await core.listNamespacedSecret({ namespace, labelSelector })).items,
    // The runner's identity, which the cleanup between turns removes last.
    access: [
      ...(await core.listNamespacedServiceAccount({ namespace, labelSelector })).items,
      ...(await rbac.listNamespacedRole({ namespace, labelSelector })).items,
      ...(await rbac.listNamespacedRoleBinding({ namespace, labelSelector })).items,
    ],
    pvcs: (await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })).items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.uid!),
  };
}

test('a conversation takes turns on one workspace, survives a worker killed while idle, and ends when inactive', async (t) => {
  const namespace = await testNamespace(t, kc);
  const name = 'talk';
  await objects.createSession(namespace, name, conversationSpec('40s'), fixture.worker.labels);

  const idle = await untilPhase(namespace, name, 'Idle', 1);
  assert.equal(idle.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'TurnFinished');
  const afterTurn1 = await eventually(
    'the runner of turn 1 to be removed',
    () => children(namespace, name),
    (c) => c.jobs.length === 0 && c.secrets.length === 0 && c.access.length === 0,
  );
  assert.equal(afterTurn1.pvcs.length, 1, 'the workspace stays between turns');

  // The worker dies while the session waits; the next prompt still reaches it once it is back.
  // (Killed during the cleanup instead, the lost activity would hold the session for its
  // one-minute start-to-close timeout: that is Temporal's, not what this test is about.)
  await fixture.worker.kill();
  await fixture.worker.restart();
  const sent = await sendSessionPrompt(fixture.client, namespace, name, {
    prompt: 'also fix the other test',
    source: 'cli',
    author: 'alice',
  });
  assert.deepEqual(sent, { outcome: 'accepted', turn: 2 });

  const job = await eventually(
    "turn 2's Job",
    async () => (await children(namespace, name)).jobs,
    (jobs) => jobs.length === 1,
    60_000,
  );
  const env = job[0]?.spec?.template.spec?.containers.find((c) => c.name === 'runner')?.env ?? [];
  assert.equal(env.find((e) => e.name === RUNNER_ENV.attempt)?.value, '2');
  const secret = (await children(namespace, name)).secrets[0];
  assert.ok(secret, "turn 2's Secret");
  // The runner takes the whole Secret as its environment (envFrom).
  assert.equal(
    Buffer.from(secret.data?.[RUNNER_ENV.initialPrompt] ?? '', 'base64').toString(),
    'also fix the other test',
  );

  const second = await untilPhase(namespace, name, 'Idle', 2);
  assert.deepEqual(
    second.status?.turns?.map((turn) => [
      turn.number,
      turn.source,
      turn.author,
      turn.firstAttempt,
      turn.result,
    ]),
    [
      [1, 'spec', undefined, 1, 'Succeeded'],
      [2, 'cli', 'alice', 2, 'Succeeded'],
    ],
  );
  assert.deepEqual((await children(namespace, name)).pvcs, afterTurn1.pvcs, 'the same workspace claim');

  const done = await untilPhase(namespace, name, 'Succeeded');
  assert.equal(done.status?.conditions?.find((c) => c.type === 'Completed')?.reason, 'Inactive');
  await eventually(
    'the workspace to be removed',
    async () => (await children(namespace, name)).pvcs,
    (pvcs) => pvcs.length === 0,
  );
  const refused = await sendSessionPrompt(fixture.client, namespace, name, {
    prompt: 'one more',
    source: 'api',
  });
  assert.equal(refused.outcome, 'refused');
  assert.match(refused.outcome === 'refused' ? refused.message : '', /has finished \(Succeeded\)/);
});
