/**
 * The Jira source on a real Temporal server against the loopback Jira: a poll finds a ticket, the
 * ticket workflow claims it (transition or assignee) and one session is created; two pollers and a
 * webhook racing for one ticket make one claim and one session; a ticket someone else claimed
 * between the poll and the claim gets none; a session that cannot be created after the claim is
 * said on the ticket; a trigger's Schedule is created, runs the poll, follows the trigger's interval
 * and goes with it, while a Schedule that is not Shepherd's is left alone; and the local
 * SessionCreator makes a session once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { addSearchAttributes, registerNamespace } from '../../src/processes/temporal-namespace.js';
import type { AgentTrigger } from '../../src/resources/types.js';
import { createJiraActivities } from '../../src/triggers/jira/jira-activities.js';
import {
  JIRA_POLL_WORKFLOW_TYPE,
  type JiraPollInput,
  type JiraPollResult,
  type JiraTicketResult,
  jiraPollScheduleId,
  jiraTicketWorkflowId,
} from '../../src/triggers/jira/jira-contract.js';
import {
  jiraScheduleReconciler,
  reconcileJiraSchedules,
  SCHEDULE_OWNER,
  SCHEDULE_OWNER_MEMO,
} from '../../src/triggers/jira/jira-schedules.js';
import { jiraTicketStarter } from '../../src/triggers/jira/jira-ticket-start.js';
import {
  localSessionCreator,
  SessionRefusedError,
  type SessionCreator,
} from '../../src/triggers/jira/session-creator.js';
import type { SecretSource } from '../../src/triggers/secret-source.js';
import type { CatalogTrigger, TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import type { TriggeredSession } from '../../src/triggers/trigger-session.js';
import { type JiraServer, startJiraServer } from '../support/jira-server.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const email = 'bot@example.com';
const apiToken = 'tok-9d2c';

/** A catalog in memory: what the webhook helper's implementations give the worker. */
class MemoryCatalog implements TriggerCatalog {
  private readonly entries = new Map<string, CatalogTrigger>();
  private readonly listeners: Array<() => void> = [];

  set(trigger: AgentTrigger, problem?: string): void {
    this.entries.set(`${trigger.metadata.namespace}/${trigger.metadata.name}`, {
      trigger,
      ...(problem ? { problem } : {}),
    });
    for (const listener of this.listeners) listener();
  }
  delete(trigger: AgentTrigger): void {
    this.entries.delete(`${trigger.metadata.namespace}/${trigger.metadata.name}`);
    for (const listener of this.listeners) listener();
  }
  bySource(source: AgentTrigger['spec']['source']): readonly CatalogTrigger[] {
    return [...this.entries.values()].filter((e) => e.trigger.spec.source === source);
  }
  get(namespace: string, name: string): CatalogTrigger | undefined {
    return this.entries.get(`${namespace}/${name}`);
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  async ready(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Records the sessions it is asked for; a name seen before `exists`. */
class RecordingCreator {
  readonly sessions: TriggeredSession[] = [];
  /** Makes the next creates fail for good. */
  refuse = false;
  /** How long a create takes: keeps a ticket's run open while others try to start it. */
  delayMs = 0;

  readonly create: SessionCreator = async (session) => {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.refuse)
      throw new SessionRefusedError(`namespace ${session.namespace} does not exist; create it`);
    if (this.sessions.some((s) => s.namespace === session.namespace && s.name === session.name))
      return 'exists';
    this.sessions.push(session);
    return 'created';
  };

  forKey(key: string): TriggeredSession[] {
    return this.sessions.filter((s) => s.spec.trigger?.ids?.key === key);
  }
}

let jira: JiraServer;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
const catalog = new MemoryCatalog();
const creator = new RecordingCreator();
const secrets: SecretSource = {
  async read(namespace, ref) {
    if (namespace !== 'team-a' || ref.name !== 'jira') return undefined;
    return ref.key === 'email' ? email : ref.key === 'apiToken' ? apiToken : undefined;
  },
};

function trigger(
  name: string,
  jql: string,
  claim: { transition?: string; assignee?: string },
  pollInterval = '1h',
): AgentTrigger {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentTrigger',
    metadata: { name, namespace: 'team-a' },
    spec: {
      source: 'jira',
      match: { jql },
      sessionTemplate: { agent: 'claude', initialPrompt: 'Do what the ticket asks.' },
      jira: { url: jira.url, credentialsSecretRef: { name: 'jira' }, claim, pollInterval },
    },
  };
}

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  jira = await startJiraServer({
    email,
    apiToken,
    accounts: [
      { accountId: 'shepherd-bot', displayName: 'Shepherd' },
      { accountId: 'ann', displayName: 'Ann' },
    ],
  });
  const address = envVar('TEMPORAL_ADDRESS');
  const namespace = `jira-${randomSuffix()}`;
  taskQueue = `jira-${randomSuffix()}`;
  connection = await Connection.connect({ address });
  await registerNamespace(connection, namespace);
  // The local SessionCreator starts session workflows, which carry Shepherd's search attributes.
  await addSearchAttributes(connection, namespace);
  client = new Client({ connection, namespace });
  nativeConnection = await NativeConnection.connect({ address });
  const bundle = process.env.SHEPHERD_WORKFLOW_BUNDLE;
  worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue,
    ...(bundle
      ? { workflowBundle: { codePath: bundle } }
      : { workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)) }),
    activities: createJiraActivities({
      triggers: catalog,
      secrets,
      createSession: creator.create,
      client,
      taskQueue,
      logger: silent,
      jira: { onSchemaMismatch: 'throw' },
    }),
  });
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await connection.close();
  await nativeConnection.close();
  await jira.close();
});

/** Runs one poll of the trigger, as its Schedule would. */
async function poll(t: AgentTrigger): Promise<JiraPollResult> {
  return client.workflow.execute<(input: JiraPollInput) => Promise<JiraPollResult>>(JIRA_POLL_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: `test-poll/${t.metadata.name}/${randomSuffix()}`,
    args: [{ namespace: 'team-a', trigger: t.metadata.name }],
  });
}

/** The result of the ticket's latest run. */
async function ticketResult(key: string): Promise<JiraTicketResult> {
  return client.workflow
    .getHandle(jiraTicketWorkflowId(jira.site, key))
    .result() as Promise<JiraTicketResult>;
}

describe('the Jira poller', () => {
  it('claims a ticket the JQL finds with its transition, and creates one session for it', async () => {
    const t = trigger('p1', 'project = P1 AND status = "To Do"', { transition: 'In Progress' });
    catalog.set(t);
    jira.addTicket({
      key: 'P1-1',
      summary: 'Fix the flaky test',
      description: {
        type: 'doc',
        version: 1,
        content: [{ type: 'paragraph', content: [{ type: 'text', text: 'It fails on Tuesdays.' }] }],
      },
    });

    assert.deepEqual(await poll(t), { found: 1, started: 1, running: 0 });
    const result = await ticketResult('P1-1');
    assert.equal(result.outcome, 'created');

    assert.deepEqual(
      jira.calls('POST', '/rest/api/3/issue/P1-1/transitions').map((r) => r.body),
      [{ transition: { id: '11' } }],
    );
    assert.equal(jira.ticket('P1-1').status, 'In Progress');
    const [session, ...more] = creator.forKey('P1-1');
    assert.equal(more.length, 0);
    assert.ok(session);
    assert.equal(session.namespace, 'team-a');
    assert.match(
      session.spec.initialPrompt ?? '',
      /Jira ticket P1-1: Fix the flaky test\n\nIt fails on Tuesdays\./,
    );
    const run = await client.workflow.getHandle(jiraTicketWorkflowId(jira.site, 'P1-1')).describe();
    assert.deepEqual(session.spec.trigger, {
      name: 'p1',
      source: 'jira',
      url: `${jira.url}/browse/P1-1`,
      ids: { deliveryId: `P1-1/${run.runId}`, site: jira.site, key: 'P1-1' },
    });

    assert.deepEqual(
      await poll(t),
      { found: 0, started: 0, running: 0 },
      'claimed, the JQL no longer finds it',
    );
  });

  it('claims by assignee', async () => {
    const t = trigger('p4', 'project = P4 AND assignee is EMPTY', { assignee: 'shepherd-bot' });
    catalog.set(t);
    jira.addTicket({ key: 'P4-1' });
    await poll(t);
    assert.equal((await ticketResult('P4-1')).outcome, 'created');
    assert.deepEqual(
      jira.calls('PUT', '/rest/api/3/issue/P4-1/assignee').map((r) => r.body),
      [{ accountId: 'shepherd-bot' }],
    );
    assert.equal(creator.forKey('P4-1').length, 1);
  });

  it('two pollers and a webhook racing for one ticket make one claim and one session', async () => {
    const a = trigger('p2-a', 'project = P2 AND status = "To Do"', { transition: 'In Progress' });
    const b = trigger('p2-b', 'project = P2 AND status = "To Do"', { transition: 'In Progress' });
    catalog.set(a);
    catalog.set(b);
    jira.addTicket({ key: 'P2-1' });
    creator.delayMs = 500;
    try {
      const startJiraTicket = jiraTicketStarter({ client, taskQueue });
      const webhook = {
        trigger: a,
        event: {
          source: 'jira' as const,
          kind: 'jiraTicket' as const,
          deliveryId: 'webhook-1',
          subject: { title: 'P2-1' },
          jira: { site: jira.site, key: 'p2-1', status: 'To Do' },
        },
      };
      const [first, second, hooked] = await Promise.all([poll(a), poll(b), startJiraTicket(webhook)]);
      assert.equal(first.found + second.found, 2, 'both pollers found it');
      assert.equal(
        first.started + second.started + (hooked === 'started' ? 1 : 0),
        1,
        'one of the three started the ticket run; the others met it running',
      );
      assert.equal((await ticketResult('P2-1')).outcome, 'created');

      // A webhook after the run closed starts a new run, which finds the ticket claimed.
      assert.equal(await startJiraTicket(webhook), 'started');
      const later = await ticketResult('P2-1');
      assert.equal(later.outcome, 'skipped');
      assert.ok(later.outcome === 'skipped' && later.reason === 'AlreadyClaimed', JSON.stringify(later));
    } finally {
      creator.delayMs = 0;
    }
    assert.equal(jira.calls('POST', '/rest/api/3/issue/P2-1/transitions').length, 1, 'one claim');
    assert.equal(creator.forKey('P2-1').length, 1, 'one session');
  });

  it('a ticket claimed by someone else after the poll gets no claim and no session', async () => {
    const byTransition = trigger('p3', 'project = P3 AND status = "To Do"', { transition: 'In Progress' });
    const byAssignee = trigger('p6', 'project = P6 AND assignee is EMPTY', { assignee: 'shepherd-bot' });
    catalog.set(byTransition);
    catalog.set(byAssignee);
    jira.addTicket({ key: 'P3-1' });
    jira.addTicket({ key: 'P6-1' });

    jira.afterSearch = () => {
      jira.ticket('P3-1').status = 'In Progress';
      jira.afterSearch = undefined;
    };
    assert.equal((await poll(byTransition)).started, 1);
    const moved = await ticketResult('P3-1');
    assert.ok(moved.outcome === 'skipped' && moved.reason === 'AlreadyClaimed', JSON.stringify(moved));

    jira.afterSearch = () => {
      jira.ticket('P6-1').assignee = 'ann';
      jira.afterSearch = undefined;
    };
    assert.equal((await poll(byAssignee)).started, 1);
    const taken = await ticketResult('P6-1');
    assert.ok(taken.outcome === 'skipped' && /someone else/.test(taken.message), JSON.stringify(taken));

    assert.equal(jira.calls('POST', '/rest/api/3/issue/P3-1/transitions').length, 0);
    assert.equal(jira.calls('PUT', '/rest/api/3/issue/P6-1/assignee').length, 0);
    assert.equal(creator.forKey('P3-1').length + creator.forKey('P6-1').length, 0);
  });

  it('says on the ticket when a claimed ticket got no session, and fails the run with why', async () => {
    const t = trigger('p7', 'project = P7 AND status = "To Do"', { transition: 'In Progress' });
    catalog.set(t);
    jira.addTicket({ key: 'P7-1' });
    creator.refuse = true;
    try {
      await poll(t);
      await assert.rejects(ticketResult('P7-1'), WorkflowFailedError);
    } finally {
      creator.refuse = false;
    }
    const [comment] = jira.comments('P7-1');
    assert.match(JSON.stringify(comment), /could not start its session/);
    assert.match(JSON.stringify(comment), /namespace team-a does not exist; create it/);
    assert.equal(creator.forKey('P7-1').length, 0);
  });

  it('sent Jira only requests it takes', () => {
    assert.deepEqual(jira.refusals(), []);
  });
});

describe('the poll Schedules', () => {
  it("follow the Jira triggers, and leave a Schedule that is not Shepherd's alone", async () => {
    const t = trigger('p5', 'project = P5 AND status = "To Do"', { transition: 'In Progress' }, '1h');
    const scheduleId = jiraPollScheduleId('team-a', 'p5');
    const foreignId = jiraPollScheduleId('team-a', `someone-elses-${randomSuffix()}`);
    await client.schedule.create({
      scheduleId: foreignId,
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue: 'nowhere', args: [] },
      state: { paused: true },
    });
    const only = (...triggers: AgentTrigger[]) => triggers.map((x) => ({ trigger: x }));

    const created = await reconcileJiraSchedules({ client, taskQueue, triggers: only(t) });
    assert.deepEqual(created.created, [scheduleId]);
    const description = await client.schedule.getHandle(scheduleId).describe();
    assert.equal(description.memo?.[SCHEDULE_OWNER_MEMO], SCHEDULE_OWNER);
    assert.deepEqual(
      description.spec.intervals?.map((i) => i.every),
      [3_600_000],
    );
    assert.equal(description.policies.overlap, 'SKIP');
    assert.equal(description.policies.catchupWindow, 10_000);
    assert.equal(description.action.workflowType, JIRA_POLL_WORKFLOW_TYPE);
    assert.deepEqual(description.action.args, [{ namespace: 'team-a', trigger: 'p5' }]);

    // Its run polls: the ticket is claimed and gets its session.
    catalog.set(t);
    jira.addTicket({ key: 'P5-1' });
    await client.schedule.getHandle(scheduleId).trigger();
    await eventually(
      'the Schedule run to create the session of P5-1',
      async () => creator.forKey('P5-1').length,
      (n) => n === 1,
    );
    assert.equal(jira.ticket('P5-1').status, 'In Progress');

    // A second reconcile changes nothing; a new interval updates it.
    const same = await eventually(
      'the Schedule list to show it',
      () => reconcileJiraSchedules({ client, taskQueue, triggers: only(t) }),
      (report) => report.created.length === 0,
    );
    assert.deepEqual(same.updated, []);
    const slower = trigger('p5', 'project = P5 AND status = "To Do"', { transition: 'In Progress' }, '2h');
    const updated = await reconcileJiraSchedules({ client, taskQueue, triggers: only(slower) });
    assert.deepEqual(updated.updated, [scheduleId]);
    const after = await client.schedule.getHandle(scheduleId).describe();
    assert.deepEqual(
      after.spec.intervals?.map((i) => i.every),
      [7_200_000],
    );

    // The trigger gone, its Schedule goes; the foreign one under our prefix stays.
    const deleted: string[] = [];
    await eventually(
      'its Schedule to be deleted',
      async () =>
        deleted.push(...(await reconcileJiraSchedules({ client, taskQueue, triggers: [] })).deleted),
      () => deleted.length > 0,
    );
    assert.deepEqual(deleted, [scheduleId]);
    await assert.rejects(client.schedule.getHandle(scheduleId).describe(), ScheduleNotFoundError);
    await client.schedule.getHandle(foreignId).describe();
    await client.schedule.getHandle(foreignId).delete();
  });
});

describe('the Schedule reconciler', () => {
  it('makes the Schedule of a trigger added to the catalog, and removes it when the trigger goes', async () => {
    const own = new MemoryCatalog();
    const reconciler = jiraScheduleReconciler({
      client,
      taskQueue,
      catalog: own,
      logger: silent,
      resyncMs: 500,
    });
    const scheduleId = jiraPollScheduleId('team-a', 'p8');
    const exists = () =>
      client.schedule
        .getHandle(scheduleId)
        .describe()
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof ScheduleNotFoundError) return false;
            throw error;
          },
        );
    await reconciler.start();
    try {
      const t = trigger('p8', 'project = P8', { transition: 'In Progress' });
      own.set(t);
      await eventually('the Schedule of p8', exists, (found) => found);
      own.delete(t);
      await eventually('the Schedule of p8 to go', exists, (found) => !found);
    } finally {
      await reconciler.stop();
    }
  });
});

describe('the local SessionCreator', () => {
  it('creates the session once; a second create of its name is exists', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'jira-local-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    // No worker polls this queue: the session workflow is only started, never run.
    const create = localSessionCreator({ client, taskQueue: `idle-${randomSuffix()}`, dataDir });
    const session: TriggeredSession = {
      namespace: 'team-a',
      name: `jira-local-${randomSuffix()}`,
      labels: { 'shepherd.dev/trigger': 'p1' },
      spec: { agent: 'claude', initialPrompt: 'x' },
    };
    assert.equal(await create(session), 'created');
    assert.equal(await create(session), 'exists');
    await create({
      ...session,
      spec: { ...session.spec, desiredState: 'Stopped' },
      name: `${session.name}-held`,
    }).then(
      () => assert.fail('a held session cannot be created locally'),
      (error: unknown) => assert.ok(error instanceof SessionRefusedError),
    );
    await client.workflow.getHandle(`agent-session/team-a/${session.name}`).terminate('test done');
  });
});
