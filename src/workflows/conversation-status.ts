/**
 * The status of a conversation, as pure functions like session-status.ts: a turn begins, records
 * what its runner reported, ends; the session goes Idle between turns or WaitingForInput while the
 * agent's question waits. `status.usage` is the sum over the turns, `status.turns[]` the record of
 * each, and the question is in the status only while it waits.
 */
import { ConditionType, Reason } from '../resources/conditions.js';
import {
  type AgentSessionStatus,
  type PromptSource,
  TRIGGER_SOURCES,
  type TurnResult,
  type TurnStatus,
  type Usage,
} from '../resources/types.js';
import { parseRunnerResult } from '../runner-contract/result.js';
import { formatDuration } from '../session/duration.js';
import type { RunnerTermination } from '../session/exit-outcome.js';
import { trimText } from '../runner-contract/result-limits.js';
import type { FinalPhase } from './session-status.js';
import { withCondition } from './session-status.js';

/** How many turns the status keeps (the oldest go first); the CRD allows no more. */
export const MAX_TURNS = 100;

/** The longest turn summary the status keeps; the full one is `status.result` while it is the last. */
const TURN_SUMMARY_CHARS = 2048;

/** Who asked for a turn, and from where. */
export interface TurnOrigin {
  number: number;
  source: PromptSource;
  author?: string;
}

/**
 * Where the first turn of a run came from: the trigger's source for a session a forge, Jira or
 * Slack started (the spec holds what that source asked), else the spec.
 */
export function firstTurnSource(triggerSource: string | undefined): PromptSource {
  return (TRIGGER_SOURCES as readonly string[]).includes(triggerSource ?? '')
    ? (triggerSource as PromptSource)
    : 'spec';
}

/** The last turn, replaced by `change` applied to it; the status unchanged when there is none. */
function withLastTurn(
  status: AgentSessionStatus,
  change: (turn: TurnStatus) => TurnStatus,
): AgentSessionStatus {
  const turns = status.turns ?? [];
  const last = turns.at(-1);
  if (!last) return status;
  return { ...status, turns: [...turns.slice(0, -1), change(last)] };
}

/**
 * A turn begins with its first attempt: its entry in `turns[]`, and no question any more. From the
 * second turn on the phase goes back to Provisioning (the runner's objects are made again).
 */
export function turnStarted(
  status: AgentSessionStatus,
  origin: TurnOrigin,
  attempt: number,
  now: Date,
): AgentSessionStatus {
  const turn: TurnStatus = {
    number: origin.number,
    source: origin.source,
    ...(origin.author ? { author: origin.author } : {}),
    startTime: now.toISOString(),
    firstAttempt: attempt,
    lastAttempt: attempt,
  };
  const { question: _question, ...rest } = status;
  const turns = [...(status.turns ?? []), turn].slice(-MAX_TURNS);
  return { ...rest, ...(origin.number > 1 ? { phase: 'Provisioning' as const } : {}), turns };
}

/** A further attempt of the current turn (a retry or a restart). */
export function turnAttempt(status: AgentSessionStatus, attempt: number): AgentSessionStatus {
  return withLastTurn(status, (turn) => ({ ...turn, lastAttempt: attempt }));
}

/** The sum of two usages, field by field; undefined when neither says anything. */
export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  const sum: Usage = { ...a };
  for (const key of Object.keys(b) as (keyof Usage)[]) sum[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return sum;
}

/** The question in a runner's result, if it asked one. */
export function questionOf(termination: RunnerTermination | undefined): string | undefined {
  return parseRunnerResult(termination?.message)?.question;
}

/**
 * What the turn's runner reported, into the turn: its summary, commit and usage; `status.usage`
 * becomes the usage of the turns before (`usageBefore`) plus this turn's.
 */
export function turnRecorded(
  status: AgentSessionStatus,
  termination: RunnerTermination,
  usageBefore: Usage | undefined,
): AgentSessionStatus {
  const result = parseRunnerResult(termination.message);
  if (!result) return status;
  const commit = result.repos.find((repo) => repo.commit)?.commit;
  const next = withLastTurn(status, (turn) => ({
    ...turn,
    ...(result.summary ? { summary: trimText(result.summary, TURN_SUMMARY_CHARS) } : {}),
    ...(commit ? { commit } : {}),
    ...(result.usage ? { usage: result.usage } : {}),
  }));
  const usage = addUsage(usageBefore, result.usage);
  return usage ? { ...next, usage } : next;
}

/** The turn ended with `result`. A turn that already has one keeps it. */
export function turnEnded(status: AgentSessionStatus, result: TurnResult, now: Date): AgentSessionStatus {
  return withLastTurn(status, (turn) =>
    turn.result ? turn : { ...turn, result, completionTime: now.toISOString() },
  );
}

/** The turn result a session's final phase gives its last turn. */
export function turnResultOf(phase: FinalPhase): TurnResult {
  return phase;
}

/**
 * A turn finished and the conversation waits for the next prompt until `until`: phase Idle,
 * Ready=True. The runner's Job and Secrets are removed; the workspace stays.
 */
export function conversationIdle(
  status: AgentSessionStatus,
  turn: number,
  waitMs: number,
  now: Date,
): AgentSessionStatus {
  const until = new Date(now.getTime() + waitMs).toISOString();
  const message =
    `turn ${turn} finished; waiting for the next prompt for ${formatDuration(waitMs)} (until ${until}), ` +
    'then the session ends';
  return withCondition(
    { ...status, phase: 'Idle' },
    ConditionType.Ready,
    'True',
    Reason.TurnFinished,
    message,
    now,
  );
}

/** The agent asked `text` in `turn` and waits for the answer: phase WaitingForInput. */
export function questionAsked(
  status: AgentSessionStatus,
  text: string,
  turn: number,
  waitMs: number,
  now: Date,
): AgentSessionStatus {
  const until = new Date(now.getTime() + waitMs).toISOString();
  const next: AgentSessionStatus = {
    ...status,
    phase: 'WaitingForInput',
    question: { text, turn, askedTime: now.toISOString() },
  };
  const message = `the agent asked a question in turn ${turn}; the answer is the next turn's prompt (waiting until ${until})`;
  return withCondition(next, ConditionType.Ready, 'True', Reason.QuestionAsked, message, now);
}
