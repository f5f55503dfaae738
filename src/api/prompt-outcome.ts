/**
 * How the API answers what became of a prompt (see `sendSessionPrompt`): both runtimes' backends
 * turn every outcome but an accepted one into the same error, so a caller sees the same codes
 * whichever runtime serves it.
 */
import type { PromptOutcome } from '../session-client/session-commands.js';
import { ApiError } from './errors.js';

/**
 * The turn an accepted prompt started.
 *
 * @param what The session, for the NotFound message, e.g. `session a in namespace b`.
 * @throws ApiError PromptRefused (409) with the workflow's message, NotFound (404), or
 *   SessionUnresponsive (503) when the workflow did not answer in time.
 */
export function acceptedTurn(outcome: PromptOutcome, what: string): number {
  switch (outcome.outcome) {
    case 'accepted':
      return outcome.turn;
    case 'refused':
      throw new ApiError('PromptRefused', outcome.message);
    case 'not-found':
      throw new ApiError('NotFound', `${what} has no workflow (it never started, or its history is gone)`);
    case 'unanswered':
      throw new ApiError('SessionUnresponsive', outcome.message);
  }
}
