/**
 * The state of one run of the session workflow, held in one object: the session state the query
 * returns, what the run has done (attempts launched, the last status written), and what it has
 * been asked meanwhile (runner events, a stop, a restart). The signal handlers only record into it;
 * the workflow's steps read it and act, so a signal never races a step. A run that continued as
 * new starts from the state its predecessor handed over.
 */
import { ApplicationFailure, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Usage } from '../resources/types.js';
import type { RunnerLaunch, SessionRef, WorkspaceInfo } from '../runtime/session-activities.js';
import type { ResolvedSession } from '../session/resolved-session.js';
import { promptRefusal } from './prompt-refusal.js';
import {
  type MonthlyCapReached,
  monthlyCapReachedSignal,
  type SlotNotice,
  slotNoticeSignal,
} from './namespace-contract.js';
import { approvalRefusal, type CapReached } from './session-limits.js';
import {
  APPROVAL_REFUSED,
  type ApproveInput,
  approveUpdate,
  answerUpdate,
  type ContinuedSessionRun,
  PROMPT_REFUSED,
  type PromptAccepted,
  type PromptInput,
  type PullRequestClosed,
  pullRequestClosedSignal,
  sendPromptUpdate,
  type RunnerEvent,
  restartSignal,
  runnerEventSignal,
  type SessionState,
  type SessionWorkflowInput,
  stateQuery,
  stopSignal,
} from './session-contract.js';
import { initialStatus } from './session-status.js';

/** Everything one run knows. */
export interface SessionRun {
  readonly input: SessionWorkflowInput;
  /**
   * Whether the run follows the hardened choreography (`patched`: stops honoured during every
   * step, serialised status writes, failed runs closed as failed). Runs recorded before it replay
   * without it.
   */
  readonly hardened: boolean;
  /**
   * Whether the run takes the outcome back to where people are (`patched`): pull requests for the
   * pushed branches, feedback to the trigger's source. Runs recorded before it replay without it.
   */
  readonly publishes: boolean;
  /**
   * Whether the run holds a conversation (`patched`): it records turns, and unless the session
   * stops on a finished turn it waits Idle for the next prompt. Runs recorded before it replay
   * without it.
   */
  readonly converses: boolean;
  /**
   * The feedback sent last and maybe still in flight (the start, a turn, a question), which the
   * next feedback waits for so they arrive in order.
   */
  feedbackStarted?: Promise<unknown>;
  /** The current conversation turn, from 1 once the attempts began. */
  turn: number;
  /** The prompt of the current turn, from turn 2 on (turn 1's is the spec's). */
  turnPrompt?: string;
  /** `status.usage` of the turns before the current one. */
  usageBeforeTurn?: Usage;
  /** What the session waits for between turns, while it waits. */
  waiting?: 'idle' | 'question';
  /** The prompt taken for the next turn, not started yet. */
  nextPrompt?: { input: PromptInput; turn: number };
  /** A pull request of the session was merged or closed. */
  pullRequestClosed?: PullRequestClosed;
  /** The session the activities act on; the uid is filled in once the session is read. */
  readonly ref: SessionRef;
  /** What the state query returns; `state.status` is the status the run maintains. */
  readonly state: SessionState;
  /** The resolved session, once read. */
  session?: ResolvedSession;
  /** Runner events not handled yet, in the order they arrived. */
  readonly events: RunnerEvent[];
  /** A stop asked for and not acted on yet. */
  stopRequest?: { reason: string };
  /** A restart asked for during the current attempt. */
  restartRequested: boolean;
  /** A restart asked for after the final status was out: the run continues as a new one. */
  restartAfterFinish: boolean;
  /** The session no longer exists: nothing is written for it. */
  sessionGone: boolean;
  /** The workspace, once provisioned. */
  workspace?: WorkspaceInfo;
  /** The workspace was not bound when provisioned; the first runner start reports it bound. */
  workspacePending: boolean;
  /** The runner of the current attempt, once launched. */
  launch?: RunnerLaunch;
  /** Every attempt this run (or the run it continues) launched a runner for, for cleanup. */
  readonly attemptsLaunched: number[];
  /** The current attempt, once the attempts began. */
  attempt: number;
  /** The first attempt of this run of attempts: a restart begins a fresh retry budget. */
  firstAttemptOfRun: number;
  /** When the current attempt's spec.timeout runs out, in workflow time (epoch milliseconds). */
  deadline: number;
  /** The status as last written, serialised, so an unchanged status is not written again. */
  mirrored: string;
  /** The status write in flight, which the next one waits for so writes never overtake. */
  mirroring?: Promise<void>;
  /** The last attempt an earlier run of the session recorded: 0 for a new session. */
  previousAttempt: number;
  /** Why the run ended, once it has: the final reason and message. */
  ending?: { reason: string; message: string };
  /** The run's standing with its namespace's limits (sessions whose policy sets them). */
  limits: SessionLimits;
}

/** What the run knows of its namespace's concurrency limit and budgets. */
export interface SessionLimits {
  /** Whether the run holds a slot, asked for one, or neither. */
  slot: 'none' | 'asked' | 'held';
  /** The namespace workflow's latest notice: the place in the queue, the month's spending. */
  notice?: SlotNotice;
  /** The month's cap was reached while a runner worked (from the namespace workflow). */
  monthlyCapReached?: MonthlyCapReached;
  /** The namespace's spending this month, as last heard from its workflow. */
  monthSpentUsd?: number;
  /** USD the session's attempts spent, every attempt and turn counted. */
  spentUsd: number;
  /** Caps approved above the policy's. */
  sessionCapUsd?: number;
  monthlyCapUsd?: number;
  /** The cap the session waits at (phase WaitingForApproval). */
  waitingAt?: CapReached;
  /** An approval taken and not acted on yet. */
  approval?: ApproveInput;
}

/** Creates the run's state and installs the query and signal handlers on it. */
export function startRun(
  input: SessionWorkflowInput,
  hardened: boolean,
  publishes: boolean,
  converses: boolean,
): SessionRun {
  const info = workflowInfo();
  const run: SessionRun = {
    input,
    hardened,
    publishes,
    converses,
    turn: 0,
    ref: { namespace: input.namespace, name: input.name, ...(input.uid ? { uid: input.uid } : {}) },
    state: {
      namespace: input.namespace,
      name: input.name,
      phase: 'Pending',
      status: initialStatus(info.workflowId, info.runId),
      finished: false,
      ...(input.spec ? { spec: input.spec } : {}),
      ...(input.labels ? { labels: input.labels } : {}),
    },
    events: [],
    restartRequested: false,
    restartAfterFinish: false,
    sessionGone: false,
    workspacePending: false,
    attemptsLaunched: [],
    attempt: 0,
    firstAttemptOfRun: 0,
    deadline: 0,
    mirrored: '',
    previousAttempt: input.previousAttempt ?? 0,
    limits: { slot: 'none', spentUsd: 0 },
  };
  if (input.continued) resume(run, input.continued, info.runId);
  setHandler(stateQuery, () => run.state);
  setHandler(runnerEventSignal, (event) => {
    run.events.push(event);
  });
  setHandler(stopSignal, (request) => {
    run.stopRequest ??= { reason: request?.reason ?? 'stopped on request' };
  });
  setHandler(pullRequestClosedSignal, (closed) => {
    run.pullRequestClosed ??= closed;
  });
  const take = (prompt: PromptInput): PromptAccepted => {
    const turn = run.turn + 1;
    run.nextPrompt = { input: prompt, turn };
    return { turn };
  };
  setHandler(sendPromptUpdate, take, {
    validator: (prompt: PromptInput) => refusePrompt(run, prompt, 'prompt'),
  });
  setHandler(answerUpdate, take, { validator: (prompt: PromptInput) => refusePrompt(run, prompt, 'answer') });
  setHandler(slotNoticeSignal, (notice) => {
    run.limits.notice = notice;
    run.limits.monthSpentUsd = notice.spentUsd;
  });
  setHandler(monthlyCapReachedSignal, (reached) => {
    run.limits.monthlyCapReached = reached;
    run.limits.monthSpentUsd = Math.max(run.limits.monthSpentUsd ?? 0, reached.spentUsd);
  });
  setHandler(
    approveUpdate,
    (approval) => {
      const cap = run.limits.waitingAt?.cap ?? 'session';
      run.limits.approval = approval;
      run.limits.waitingAt = undefined;
      return { cap, capUsd: approval.capUsd };
    },
    {
      validator: (approval: ApproveInput) => {
        const refusal = approvalRefusal(run.ref.name, run.state.phase, run.limits.waitingAt, approval);
        if (refusal)
          throw ApplicationFailure.create({ type: APPROVAL_REFUSED, message: refusal, nonRetryable: true });
      },
    },
  );
  setHandler(restartSignal, () => {
    // After the final status is out, the run is only cleaning up: a restart then must become a
    // new run rather than be lost.
    // So must one that arrives while a stop is pending (hardened runs): the stop wins the current
    // run, and the restart follows it.
    if (run.state.finished || (run.hardened && run.stopRequest)) run.restartAfterFinish = true;
    else run.restartRequested = true;
  });
  return run;
}

/** Throws the PROMPT_REFUSED failure when the run cannot take `prompt` now (the Updates' validator). */
function refusePrompt(run: SessionRun, prompt: PromptInput | undefined, kind: 'prompt' | 'answer'): void {
  const refusal = promptRefusal(
    {
      name: run.ref.name,
      phase: run.state.phase,
      converses: run.converses,
      finished: run.state.finished,
      stopping: run.stopRequest !== undefined,
      ...(run.waiting ? { waiting: run.waiting } : {}),
      turn: run.turn,
      ...(run.nextPrompt ? { nextTurn: run.nextPrompt.turn } : {}),
    },
    prompt,
    kind,
  );
  if (refusal)
    throw ApplicationFailure.create({ type: PROMPT_REFUSED, message: refusal, nonRetryable: true });
}

/** Takes over the state a run that continued as new handed over. */
function resume(run: SessionRun, continued: ContinuedSessionRun, runId: string): void {
  const { session } = continued;
  run.session = session;
  run.ref.uid ??= session.uid;
  run.state.status = { ...continued.status, runId };
  run.state.phase = continued.status.phase ?? run.state.phase;
  run.events.push(...continued.events);
  if (continued.stopRequest) run.stopRequest = continued.stopRequest;
  run.restartRequested = continued.restartRequested;
  run.workspace = continued.workspace;
  run.workspacePending = continued.workspacePending;
  run.launch = continued.launch;
  run.attemptsLaunched.push(...continued.attemptsLaunched);
  run.attempt = continued.attempt;
  run.firstAttemptOfRun = continued.firstAttemptOfRun;
  run.deadline = continued.deadline;
  run.turn = continued.turn || 1;
  if (continued.turnPrompt !== undefined) run.turnPrompt = continued.turnPrompt;
  if (continued.usageBeforeTurn) run.usageBeforeTurn = continued.usageBeforeTurn;
  if (continued.waitingForTurn) run.waiting = continued.waitingForTurn.waiting;
  if (continued.limits) {
    const { holdsSlot, spentUsd, sessionCapUsd, monthlyCapUsd } = continued.limits;
    run.limits = {
      slot: holdsSlot ? 'held' : 'none',
      spentUsd,
      ...(sessionCapUsd === undefined ? {} : { sessionCapUsd }),
      ...(monthlyCapUsd === undefined ? {} : { monthlyCapUsd }),
    };
  }
}

/** What a run hands over when it continues as new while it waits for its runner. */
export function handOver(run: SessionRun, session: ResolvedSession): ContinuedSessionRun {
  return {
    session,
    status: run.state.status,
    attempt: run.attempt,
    firstAttemptOfRun: run.firstAttemptOfRun,
    attemptsLaunched: [...run.attemptsLaunched],
    deadline: run.deadline,
    ...(run.workspace ? { workspace: run.workspace } : {}),
    workspacePending: run.workspacePending,
    ...(run.launch ? { launch: run.launch } : {}),
    events: [...run.events],
    ...(run.stopRequest ? { stopRequest: run.stopRequest } : {}),
    restartRequested: run.restartRequested,
    turn: run.turn,
    ...(run.turnPrompt !== undefined ? { turnPrompt: run.turnPrompt } : {}),
    ...(run.usageBeforeTurn ? { usageBeforeTurn: run.usageBeforeTurn } : {}),
    ...(run.limits.slot !== 'none' || run.limits.spentUsd > 0 ? { limits: limitsOf(run) } : {}),
  };
}

/** The run's limits, as a run that continues as new takes them over. */
function limitsOf(run: SessionRun) {
  const { slot, spentUsd, sessionCapUsd, monthlyCapUsd } = run.limits;
  return {
    holdsSlot: slot === 'held',
    spentUsd,
    ...(sessionCapUsd === undefined ? {} : { sessionCapUsd }),
    ...(monthlyCapUsd === undefined ? {} : { monthlyCapUsd }),
  };
}

/** Removes and returns the next event of `attempt`, dropping events of other attempts. */
export function takeEvent(run: SessionRun, attempt: number): RunnerEvent | undefined {
  for (;;) {
    const event = run.events.shift();
    if (!event || event.attempt === attempt) return event;
  }
}

/** Whether anything the wait for the runner of `attempt` must act on has arrived. */
export function hasNews(run: SessionRun, attempt: number): boolean {
  return (
    run.events.some((e) => e.attempt === attempt) ||
    run.stopRequest !== undefined ||
    run.restartRequested ||
    run.limits.monthlyCapReached !== undefined
  );
}
