/**
 * What a runner's Job and pod say about it, as the events the session workflow waits for. Pure
 * functions of the objects' current state, so the informer path and the periodic resync derive
 * exactly the same events from the same state, and a resent event is identical to the first.
 *
 * Objects arrive from two paths with different shapes: a list through the typed client turns
 * timestamps into Dates, a watch event leaves them as strings. Nothing here depends on either.
 */
import type { V1ContainerStatus, V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';
import { ATTEMPT_LABEL, SESSION_NAME_ANNOTATION } from '../../resources/constants.js';
import type { RunnerEndedEvent, RunnerEvent } from '../../workflows/session-contract.js';
import {
  CONTAINER_CONFIG_REASONS,
  IMAGE_PULL_REASONS,
  type RunnerTermination,
} from '../../session/exit-outcome.js';
import { CLONE_CONTAINER, RUNNER_CONTAINER } from './builders/session-job.js';
import { type PodRefusal, finalRefusalOf } from './pod-refusals.js';

/** One attempt of one session: the unit the watcher reports on. */
export interface RunnerRef {
  namespace: string;
  /** The AgentSession's full name (from the annotation, never the shortened label). */
  session: string;
  attempt: number;
}

/**
 * Container waiting reasons after which the runner will never start without a change to the spec,
 * so waiting longer only delays the session's failure. `ErrImagePull` is the first pull failure,
 * before the kubelet backs off; it is as final as `ImagePullBackOff` for an image that does not
 * exist, which is by far the common case.
 */
export const NEVER_STARTS_REASONS: ReadonlySet<string> = new Set([
  ...IMAGE_PULL_REASONS,
  ...CONTAINER_CONFIG_REASONS,
]);

/** Key of an attempt in maps: `<namespace>/<session>/<attempt>`. */
export function attemptKey(ref: RunnerRef): string {
  return `${ref.namespace}/${ref.session}/${ref.attempt}`;
}

/** Key of a session in maps: `<namespace>/<session>`. */
export function sessionKey(ref: Pick<RunnerRef, 'namespace' | 'session'>): string {
  return `${ref.namespace}/${ref.session}`;
}

function parseAttempt(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,8}$/.test(value)) return undefined;
  return Number(value);
}

/** The attempt a runner pod belongs to, or undefined for a pod without Shepherd's markings. */
export function runnerRefOfPod(pod: V1Pod): RunnerRef | undefined {
  const namespace = pod.metadata?.namespace;
  const session = pod.metadata?.annotations?.[SESSION_NAME_ANNOTATION];
  const attempt = parseAttempt(pod.metadata?.labels?.[ATTEMPT_LABEL]);
  if (!namespace || !session || attempt === undefined) return undefined;
  return { namespace, session, attempt };
}

/**
 * The attempt a runner Job belongs to. The annotation and label are authoritative; a Job without
 * them falls back to its name `<session>-a<attempt>`, which is exact for names that were not
 * shortened.
 */
export function runnerRefOfJob(job: V1Job): RunnerRef | undefined {
  const namespace = job.metadata?.namespace;
  if (!namespace) return undefined;
  const session = job.metadata?.annotations?.[SESSION_NAME_ANNOTATION];
  const attempt = parseAttempt(job.metadata?.labels?.[ATTEMPT_LABEL]);
  if (session && attempt !== undefined) return { namespace, session, attempt };
  const match = /^(.+)-a([1-9][0-9]{0,8})$/.exec(job.metadata?.name ?? '');
  if (!match) return undefined;
  return { namespace, session: match[1]!, attempt: Number(match[2]) };
}

function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return 0;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

function trueCondition(job: V1Job | undefined, types: string[]): V1JobCondition | undefined {
  return job?.status?.conditions?.find((c) => c.status === 'True' && types.includes(c.type));
}

/**
 * Whether the Job finished (Complete or Failed) before `at` (ms since the epoch): long enough ago
 * that an informer's pod cache without a pod of it is no lag, so `finishedJobWithoutPod` is safe.
 */
export function jobFinishedBefore(job: V1Job | undefined, at: number): boolean {
  const finished = trueCondition(job, ['Complete', 'Failed']);
  const since = finished?.lastTransitionTime ?? job?.status?.completionTime;
  return since !== undefined && new Date(since).getTime() < at;
}

/**
 * The Job's deadline verdict. The Job controller first sets `FailureTarget`, then deletes the pod,
 * then sets `Failed`; reacting to the first saves the pod's termination grace period, and both
 * carry the same reason and message, so they make the same event.
 */
function deadlineCondition(job: V1Job | undefined): V1JobCondition | undefined {
  const condition = trueCondition(job, ['FailureTarget', 'Failed']);
  return condition?.reason === 'DeadlineExceeded' ? condition : undefined;
}

/** Builds a termination with only the fields that are set, in a fixed order (events are compared as JSON). */
function termination(fields: RunnerTermination): RunnerTermination {
  const result: RunnerTermination = {};
  if (fields.exitCode !== undefined) result.exitCode = fields.exitCode;
  if (fields.reason) result.reason = fields.reason;
  if (fields.waitingReason) result.waitingReason = fields.waitingReason;
  if (fields.message) result.message = fields.message;
  return result;
}

function ended(ref: RunnerRef, podName: string | undefined, fields: RunnerTermination): RunnerEndedEvent {
  return {
    kind: 'ended',
    attempt: ref.attempt,
    ...(podName === undefined ? {} : { podName }),
    termination: termination(fields),
  };
}

function containerStatus(
  statuses: V1ContainerStatus[] | undefined,
  name: string,
): V1ContainerStatus | undefined {
  return statuses?.find((status) => status.name === name);
}

/** The pod of the attempt: the newest, since a replaced pod's successor is the one that matters. */
function currentPod(pods: readonly V1Pod[]): V1Pod | undefined {
  let newest: V1Pod | undefined;
  for (const pod of pods) {
    if (!newest || timeOf(pod.metadata?.creationTimestamp) >= timeOf(newest.metadata?.creationTimestamp)) {
      newest = pod;
    }
  }
  return newest;
}

/** How a pod's runner ended, or undefined while it has not. */
function podTermination(pod: V1Pod): RunnerTermination | undefined {
  const phase = pod.status?.phase;
  const runner = containerStatus(pod.status?.containerStatuses, RUNNER_CONTAINER);
  const clone = containerStatus(pod.status?.initContainerStatuses, CLONE_CONTAINER);
  const podReason = phase === 'Failed' ? pod.status?.reason : undefined;
  const podMessage = pod.status?.message;

  const terminated = runner?.state?.terminated;
  if (terminated) {
    return termination({
      exitCode: terminated.exitCode,
      // A pod-level reason (Evicted, DeadlineExceeded, Shutdown) explains the container's end
      // better than the container's generic `Error`.
      reason: podReason ?? terminated.reason,
      message: terminated.message ?? podMessage,
    });
  }

  for (const status of [clone, runner]) {
    const waitingReason = status?.state?.waiting?.reason;
    if (waitingReason && NEVER_STARTS_REASONS.has(waitingReason)) {
      return termination({ waitingReason, message: status.state?.waiting?.message ?? podMessage });
    }
  }

  if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
  // The pod ended without the runner terminating: the clone step failed, or the pod was failed
  // as a whole (eviction before start, node lost).
  const cloneEnd = clone?.state?.terminated;
  if (cloneEnd && cloneEnd.exitCode !== 0) {
    const detail = cloneEnd.message?.trim();
    return termination({
      exitCode: cloneEnd.exitCode,
      reason: podReason ?? cloneEnd.reason,
      message: `the clone step failed with exit code ${cloneEnd.exitCode}${detail ? `: ${detail}` : ''}`,
    });
  }
  return termination({ reason: podReason ?? phase, message: podMessage });
}

/** True when the pod's runner container has run (it is running, or it terminated after starting). */
function runnerStarted(pod: V1Pod): boolean {
  const runner = containerStatus(pod.status?.containerStatuses, RUNNER_CONTAINER);
  if (runner?.state?.running) return true;
  if (runner?.state?.terminated?.startedAt !== undefined) return true;
  return pod.status?.phase === 'Running';
}

/** Options for `runnerEvents`. */
export interface RunnerEventsOptions {
  /**
   * Report an attempt whose Job finished while no pod of it exists (the pod was deleted or
   * garbage-collected). Only safe when `pods` is known to be complete for the attempt, as after
   * listing Jobs and then pods; an informer's pod cache may simply not have caught up yet.
   * @default false
   */
  finishedJobWithoutPod?: boolean;
  /**
   * The `FailedCreate` refusals recorded on the attempt's Job (pod-refusals.ts). A final one ends
   * an attempt that has no pod yet: the Job controller will never make one.
   */
  refusals?: readonly PodRefusal[];
}

/**
 * Whether the pod refusals recorded on an attempt's Job decide how it ends: only while the Job
 * exists, has not finished and has no pod (once one was made, a quota freed up, its own state
 * decides).
 */
export function refusalsDecide(job: V1Job | undefined, pods: readonly V1Pod[]): boolean {
  return job !== undefined && pods.length === 0 && !trueCondition(job, ['Complete', 'Failed']);
}

/**
 * The events the current state of one attempt implies, in the order they happened: `started` when
 * the runner has run, `ended` when it has ended or can never start.
 *
 * @param ref The attempt.
 * @param job The attempt's Job, if it exists.
 * @param pods The attempt's pods (normally one; none before the Job controller made it).
 */
export function runnerEvents(
  ref: RunnerRef,
  job: V1Job | undefined,
  pods: readonly V1Pod[],
  options: RunnerEventsOptions = {},
): RunnerEvent[] {
  const events: RunnerEvent[] = [];
  const pod = currentPod(pods);
  const podName = pod?.metadata?.name;
  if (pod && podName && runnerStarted(pod)) {
    events.push({ kind: 'started', attempt: ref.attempt, podName });
  }

  // The Job's deadline beats whatever the pod shows: the Job controller killed the pod, so its
  // exit code (137/143 on a real kubelet) says nothing about the agent.
  const deadline = deadlineCondition(job);
  if (deadline) {
    events.push(ended(ref, undefined, { reason: 'DeadlineExceeded', message: deadline.message }));
    return events;
  }

  const podEnd = pod ? podTermination(pod) : undefined;
  if (podEnd) {
    events.push(ended(ref, podName, podEnd));
    return events;
  }

  const refusal = refusalsDecide(job, pods)
    ? finalRefusalOf(options.refusals ?? [], job?.metadata?.uid)
    : undefined;
  if (refusal) {
    events.push(ended(ref, undefined, { reason: 'FailedCreate', message: refusal.message }));
    return events;
  }

  if (!pod && options.finishedJobWithoutPod) {
    const failed = trueCondition(job, ['Failed']);
    if (failed) {
      events.push(ended(ref, undefined, { reason: failed.reason ?? 'Failed', message: failed.message }));
    } else if (trueCondition(job, ['Complete'])) {
      events.push(
        ended(ref, undefined, {
          exitCode: 0,
          reason: 'Completed',
          message: 'the Job completed, but its pod was gone before its result could be read',
        }),
      );
    }
  }
  return events;
}
