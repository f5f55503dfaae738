/**
 * The record of `spec.desiredState: Stopped` on an AgentSession (STOP_REQUESTED_ANNOTATION): how
 * it is read, and the JSON-patch operations that write and remove it. The controller writes it
 * when it sees Stopped, the API when it restarts a session the controller may not have seen
 * stopped yet; the controller removes it once the restart happened. One module, so both write it
 * the same way.
 */
import { STOP_REQUESTED_ANNOTATION } from '../../resources/constants.js';
import type { AgentSession } from '../../resources/types.js';

/** The JSON-patch path of the record (a `/` in a key is written `~1`). */
const RECORD_PATH = `/metadata/annotations/${STOP_REQUESTED_ANNOTATION.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/**
 * The generation the record holds, or undefined when there is none (a value that is not a whole
 * number counts as none, so the next Stopped writes a good one).
 */
export function stopRequestedGeneration(session: AgentSession): number | undefined {
  const value = session.metadata.annotations?.[STOP_REQUESTED_ANNOTATION];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Operations that record Stopped at `generation` on `session` as last read. When it has no
 * annotations yet the map is added whole, so the patch must also test the resourceVersion read,
 * or it could replace annotations added meanwhile.
 */
export function recordStopOps(session: AgentSession, generation: number): object[] {
  const value = String(generation);
  return session.metadata.annotations
    ? [{ op: 'add', path: RECORD_PATH, value }]
    : [{ op: 'add', path: '/metadata/annotations', value: { [STOP_REQUESTED_ANNOTATION]: value } }];
}

/** Operations that remove the record. */
export function clearStopOps(): object[] {
  return [{ op: 'remove', path: RECORD_PATH }];
}
