/**
 * How the API answers what became of a prompt or an approval (see `sendSessionPrompt` and
 * `approveSession`): both runtimes' backends turn every outcome but an accepted one into the same
 * error, so a caller sees the same codes whichever runtime serves it.
 */
import type { ApprovalOutcome, PromptOutcome, UpdateNotTaken } from '../session-client/session-commands.js';
import type { ApprovalAccepted } from '../workflows/session-contract.js';
import { ApiError } from './errors.js';

/**
 * The turn an accepted prompt started.
 *
 * @param what The session, for the NotFound message, e.g. `session a in namespace b`.
 * @throws ApiError PromptRefused (409) with the workflow's message, NotFound (404), or
 *   SessionUnresponsive (503) when the workflow did not answer in time.
 */
export function acceptedTurn(outcome: PromptOutcome, what: string): number {
  if (outcome.outcome === 'accepted') return outcome.turn;
  throw notTaken(outcome, 'PromptRefused', what);
}

/**
 * The cap an accepted approval raised, and to what.
 *
 * @param what The session, for the NotFound message, e.g. `session a in namespace b`.
 * @throws ApiError ApprovalRefused (409) with the validator's message, NotFound (404), or
 *   SessionUnresponsive (503) when the workflow did not answer in time.
 */
export function acceptedApproval(outcome: ApprovalOutcome, what: string): ApprovalAccepted {
  if (outcome.outcome === 'accepted') return { cap: outcome.cap, capUsd: outcome.capUsd };
  throw notTaken(outcome, 'ApprovalRefused', what);
}

/** The error of an Update the session did not take; a refusal is `refused`. */
function notTaken(
  outcome: UpdateNotTaken,
  refused: 'PromptRefused' | 'ApprovalRefused',
  what: string,
): ApiError {
  switch (outcome.outcome) {
    case 'refused':
      return new ApiError(refused, outcome.message);
    case 'not-found':
      return new ApiError('NotFound', `${what} has no workflow (it never started, or its history is gone)`);
    case 'unanswered':
      return new ApiError('SessionUnresponsive', outcome.message);
  }
}
