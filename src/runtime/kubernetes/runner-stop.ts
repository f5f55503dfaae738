/**
 * Stopping a runner Job and waiting until its pods are gone. A stop (the user's, a timeout, or
 * before a retry or restart) must not return while the old pod may still push its work in
 * progress from the workspace the next attempt mounts. The wait is bounded — the pods' grace
 * period plus a margin, after which the API server's garbage collector finishes without us —
 * heartbeats, and ends on cancellation.
 */
import type { BatchV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { RunnerTermination } from '../../session/exit-outcome.js';
import type { RunnerStopped } from '../runner-stopped.js';
import { heartbeat, pause } from '../activity-context.js';
import { listPodsFromCache } from './cached-pod-list.js';
import { type RunnerRef, runnerEvents } from './runner-events.js';

/** How long past a pod's grace period the stop waits for it to go before returning anyway. */
export const STOP_MARGIN_MS = 30_000;
/** The grace period of a pod that states none (the Kubernetes default). */
const DEFAULT_GRACE_SECONDS = 30;

/** What to stop and how to find its pods. */
export interface StopRunnerJobInput {
  core: CoreV1Api;
  batch: BatchV1Api;
  ref: RunnerRef;
  jobName: string;
  /** The AgentSession's uid: a Job under the name that another owner controls is left alone. */
  sessionUid?: string;
  /** Selects the attempt's pods (session and attempt labels). */
  podSelector: string;
  /** @default 500 */
  pollMs?: number;
}

const isMissing = (error: unknown) => (error as { code?: number } | undefined)?.code === 404;

/** The latest time by which `pod` should be gone, by the local clock. */
function podDeadline(pod: V1Pod, now: number): number {
  const grace =
    pod.metadata?.deletionGracePeriodSeconds ??
    pod.spec?.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  return now + grace * 1000 + STOP_MARGIN_MS;
}

/**
 * Deletes the Job (its pods with it, in the foreground: the Job stays until they are gone) and
 * waits until no pod of the attempt remains, at most each pod's grace period plus
 * `STOP_MARGIN_MS` from when it was first seen. Every pod with the attempt's labels counts, also
 * one left by an earlier Job of the name, since it shares the workspace. A Job that another
 * object controls is neither deleted nor waited for (`podsGone: false`).
 */
export async function stopRunnerJob(input: StopRunnerJobInput): Promise<RunnerStopped> {
  const { core, batch, ref, jobName, podSelector } = input;
  const pollMs = input.pollMs ?? 500;
  const { namespace } = ref;
  let jobVersion: string | undefined;
  try {
    const job = await batch.readNamespacedJob({ name: jobName, namespace });
    jobVersion = job.metadata?.resourceVersion;
    const owner = job.metadata?.ownerReferences?.find((reference) => reference.controller);
    if (input.sessionUid && owner?.uid !== input.sessionUid) return { podsGone: false };
    // The uid precondition: never delete a Job that replaced the one just read. The policy goes
    // in the body, which overrides the query: a Job's default is to orphan its pods.
    await batch.deleteNamespacedJob({
      name: jobName,
      namespace,
      body: { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata?.uid } },
    });
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const deadlines = new Map<string, number>();
  let termination: RunnerTermination | undefined;
  for (;;) {
    const pods = (await listPodsFromCache(core, namespace, podSelector, jobVersion)).items;
    for (const pod of pods) {
      const ended = runnerEvents(ref, undefined, [pod]).find((event) => event.kind === 'ended');
      if (ended?.kind === 'ended') termination = ended.termination;
    }
    if (pods.length === 0) return { podsGone: true, ...(termination ? { termination } : {}) };
    const now = Date.now();
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? pod.metadata?.name ?? '';
      if (!deadlines.has(uid)) deadlines.set(uid, podDeadline(pod, now));
    }
    const remaining = pods.filter(
      (pod) => (deadlines.get(pod.metadata?.uid ?? pod.metadata?.name ?? '') ?? 0) > now,
    );
    if (remaining.length === 0) return { podsGone: false, ...(termination ? { termination } : {}) };
    heartbeat({ jobName, podsRemaining: pods.length });
    await pause(pollMs);
  }
}
