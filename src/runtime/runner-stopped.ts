/**
 * What both runtimes' `stopRunner` return: the port's StoppedRunner, and whether the runner was
 * seen gone. Kept apart from the port so the port stays the workflow's contract alone; the extra
 * field is for logs and tests, and for the workflow should it ever need it.
 */
import type { StoppedRunner } from './session-activities.js';

/** The result of a stop that waited for the runner. */
export interface RunnerStopped extends StoppedRunner {
  /**
   * False when the runner was still there when the wait's bound ran out, or was not ours to stop
   * (a Job under the name that another object controls).
   */
  podsGone: boolean;
}
