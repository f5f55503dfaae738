/**
 * The session workflow on Temporal's time-skipping test server, with a `FakeRuntime` for its
 * activities: one test server and one worker per test file, and a runtime of its own for each
 * session, to which the worker's activities route each call by the session's name. Time stands
 * still while a test drives a session and skips ahead — through every 2-minute check and the
 * whole timeout if need be — while it waits for the result, so a session that runs for hours
 * ends in milliseconds.
 *
 * A `TestSession` is what a test talks to: the user's side (stop, restart, delete, state) and the
 * watcher's side (a runner starts, exits, or ends without anyone noticing).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type ConnectionPlugin, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { type Duration, WorkflowIdReusePolicy } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { addSearchAttributes } from '../../../src/processes/temporal-namespace.js';
import { createNamespaceActivities } from '../../../src/namespace/namespace-activities.js';
import { repoRoot, testToolPaths } from '../../../src/processes/tools.js';
import type { AgentSessionSpec } from '../../../src/resources/types.js';
import type { RunnerResult } from '../../../src/runner-contract/result.js';
import type { RunnerTermination } from '../../../src/session/exit-outcome.js';
import { type PromptOutcome, sendSessionPrompt } from '../../../src/session-client/session-commands.js';
import {
  restartSignal,
  runnerEventSignal,
  SESSION_WORKFLOW_TYPE,
  type SessionState,
  type SessionWorkflowInput,
  sessionWorkflowId,
  stateQuery,
  stopSignal,
} from '../../../src/workflows/session-contract.js';
import { type AllActivities, FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.js';

/** The session workflows, as the worker registers them. */
export const WORKFLOWS_PATH = join(repoRoot, 'src', 'workflows', 'index.ts');

/** The namespace every test session lives in. */
export const SESSION_NAMESPACE = 'team-a';

/** A session spec a test starts from: a command agent on one repository, no retries. */
export function sessionSpec(overrides: Partial<AgentSessionSpec> = {}): AgentSessionSpec {
  return {
    agent: 'command',
    command: ['make', 'fix'],
    repos: [{ url: 'https://git.example.com/team-a/shop.git', branch: 'main' }],
    retries: 0,
    timeout: '1h',
    ...overrides,
  };
}

/** What a runner that pushed its work reports for the session's repository. */
export function pushedResult(sessionName: string, summary = 'fixed the flaky test'): RunnerResult {
  return {
    summary,
    repos: [
      {
        url: 'https://git.example.com/team-a/shop.git',
        branch: `shepherd/${sessionName}`,
        commit: '3f2a9c1',
        status: 'Pushed',
      },
    ],
    usage: { inputTokens: 1200, outputTokens: 340 },
  };
}

/** A session under test: its workflow, its runtime, and what the user and the watcher can do. */
export class TestSession {
  /** The workflow id, `agent-session/<namespace>/<name>`. */
  readonly workflowId: string;

  constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly taskQueue: string,
    /** The session's runtime: what the workflow asked of it, and the runners it runs. */
    readonly runtime: FakeRuntime,
    readonly name: string,
    private readonly input: SessionWorkflowInput,
  ) {
    this.workflowId = sessionWorkflowId(SESSION_NAMESPACE, name);
  }

  /** The latest run of the session's workflow. */
  get handle(): WorkflowHandle {
    return this.env.client.workflow.getHandle(this.workflowId);
  }

  /** Starts the session's workflow, as the API or the controller does; returns the run id. */
  async start(): Promise<string> {
    const handle = await this.env.client.workflow.start(SESSION_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: this.workflowId,
      args: [this.input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    return handle.firstExecutionRunId;
  }

  /** Time passes on the server — skipped, not waited for — while the session's timers run. */
  async timePasses(duration: Duration): Promise<void> {
    await this.env.sleep(duration);
  }

  /** Alice sends a prompt (or, as `answer`, the answer to the agent's question) through the API's path. */
  async prompt(text: string, kind: 'prompt' | 'answer' = 'prompt'): Promise<PromptOutcome> {
    const input = { prompt: text, source: 'api' as const, author: 'alice' };
    return sendSessionPrompt(this.env.client, SESSION_NAMESPACE, this.name, input, kind);
  }

  /** The watcher saw the runner of `attempt` start (once the workflow has launched it). */
  async runnerStarts(attempt: number): Promise<void> {
    await this.runtime.launched(attempt);
    const podName = this.runtime.start(attempt);
    await this.handle.signal(runnerEventSignal, { kind: 'started', attempt, podName });
  }

  /** The runner of `attempt` exits with `exitCode`, having written `result`; the watcher signals it. */
  async runnerExits(attempt: number, exitCode: number, result?: RunnerResult): Promise<void> {
    const termination = this.termination(exitCode, result);
    this.runtime.end(attempt, termination);
    // A runner that exits ran in a pod; the watcher names it.
    const podName = this.runtime.start(attempt);
    await this.handle.signal(runnerEventSignal, { kind: 'ended', attempt, podName, termination });
  }

  /** The runner of `attempt` exits, but the watcher's signal is lost: only a check can find it. */
  runnerExitsUnseen(attempt: number, exitCode: number, result?: RunnerResult): void {
    this.runtime.end(attempt, this.termination(exitCode, result));
  }

  /** Asks the session to stop, as `shepherd stop` does. */
  async stop(reason = 'stopped by alice'): Promise<void> {
    await this.handle.signal(stopSignal, { reason });
  }

  /**
   * Restarts the session, as `shepherd restart` does: signal-with-start, so a running session
   * begins a new attempt and a finished one a new run.
   */
  async restart(): Promise<void> {
    await this.env.client.workflow.signalWithStart(SESSION_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: this.workflowId,
      args: [{ ...this.input, restart: true }],
      signal: restartSignal,
      signalArgs: [],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  }

  /**
   * Waits until the run has no activity in flight: an activity the fake runtime has seen called
   * may not have returned yet, and the test server mishandles a cancellation that races an
   * activity's completion (it answers ACTIVITY_UNKNOWN and the run stalls), which a real server
   * does not.
   */
  async settled(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await this.handle.describe()).raw.pendingActivities?.length) {
      if (Date.now() > deadline) throw new Error(`${this.name} still has activities in flight after 30 s`);
      await sleep(20);
    }
  }

  /**
   * Waits until the only activity in flight is `activity` (one the fake runtime holds), so a stop
   * sent next cancels that one alone: the test server stalls a run whose cancellation races the
   * completion of another activity (e.g. a status mirror started beside it).
   */
  async onlyInFlight(activity: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pending = (await this.handle.describe()).raw.pendingActivities ?? [];
      if (pending.length === 1 && pending[0]?.activityType?.name === activity) return;
      if (Date.now() > deadline)
        throw new Error(`${this.name}: ${activity} never was the only activity in flight`);
      await sleep(50);
    }
  }

  /**
   * Waits (up to 60 s: the test server answers slowly on a loaded machine) until the latest run's
   * history satisfies `check`. On timeout the error lists the last events, so a stalled run says
   * where it stopped.
   */
  async historyShows(
    check: (events: proto.temporal.api.history.v1.IHistoryEvent[]) => boolean,
  ): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const events = (await this.handle.fetchHistory()).events ?? [];
      if (check(events)) return;
      if (Date.now() > deadline) {
        const last = events.slice(-6).map((e) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]);
        throw new Error(
          `${this.name}: the history never showed what was expected; its last events: ${last.join(', ')}`,
        );
      }
      await sleep(100);
    }
  }

  /**
   * Waits (up to 60 s) until run `runId` has continued as new, from the server's description of
   * that run rather than a query: the test server never answers a query that reaches a run as it
   * closes, so polling the state across the hand-over could wait forever.
   */
  async continuedAsNew(runId: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    const run = this.env.client.workflow.getHandle(this.workflowId, runId);
    while ((await run.describe()).status.name !== 'CONTINUED_AS_NEW') {
      if (Date.now() > deadline)
        throw new Error(`${this.name}: run ${runId} did not continue as new in 60 s`);
      await sleep(20);
    }
  }

  /** Deletes the session: its workflow is cancelled. */
  async delete(): Promise<void> {
    await this.handle.cancel();
  }

  /** The session as the state query reports it. */
  async state(): Promise<SessionState> {
    return this.handle.query(stateQuery);
  }

  /**
   * Waits for the latest run to end, skipping time meanwhile, and returns its final state
   * (following continue-as-new to the run that ends). A run that ended Failed or TimedOut closes
   * as failed: its state is then what the query still answers.
   */
  async result(): Promise<SessionState> {
    return (await this.outcome()).state;
  }

  /**
   * How the latest run closed: its final state, and for a failed run the failure type and message
   * the Web UI shows.
   */
  async outcome(): Promise<{ state: SessionState; failure?: { type: string; message: string } }> {
    try {
      return { state: (await this.handle.result()) as SessionState };
    } catch (error) {
      if (!(error instanceof WorkflowFailedError) || !(error.cause instanceof ApplicationFailure))
        throw error;
      const failure = { type: error.cause.type ?? '', message: error.cause.message };
      return { state: await this.state(), failure };
    }
  }

  private termination(exitCode: number, result: RunnerResult | undefined): RunnerTermination {
    return {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(result ? { message: JSON.stringify(result) } : {}),
    };
  }
}

/** How a test session is set up. */
export interface SessionOptions {
  /** The session's name, unique within the test file. */
  name: string;
  spec?: AgentSessionSpec;
  /** Extra workflow input, e.g. a test's history-length threshold. */
  input?: Partial<SessionWorkflowInput>;
  missingSecret?: FakeRuntimeOptions['missingSecret'];
  policy?: FakeRuntimeOptions['policy'];
}

/** Temporal's indexed type of each search attribute type Shepherd uses. */

/** The task queue of the file's worker. */
const TASK_QUEUE = 'shepherd-sessions-test';

/** One test server for a test file, its worker, and the runtimes of its sessions. */
export class SessionEnvironment {
  private readonly runtimes = new Map<string, FakeRuntime>();
  private worker: { worker: Worker; running: Promise<void> } | undefined;

  private constructor(
    /** The time-skipping test environment. */
    readonly env: TestWorkflowEnvironment,
  ) {}

  /**
   * Starts the test server (the wrapper scripts/setup-tools.sh installs), registers Shepherd's
   * search attributes and bundles the workflows.
   */
  static async start(): Promise<SessionEnvironment> {
    const { temporalTestServer } = testToolPaths();
    if (!existsSync(temporalTestServer)) {
      throw new Error(
        `the Temporal test server is not installed at ${temporalTestServer}; run \`npm run setup -- temporal-test-server\``,
      );
    }
    installQuietRuntime();
    const [env, bundle] = await Promise.all([
      startTestServer(temporalTestServer),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }),
    ]);
    // The workflow sets Shepherd's search attributes; the server rejects undeclared ones.
    await addSearchAttributes(env.connection, env.namespace ?? 'default');
    const sessions = new SessionEnvironment(env);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: TASK_QUEUE,
      workflowBundle: bundle,
      activities: {
        ...sessions.routedActivities(),
        // The namespace workflow, shared by the file's sessions, is the real one.
        ...createNamespaceActivities({ client: env.client, taskQueue: TASK_QUEUE }),
      },
    });
    sessions.worker = { worker, running: worker.run() };
    return sessions;
  }

  /** Sets up a session and its runtime; `start()` the session to run it. */
  session(options: SessionOptions): TestSession {
    if (this.runtimes.has(options.name)) throw new Error(`session ${options.name} exists already`);
    const runtime = new FakeRuntime({
      namespace: SESSION_NAMESPACE,
      name: options.name,
      spec: options.spec ?? sessionSpec(),
      ...(options.missingSecret ? { missingSecret: options.missingSecret } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
    });
    this.runtimes.set(options.name, runtime);
    const input: SessionWorkflowInput = {
      namespace: SESSION_NAMESPACE,
      name: options.name,
      ...options.input,
    };
    return new TestSession(this.env, TASK_QUEUE, runtime, options.name, input);
  }

  /** Sets up a session and starts it. */
  async startSession(options: SessionOptions): Promise<TestSession> {
    const session = this.session(options);
    await session.start();
    return session;
  }

  /** Shuts the worker down and stops the test server. */
  async stop(): Promise<void> {
    for (const runtime of this.runtimes.values()) runtime.releaseHolds();
    if (this.worker) {
      this.worker.worker.shutdown();
      await this.worker.running;
    }
    await this.env.teardown();
  }

  /** The activities of every session's runtime, each call routed by the session it names. */
  private routedActivities(): AllActivities {
    const runtimeOf = (name: string): AllActivities => {
      const runtime = this.runtimes.get(name);
      if (!runtime) throw new Error(`no runtime for session ${name}`);
      return runtime.activities;
    };
    return {
      loadSession: (input) => runtimeOf(input.name).loadSession(input),
      provisionWorkspace: (session) => runtimeOf(session.name).provisionWorkspace(session),
      provisionSecrets: (session) => runtimeOf(session.name).provisionSecrets(session),
      launchRunner: (input) => runtimeOf(input.session.name).launchRunner(input),
      observeRunner: (input) => runtimeOf(input.session.name).observeRunner(input),
      stopRunner: (input) => runtimeOf(input.session.name).stopRunner(input),
      cleanup: (input) => runtimeOf(input.session.name).cleanup(input),
      mirrorStatus: (input) => runtimeOf(input.session.name).mirrorStatus(input),
      publishPullRequests: (input) => runtimeOf(input.session.name).publishPullRequests(input),
      sendFeedback: (input) => runtimeOf(input.session.name).sendFeedback(input),
    };
  }
}

/**
 * The test file's sessions: registers the `before` hook that starts one SessionEnvironment for the
 * file and the `after` hook that stops it once its tests are done.
 */
export function sessionsOfFile(): Pick<SessionEnvironment, 'session' | 'startSession'> {
  let environment: SessionEnvironment | undefined;
  const started = (): SessionEnvironment => {
    if (!environment) throw new Error('the session environment is not started: use it in a test');
    return environment;
  };
  before(async () => {
    environment = await SessionEnvironment.start();
  });
  after(async () => {
    await environment?.stop();
  });
  return {
    session: (options) => started().session(options),
    startSession: (options) => started().startSession(options),
  };
}

/**
 * The client's keepalive as the Java test server accepts it. The SDK pings every 30 s, also
 * without calls; grpc-java allows one ping per 5 minutes, and only with a call in flight, so a file
 * that runs longer than a minute or two (a loaded machine) got its connection closed with
 * "too_many_pings", and a call waiting on it (a result, a query) could wait forever.
 */
const JAVA_SERVER_KEEPALIVE: ConnectionPlugin = {
  name: 'java-test-server-keepalive',
  configureConnection: (options) => ({
    ...options,
    channelArgs: {
      ...options.channelArgs,
      'grpc.keepalive_time_ms': 330_000,
      'grpc.keepalive_permit_without_calls': 0,
    },
  }),
};

/**
 * Starts the test server. The SDK gives it 5 s to answer, which a JVM on a machine busy with
 * other builds can miss; the SDK then stops it, and it is tried again.
 */
async function startTestServer(path: string): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
        plugins: [JAVA_SERVER_KEEPALIVE],
      });
    } catch (error) {
      if (attempt >= 8 || !String(error).includes('did not start within')) throw error;
    }
  }
}

let runtimeInstalled = false;

/** Installs the SDK's runtime logging errors only: its INFO lines would drown the test report, and every failed session would log a warning. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}
