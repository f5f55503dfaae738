/**
 * Runner Jobs for tests of what watches them: plain Jobs carrying exactly the labels and
 * annotation Shepherd's runner Jobs carry (see src/runtime/kubernetes/builders/session-job.ts), with a
 * `clone` init step and a `runner` container, scripted by KWOK annotations. They need no
 * workspace volume, Secret or ServiceAccount, so a test can make hundreds at once.
 */
import type { V1Job } from '@kubernetes/client-node';
import {
  ATTEMPT_LABEL,
  COMPONENT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  SESSION_LABEL,
  SESSION_NAME_ANNOTATION,
} from '../../src/resources/constants.js';
import { CLONE_CONTAINER, RUNNER_CONTAINER } from '../../src/runtime/kubernetes/builders/session-job.js';
import { jobName, sessionLabelValue } from '../../src/runtime/kubernetes/builders/session-names.js';

/** A label a test file puts on its runners, so its watcher sees only them. */
export const TEST_SHARD_LABEL = 'test.shepherd.dev/shard';

/** What a test runner Job looks like. */
export interface RunnerJobOptions {
  session: string;
  attempt: number;
  /** The test file's shard (value of TEST_SHARD_LABEL). */
  shard: string;
  /** KWOK annotations scripting the fake run (FAKE_POD_ANNOTATIONS). */
  fakeRun?: Record<string, string>;
  activeDeadlineSeconds?: number;
}

/** A runner Job for `session`'s `attempt`. */
export function runnerJob(options: RunnerJobOptions): V1Job {
  const labels = {
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    [COMPONENT_LABEL]: 'runner',
    [SESSION_LABEL]: sessionLabelValue(options.session),
    [ATTEMPT_LABEL]: String(options.attempt),
    [TEST_SHARD_LABEL]: options.shard,
  };
  const image = 'shepherd/runner:test';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(options.session, options.attempt),
      labels,
      annotations: { [SESSION_NAME_ANNOTATION]: options.session },
    },
    spec: {
      backoffLimit: 0,
      ...(options.activeDeadlineSeconds === undefined
        ? {}
        : { activeDeadlineSeconds: options.activeDeadlineSeconds }),
      template: {
        metadata: {
          labels,
          annotations: { [SESSION_NAME_ANNOTATION]: options.session, ...options.fakeRun },
        },
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: CLONE_CONTAINER, image, command: ['clone'] }],
          containers: [{ name: RUNNER_CONTAINER, image, command: ['runner'] }],
        },
      },
    },
  };
}
