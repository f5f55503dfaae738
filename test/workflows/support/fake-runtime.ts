/**
 * A scripted runtime for the session workflow: the `SessionActivities` as plain functions over an
 * in-memory session, so the workflow runs on the time-skipping test server without Kubernetes.
 * It behaves like the Kubernetes runtime where the workflow can tell: the session's spec and its
 * mirrored status live in a record like an AgentSession CR (so a restarted run continues the
 * attempt count from there), every activity is recorded, and a runner's state is what
 * `observeRunner` reports. The test plays the watcher: it decides when a runner starts and ends,
 * and whether the workflow hears of it by signal or only by its own periodic check.
 */
import type { AgentSessionSpec, AgentSessionStatus } from '../../../src/resources/types.js';
import { CredentialsNotFoundError } from '../../../src/runtime/errors.js';
import type {
  LoadedSession,
  LoadSessionInput,
  RunnerLaunch,
  SessionActivities,
  SessionRef,
  WorkspaceInfo,
} from '../../../src/runtime/session-activities.js';
import type { RunnerTermination } from '../../../src/session/exit-outcome.js';
import { resolveSession } from '../../../src/session/resolve-session.js';
import type { ResolvedPolicy, ResolvedSession } from '../../../src/session/resolved-session.js';
import type { RunnerEvent } from '../../../src/workflows/session-contract.js';
import type {
  FeedbackInput,
  OutcomeActivities,
  PublishInput,
  PublishOutput,
} from '../../../src/session-outcome/outcome-activities.js';

/** Every activity the session workflow calls: the runtime's and the outcome's. */
export type AllActivities = SessionActivities & OutcomeActivities;

/** The name of one of the activities. */
export type ActivityName = keyof AllActivities;

/** The outcome activities, which `steps` leaves out: they do not touch the runtime. */
const OUTCOME_ACTIVITIES: readonly ActivityName[] = ['publishPullRequests', 'sendFeedback'];

/** One activity call the runtime saw, with its input. */
export interface ActivityCall {
  name: ActivityName;
  input: unknown;
}

/** How the session is set up before the workflow first reads it. */
export interface FakeRuntimeOptions {
  namespace: string;
  name: string;
  spec: AgentSessionSpec;
  /**
   * A Secret the session refers to that does not exist: `provisionSecrets` fails with
   * CredentialsNotFound naming it.
   */
  missingSecret?: string;
  /** What the namespace's policy asks of the session while it runs, as the Kubernetes runtime resolves it. */
  policy?: ResolvedPolicy;
}

/** What one attempt's runner is doing, as its Job and pod would show it. */
interface RunnerRecord {
  podName?: string;
  ended?: RunnerTermination;
  /** How it ends when `stopRunner` deletes it: what a runner stopped mid-work writes. */
  onStop?: RunnerTermination;
}

/** A promise and the function that resolves it: the test's hand on a held activity (`hold`). */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A call the test holds until it lets it go, to act while the workflow waits on it. */
interface Hold {
  name: ActivityName;
  release: Promise<void>;
}

/** A failure the test scripts for the next calls of one activity. */
interface ScriptedFailure {
  name: ActivityName;
  error: () => Error;
  /** How many calls still fail. */
  remaining: number;
  /** Which calls fail: those whose input matches. */
  when: (input: unknown) => boolean;
}

/** Waits on a predicate over the runtime's state, woken by every change. */
interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

const SESSION_UID = '0d6c8f5e-0000-4000-8000-00000000f00d';

/** The in-memory runtime: activities, what they saw, and handles for the test to script it. */
export class FakeRuntime {
  /** Every activity call, in the order the workflow made them. */
  readonly calls: ActivityCall[] = [];
  /** The activities to register on the worker. */
  readonly activities: AllActivities;
  /** How `publishPullRequests` answers: by default every reported repository as it is. */
  publishAs: (input: PublishInput) => PublishOutput = (input) => ({
    repos: input.reported,
    refused: [],
    notFound: [],
  });
  /** The status last mirrored, as the AgentSession CR would hold it. */
  status: AgentSessionStatus | undefined;

  private readonly runners = new Map<number, RunnerRecord>();
  private readonly holds: Hold[] = [];
  /** Lets every held call go at once: see {@link releaseHolds}. */
  private releaseAll!: () => void;
  private readonly allReleased = new Promise<void>((resolve) => {
    this.releaseAll = resolve;
  });
  private readonly failures: ScriptedFailure[] = [];
  private spec: AgentSessionSpec;
  private generation = 1;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly options: FakeRuntimeOptions) {
    this.spec = options.spec;
    this.activities = {
      loadSession: (input) => this.record('loadSession', input, () => this.loadSession(input)),
      provisionWorkspace: (session) =>
        this.record('provisionWorkspace', session, () => this.provisionWorkspace(session)),
      provisionSecrets: (session) => this.record('provisionSecrets', session, () => this.provisionSecrets()),
      launchRunner: (input) => this.record('launchRunner', input, () => this.launchRunner(input)),
      observeRunner: (input) => this.record('observeRunner', input, () => this.observeRunner(input)),
      stopRunner: (input) => this.record('stopRunner', input, () => this.stopRunner(input)),
      cleanup: (input) => this.record('cleanup', input, async () => undefined),
      mirrorStatus: (input) => this.record('mirrorStatus', input, () => this.mirrorStatus(input)),
      publishPullRequests: (input) =>
        this.record('publishPullRequests', input, () => Promise.resolve(this.publishAs(input))),
      sendFeedback: (input: FeedbackInput) =>
        this.record('sendFeedback', input, () => Promise.resolve({ sent: [`feedback:${input.moment}`] })),
    };
  }

  /** The names of the activities called so far, in order, without the status mirror's writes. */
  get steps(): ActivityName[] {
    return this.calls
      .map((call) => call.name)
      .filter((name) => name !== 'mirrorStatus' && !OUTCOME_ACTIVITIES.includes(name));
  }

  /** The inputs of every call of one activity. */
  inputsOf<N extends ActivityName>(name: N): Parameters<AllActivities[N]>[0][] {
    return this.calls
      .filter((call) => call.name === name)
      .map((call) => call.input as Parameters<AllActivities[N]>[0]);
  }

  /**
   * Makes the next call of `name` wait until `release` resolves: the workflow is then waiting on
   * that activity, and the test can signal it meanwhile.
   */
  hold(name: ActivityName, release: Promise<void>): void {
    this.holds.push({ name, release });
  }

  /**
   * Lets every held call go, whether or not its test did: a test that failed before opening its
   * gate must not keep the file's worker from shutting down.
   */
  releaseHolds(): void {
    this.releaseAll();
  }

  /**
   * Makes the next `times` calls of `name` fail with `error()` (a new error each time, as a
   * runtime would throw it), after they are recorded; with `when`, only the calls whose input
   * matches.
   */
  fail(
    name: ActivityName,
    error: () => Error,
    times = Number.POSITIVE_INFINITY,
    when: (input: unknown) => boolean = () => true,
  ): void {
    this.failures.push({ name, error, remaining: times, when });
  }

  /** The user edits the session's spec: the CR's generation moves on. */
  editSpec(edit: (spec: AgentSessionSpec) => AgentSessionSpec): void {
    this.spec = edit(this.spec);
    this.generation += 1;
  }

  /** Resolves once the runtime's state satisfies `check` (checked after every activity). */
  async until(check: () => boolean): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve) => this.waiters.push({ check, resolve }));
  }

  /** Resolves once the workflow has called `name` (with a matching input) at least once. */
  async called(name: ActivityName, matches: (input: unknown) => boolean = () => true): Promise<void> {
    await this.until(() => this.calls.some((call) => call.name === name && matches(call.input)));
  }

  /** Resolves once the workflow has launched the runner of `attempt`. */
  async launched(attempt: number): Promise<void> {
    await this.called('launchRunner', (input) => (input as { attempt: number }).attempt === attempt);
  }

  /** Resolves once the mirrored status satisfies `check`. */
  async mirrored(check: (status: AgentSessionStatus) => boolean): Promise<void> {
    await this.until(() => this.status !== undefined && check(this.status));
  }

  /** Marks the runner of `attempt` started, as its pod would show; returns the pod's name. */
  start(attempt: number): string {
    const record = this.runner(attempt);
    record.podName ??= `${this.options.name}-a${attempt}-pod`;
    this.notify();
    return record.podName;
  }

  /** Marks the runner of `attempt` ended with `termination`. */
  end(attempt: number, termination: RunnerTermination): void {
    this.runner(attempt).ended = termination;
    this.notify();
  }

  /** Sets what the runner of `attempt` reports when it is stopped (it pushes its work first). */
  onStop(attempt: number, termination: RunnerTermination): void {
    this.runner(attempt).onStop = termination;
  }

  /** The events the watcher would send for the runner of `attempt` as it stands now. */
  private eventsOf(attempt: number): RunnerEvent[] {
    const record = this.runners.get(attempt);
    if (!record) return [];
    const events: RunnerEvent[] = [];
    if (record.podName) events.push({ kind: 'started', attempt, podName: record.podName });
    if (record.ended) {
      events.push({
        kind: 'ended',
        attempt,
        ...(record.podName ? { podName: record.podName } : {}),
        termination: record.ended,
      });
    }
    return events;
  }

  private runner(attempt: number): RunnerRecord {
    let record = this.runners.get(attempt);
    if (!record) {
      record = {};
      this.runners.set(attempt, record);
    }
    return record;
  }

  private async record<T>(name: ActivityName, input: unknown, run: () => Promise<T>): Promise<T> {
    this.calls.push({ name, input: structuredClone(input) });
    this.notify();
    const index = this.holds.findIndex((hold) => hold.name === name);
    if (index >= 0) {
      const [hold] = this.holds.splice(index, 1);
      await Promise.race([hold?.release, this.allReleased]);
    }
    try {
      const failure = this.failures.find((f) => f.name === name && f.remaining > 0 && f.when(input));
      if (failure) {
        failure.remaining -= 1;
        throw failure.error();
      }
      return await run();
    } finally {
      this.notify();
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.check()) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  private async loadSession(input: LoadSessionInput): Promise<LoadedSession> {
    const session: ResolvedSession = resolveSession({
      apiVersion: 'shepherd.dev/v1alpha1',
      kind: 'AgentSession',
      metadata: {
        namespace: input.namespace,
        name: input.name,
        uid: SESSION_UID,
        generation: this.generation,
      },
      spec: this.spec,
    });
    if (this.options.policy) session.policy = this.options.policy;
    const previousTurns = input.previousTurns ?? this.status?.turns;
    return {
      session,
      previousAttempt: input.previousAttempt ?? this.status?.attempt ?? 0,
      ...(previousTurns?.length ? { previousTurns } : {}),
    };
  }

  private async provisionWorkspace(session: ResolvedSession): Promise<WorkspaceInfo> {
    const name = `${session.name}-workspace`;
    return { name, reason: 'Bound', description: `PVC ${name}` };
  }

  private async provisionSecrets(): Promise<void> {
    const missing = this.options.missingSecret;
    if (missing) {
      throw new CredentialsNotFoundError(
        `Secret ${missing} does not exist in namespace ${this.options.namespace}; create it with key token`,
      );
    }
  }

  private async launchRunner(input: { session: ResolvedSession; attempt: number }): Promise<RunnerLaunch> {
    const created = !this.runners.has(input.attempt);
    this.runner(input.attempt);
    const name = `${input.session.name}-a${input.attempt}`;
    return { name, created, description: `Job ${name}` };
  }

  private async observeRunner(input: { session: SessionRef; attempt: number }): Promise<RunnerEvent[]> {
    return this.eventsOf(input.attempt);
  }

  /** Deleting a runner ends it the way a terminated container does, unless it had ended already. */
  private async stopRunner(input: { session: SessionRef; attempt: number }): Promise<void> {
    const record = this.runners.get(input.attempt);
    if (record && !record.ended) record.ended = record.onStop ?? { exitCode: 143, reason: 'Error' };
  }

  private async mirrorStatus(input: { session: SessionRef; status: AgentSessionStatus }): Promise<boolean> {
    this.status = structuredClone(input.status);
    return true;
  }
}
