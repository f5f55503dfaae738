/**
 * Builds the Job of one attempt. Each attempt is exactly one Job, named after the attempt, so a
 * retried "create Job" activity adopts the Job it already made. Kubernetes never retries the pod
 * (`backoffLimit: 0`): retries belong to the workflow, which decides them from the exit code.
 *
 * The pod has two steps: `clone` clones the repositories into the workspace, then `runner` runs
 * the agent. The prompt, provider token, provider environment and git tokens come from the session
 * Secret (`envFrom` / `secretKeyRef`), never as literal values. Pod security follows the
 * `restricted` Pod Security Standard.
 */
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
} from '@kubernetes/client-node';
import {
  ATTEMPT_LABEL,
  COMPONENT_LABEL,
  RESERVED_PREFIX,
  SESSION_NAME_ANNOTATION,
} from '../../../resources/constants.js';
import type { Quantity, ResourceRequirements } from '../../../resources/types.js';
import type { ResolvedSession } from '../../../session/resolved-session.js';
import { buildCloneScript } from '../../../runner-contract/clone-script.js';
import { runnerPlainEnvironment } from '../../../runner-contract/environment.js';
import { gitTokenEnv } from '../../../runner-contract/variables.js';
import { childMetadata, sessionSelectorLabels } from './session-metadata.js';
import { jobName, sessionObjectNames } from './session-names.js';

/** Where the workspace volume is mounted in both steps. */
export const WORKSPACE_PATH = '/workspace';

/** HOME of both steps: on the workspace, so agent state survives into the next attempt. */
export const HOME_PATH = `${WORKSPACE_PATH}/.home`;

/** Where the runner writes its JSON result; Kubernetes copies it into the termination message. */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** Name of the clone step (init container). */
export const CLONE_CONTAINER = 'clone';

/** Name of the agent container; the watcher reads this container's exit code. */
export const RUNNER_CONTAINER = 'runner';

/** The user and group every step runs as. */
export const RUNNER_UID = 1000;

const WORKSPACE_VOLUME = 'workspace';

const containerSecurityContext: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUNNER_UID,
  runAsGroup: RUNNER_UID,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

// fsGroup makes the freshly provisioned volume writable by the runner's user; OnRootMismatch
// avoids re-chowning a large workspace on every attempt.
const podSecurityContext: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUNNER_UID,
  runAsGroup: RUNNER_UID,
  fsGroup: RUNNER_UID,
  fsGroupChangePolicy: 'OnRootMismatch',
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The CRD allows integer quantities; the pod spec wants strings. */
function quantities(values: Record<string, Quantity> | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)]));
}

function toResourceRequirements(
  resources: ResourceRequirements | undefined,
): V1ResourceRequirements | undefined {
  if (resources === undefined) return undefined;
  const limits = quantities(resources.limits);
  const requests = quantities(resources.requests);
  return { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
}

/** Drops keys under `shepherd.dev/`: Shepherd's own labels must not be overridable. */
function withoutReserved(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([key]) => !key.startsWith(RESERVED_PREFIX)));
}

function cloneContainer(session: ResolvedSession, secretName: string): V1Container {
  const tokenEnv: V1EnvVar[] = session.repos.flatMap((repo, index) =>
    repo.credentialsSecretRef
      ? [
          {
            name: gitTokenEnv(index),
            valueFrom: { secretKeyRef: { name: secretName, key: gitTokenEnv(index) } },
          },
        ]
      : [],
  );
  const resources = toResourceRequirements(session.resources);
  return {
    name: CLONE_CONTAINER,
    image: session.image,
    command: ['sh', '-c', buildCloneScript(session.repos, WORKSPACE_PATH)],
    workingDir: WORKSPACE_PATH,
    env: [{ name: 'HOME', value: HOME_PATH }, ...tokenEnv],
    volumeMounts: [{ name: WORKSPACE_VOLUME, mountPath: WORKSPACE_PATH }],
    securityContext: containerSecurityContext,
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(resources ? { resources } : {}),
  };
}

function runnerContainer(session: ResolvedSession, attempt: number, secretName: string): V1Container {
  const plain = runnerPlainEnvironment(session, {
    attempt,
    workspace: WORKSPACE_PATH,
    resultFile: TERMINATION_MESSAGE_PATH,
  });
  // HOME is the pod's own matter (the local runtime keeps the worker's); the session's variables
  // come last and may take their value from elsewhere (valueFrom).
  const env: V1EnvVar[] = [
    { name: 'HOME', value: HOME_PATH },
    ...Object.entries(plain).map(([name, value]): V1EnvVar => ({ name, value })),
    ...session.env.map((variable): V1EnvVar => ({ ...variable })),
  ];
  const resources = toResourceRequirements(session.resources);
  return {
    name: RUNNER_CONTAINER,
    image: session.image,
    workingDir: WORKSPACE_PATH,
    env,
    envFrom: [{ secretRef: { name: secretName } }],
    volumeMounts: [{ name: WORKSPACE_VOLUME, mountPath: WORKSPACE_PATH }],
    securityContext: containerSecurityContext,
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(resources ? { resources } : {}),
  };
}

/**
 * The Job of `attempt` (from 1).
 *
 * @param session The resolved session.
 * @param attempt The attempt this Job runs; it names the Job and labels its pod.
 */
export function buildSessionJob(session: ResolvedSession, attempt: number): V1Job {
  const names = sessionObjectNames(session.name);
  const attemptLabels = { [ATTEMPT_LABEL]: String(attempt) };
  const metadata = childMetadata(session, jobName(session.name, attempt), 'runner', attemptLabels);
  const podLabels = {
    ...withoutReserved(session.podMetadata.labels),
    ...sessionSelectorLabels(session.name),
    ...attemptLabels,
    [COMPONENT_LABEL]: 'runner',
  };
  const podAnnotations = {
    ...withoutReserved(session.podMetadata.annotations),
    [SESSION_NAME_ANNOTATION]: session.name,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: Math.max(1, Math.ceil(session.timeoutMs / 1000)),
      template: {
        metadata: { labels: podLabels, annotations: podAnnotations },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: names.runner,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          securityContext: podSecurityContext,
          initContainers: [cloneContainer(session, names.secret)],
          containers: [runnerContainer(session, attempt, names.secret)],
          volumes: [{ name: WORKSPACE_VOLUME, persistentVolumeClaim: { claimName: names.pvc } }],
          ...(Object.keys(session.nodeSelector).length > 0
            ? { nodeSelector: { ...session.nodeSelector } }
            : {}),
          ...(session.tolerations.length > 0
            ? { tolerations: session.tolerations.map((t) => ({ ...t })) }
            : {}),
          ...(session.imagePullSecrets?.length
            ? { imagePullSecrets: session.imagePullSecrets.map((name) => ({ name })) }
            : {}),
        },
      },
    },
  };
}
