/**
 * The phases of an AgentSession as values, one home for the lists the API's schema, the metrics,
 * the clients and the controller enumerate (the type is in types.ts, the CRD's enum in the chart).
 */
import type { Phase } from './types.js';

/** The phases a session leaves only by a restart. */
export const FINISHED_PHASES: ReadonlySet<Phase> = new Set(['Succeeded', 'Failed', 'TimedOut', 'Stopped']);

/** Every phase a session can be in, in lifecycle order, the finished ones last. */
export const PHASES: readonly Phase[] = [
  'Pending',
  'Queued',
  'Provisioning',
  'Running',
  'Idle',
  'WaitingForInput',
  'WaitingForApproval',
  'Stopping',
  ...FINISHED_PHASES,
];
