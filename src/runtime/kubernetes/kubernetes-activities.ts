/**
 * The session activities on Kubernetes: the AgentSession and its AgentConfig and provider are read
 * from the API server, the workspace is a PVC, the secrets a per-session Secret, the runner a Job.
 * Each call is idempotent — deterministic names, an object the session owns is adopted, 404 on
 * delete is success — so a retry after a worker crash never makes a second object. An object of a
 * child's name that the session does not own is never adopted or deleted (owned-objects.ts).
 */
import * as k8s from '@kubernetes/client-node';
import { listPodsFromCache } from './cached-pod-list.js';
import { buildSessionJob } from './builders/session-job.js';
import { jobName, sessionObjectNames } from './builders/session-names.js';
import { buildSessionPvc } from './builders/session-pvc.js';
import {
  buildRunnerRole,
  buildRunnerRoleBinding,
  buildRunnerServiceAccount,
} from './builders/session-rbac.js';
import { buildSessionSecret } from './builders/session-secret.js';
import { buildSessionNetworkPolicy, type EgressHosts } from './builders/session-network-policy.js';
import { sessionSelectorLabels } from './builders/session-metadata.js';
import { createOrAdoptOwned, createOrReplaceOwned, childObjectApis, deleteOwned } from './owned-objects.js';
import { providerReadiness, withReadiness } from './provider-status.js';
import { statusOf } from './api-refusal.js';
import { refusalsDecide, runnerEvents } from './runner-events.js';
import { stopRunnerJob } from './runner-stop.js';
import { FAILED_CREATE_FIELD_SELECTOR, podRefusalOfEvent } from './pod-refusals.js';
import {
  ATTEMPT_LABEL,
  AGENT_CONFIG_NAME,
  GROUP,
  NAMESPACE_POLICY_NAME,
  PLURAL,
  VERSION,
} from '../../resources/constants.js';
import type {
  AgentConfig,
  AgentProvider,
  AgentSession,
  NamespacePolicy,
  NamespacePolicySpec,
  SecretKeyRef,
} from '../../resources/types.js';
import { effectivePolicy } from '../../policy/effective-policy.js';
import {
  applyPolicy,
  secretIsUsable,
  secretReferences,
  unusableSecretMessage,
} from '../../policy/session-policy.js';
import { PolicyViolationError } from '../../session/errors.js';
import { providerEnvironment, providerNameFor, resolveSession } from '../../session/resolve-session.js';
import type { ResolvedSession } from '../../session/resolved-session.js';
import {
  CredentialsNotFoundError,
  ObjectConflictError,
  ObjectPendingRemovalError,
  SessionGoneError,
  StatusRejectedError,
} from '../errors.js';
import { statusRefusalMessage } from './status-refusal.js';
import type { LoadedSession, SessionActivities, SessionRef } from '../session-activities.js';

/** Dependencies of the Kubernetes activities. */
export interface KubernetesActivityDeps {
  kubeConfig: k8s.KubeConfig;
  /**
   * How long `provisionWorkspace` waits for a PVC to bind before it reports it Pending. Waiting
   * only delays the Job, whose pod waits for the volume anyway. @default 0
   */
  pvcBindWaitMs?: number;
  /**
   * The installation's default policy, for namespaces without a NamespacePolicy of their own
   * (the chart's `defaultPolicy`). @default no limits
   */
  defaultPolicy?: NamespacePolicySpec;
  /**
   * The CIDRs of each host a runner may have to reach (SHEPHERD_EGRESS_HOSTS), for the egress
   * NetworkPolicy of sessions whose namespace's policy restricts egress. @default none
   */
  egressHosts?: EgressHosts;
}

/** The Accept header of a read that returns an object's metadata and nothing else. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** Resolves to undefined on 404. */
async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the Kubernetes implementation of {@link SessionActivities}. */
export function createKubernetesActivities(deps: KubernetesActivityDeps): SessionActivities {
  const core = deps.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const batch = deps.kubeConfig.makeApiClient(k8s.BatchV1Api);
  const storage = deps.kubeConfig.makeApiClient(k8s.StorageV1Api);
  const custom = deps.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const pvcBindWaitMs = deps.pvcBindWaitMs ?? 0;

  const getCustom = <T>(namespace: string, plural: string, name: string) =>
    orUndefined(
      custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
      }) as Promise<T>,
    );

  async function readSession(ref: SessionRef): Promise<AgentSession | undefined> {
    const cr = await getCustom<AgentSession>(ref.namespace, PLURAL.agentSession, ref.name);
    if (!cr || (ref.uid && cr.metadata.uid !== ref.uid)) return undefined;
    return cr;
  }

  /**
   * Runs `work`, telling apart the two cases of an object controlled by another AgentSession of
   * the session's name. While the live AgentSession is this run's, the other one was deleted and
   * its object is about to go: the retryable error stands, and the activity's retries wait for the
   * name to be free. Otherwise this run is the deleted one's and the object the live session's.
   */
  async function asLiveSession<T>(session: SessionRef, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ObjectPendingRemovalError) || (await readSession(session))) throw error;
      throw new ObjectConflictError(error.conflict);
    }
  }

  /**
   * Reads one key of a Secret in `namespace`; the error names Secret and key, never a value. A
   * Secret without the labels the session's policy asks for is refused before its data is used:
   * the label may have been taken off since the session was validated.
   */
  async function readSecretKey(
    session: ResolvedSession,
    ref: SecretKeyRef,
    purpose: string,
    field: string,
  ): Promise<string> {
    const { namespace } = session;
    const secret = await orUndefined(core.readNamespacedSecret({ name: ref.name, namespace }));
    if (!secret) {
      throw new CredentialsNotFoundError(
        `Secret ${ref.name} (${purpose}) does not exist in namespace ${namespace}; create it with key ${ref.key}`,
      );
    }
    const labels = session.policy?.usableSecretLabels;
    if (labels && !secretIsUsable(secret.metadata?.labels, labels)) {
      throw new PolicyViolationError(unusableSecretMessage(namespace, { name: ref.name, field }, labels));
    }
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) {
      throw new CredentialsNotFoundError(
        `Secret ${ref.name} (${purpose}) has no key ${ref.key}; add it or point the reference at the right key`,
      );
    }
    return Buffer.from(encoded, 'base64').toString('utf8');
  }

  /**
   * The provider's environment values, read now: the resolved session carries only their names
   * (it travels in Temporal payloads). An inline provider's are in the AgentSession itself.
   */
  async function readProviderEnvironment(session: ResolvedSession): Promise<Record<string, string>> {
    const { namespace, provider } = session;
    // A provider without environment has nothing to read (and a run of an earlier CR of the same
    // name gets as far as the ownership checks, which name the conflict).
    if ((provider.environmentNames ?? Object.keys(provider.environment ?? {})).length === 0) return {};
    if (provider.name === undefined) {
      const cr = await readSession(session);
      if (!cr) throw new SessionGoneError(`AgentSession ${namespace}/${session.name} no longer exists`);
      return providerEnvironment(namespace, provider, { spec: cr.spec });
    }
    const stored = await getCustom<AgentProvider>(namespace, PLURAL.agentProvider, provider.name);
    return providerEnvironment(namespace, provider, stored ? { provider: stored } : {});
  }

  /**
   * Checks a session against its namespace's policy — the rules, then the labels of every Secret
   * it references, read by metadata only — and returns what of the policy acts while it runs.
   * Read at every load, so a changed policy applies to the next session and the next turn.
   */
  async function checkPolicy(
    cr: AgentSession,
    config: AgentConfig | undefined,
    provider: AgentProvider | undefined,
    own: NamespacePolicy | undefined,
  ) {
    const namespace = cr.metadata.namespace!;
    const policy = effectivePolicy(own, deps.defaultPolicy ?? {});
    const resolved = applyPolicy(namespace, cr.spec, config, policy);
    const labels = resolved?.usableSecretLabels;
    if (!labels) return resolved;
    for (const ref of secretReferences(cr.spec, config, provider)) {
      // Metadata only: a Secret the policy may refuse has its data left where it is.
      const secret = await orUndefined(
        core.readNamespacedSecret(
          { name: ref.name, namespace },
          k8s.setHeaderOptions('Accept', METADATA_ONLY),
        ),
      );
      // A missing Secret is reported where it is needed, with the key it must hold.
      if (secret && !secretIsUsable(secret.metadata?.labels, labels)) {
        throw new PolicyViolationError(unusableSecretMessage(namespace, ref, labels));
      }
    }
    return resolved;
  }

  return {
    async loadSession(ref: SessionRef): Promise<LoadedSession> {
      // Read side by side: the policy costs a start no extra round trip.
      const [cr, config, ownPolicy] = await Promise.all([
        readSession(ref),
        getCustom<AgentConfig>(ref.namespace, PLURAL.agentConfig, AGENT_CONFIG_NAME),
        getCustom<NamespacePolicy>(ref.namespace, PLURAL.namespacePolicy, NAMESPACE_POLICY_NAME),
      ]);
      if (!cr) throw new SessionGoneError(`AgentSession ${ref.namespace}/${ref.name} no longer exists`);
      const providerName = providerNameFor(cr.spec, config);
      const stored = providerName
        ? await getCustom<AgentProvider>(ref.namespace, PLURAL.agentProvider, providerName)
        : undefined;
      // Readiness is checked now rather than trusted from status, which may be a round behind.
      const provider = stored
        ? withReadiness(stored, await providerReadiness(core, ref.namespace, stored), new Date())
        : undefined;
      // The policy first: a session it refuses is refused for that, whatever else is wrong with it.
      const policy = await checkPolicy(cr, config, stored, ownPolicy);
      const resolved = resolveSession(cr, {
        ...(config ? { config } : {}),
        ...(provider ? { provider } : {}),
      });
      const session = policy ? { ...resolved, policy } : resolved;
      return {
        session,
        previousAttempt: cr.status?.attempt ?? 0,
        ...(cr.status?.turns?.length ? { previousTurns: cr.status.turns } : {}),
      };
    },

    async provisionWorkspace(session: ResolvedSession) {
      const body = buildSessionPvc(session);
      const name = body.metadata!.name!;
      const pvcs = childObjectApis(deps.kubeConfig, session.namespace).pvc;
      await asLiveSession(session, () => createOrAdoptOwned(pvcs, body, session));
      const deadline = Date.now() + pvcBindWaitMs;
      let waitsForConsumer: boolean | undefined;
      for (;;) {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace: session.namespace });
        if (pvc.status?.phase === 'Bound') return { name, reason: 'Bound', description: `PVC ${name}` };
        // The DefaultStorageClass admission plugin has filled in storageClassName by now.
        const className = pvc.spec?.storageClassName;
        waitsForConsumer ??= className
          ? (await orUndefined(storage.readStorageClass({ name: className })))?.volumeBindingMode ===
            'WaitForFirstConsumer'
          : false;
        if (waitsForConsumer) return { name, reason: 'WaitForFirstConsumer', description: `PVC ${name}` };
        // Not bound yet: the Job can be created anyway; its pod waits for the volume.
        if (Date.now() > deadline) return { name, reason: 'Pending', description: `PVC ${name}` };
        await sleep(100);
      }
    },

    async provisionSecrets(session: ResolvedSession) {
      const { namespace } = session;
      const tokenRef = session.provider.authTokenSecretRef;
      const providerToken = tokenRef
        ? await readSecretKey(
            session,
            tokenRef,
            `auth token of provider ${session.provider.name ?? '(inline)'}`,
            session.provider.name
              ? `AgentProvider ${session.provider.name} spec.authTokenSecretRef`
              : 'spec.provider.authTokenSecretRef',
          )
        : undefined;
      const repoTokens: Record<string, string> = {};
      for (const [index, repo] of session.repos.entries()) {
        if (!repo.credentialsSecretRef) continue;
        repoTokens[repo.url] = await readSecretKey(
          session,
          repo.credentialsSecretRef,
          `credentials of ${repo.url}`,
          `spec.repos[${index}].credentialsSecretRef`,
        );
      }
      const providerEnvironment = await readProviderEnvironment(session);
      const secret = buildSessionSecret(session, {
        ...(providerToken === undefined ? {} : { providerToken }),
        repoTokens,
        providerEnvironment,
      });
      // Built before anything is made: a host without CIDRs fails the session with nothing to undo.
      const egressPolicy = buildSessionNetworkPolicy(session, {
        hosts: deps.egressHosts ?? {},
        providerEnvironment,
      });
      const apis = childObjectApis(deps.kubeConfig, namespace);
      await asLiveSession(session, async () => {
        // At once (each turn of a conversation makes them again, so this is on the way from a
        // prompt to its runner), but the RoleBinding only after its Role: the worker has no `bind`
        // right, so the API server checks the Role it names, which must exist by then. A conflict
        // or refusal is reported for the first of them in this order, whichever failed first.
        const made = await Promise.allSettled([
          // A retry, or a restart after the user rotated a token: the Secret takes the current values.
          createOrReplaceOwned(apis.secret, secret, session, Object.values(secret.stringData ?? {})),
          createOrAdoptOwned(apis.serviceAccount, buildRunnerServiceAccount(session), session),
          createOrAdoptOwned(apis.role, buildRunnerRole(session), session).then(() =>
            createOrAdoptOwned(apis.roleBinding, buildRunnerRoleBinding(session), session),
          ),
          // Before the Job, so no runner pod ever starts unrestricted. Replaced, not adopted: a
          // turn or retry takes the current CIDRs and allow list. A policy no longer restricting
          // egress (between turns) removes the one an earlier turn made.
          egressPolicy
            ? createOrReplaceOwned(apis.networkPolicy, egressPolicy, session)
            : deleteOwned(apis.networkPolicy, sessionObjectNames(session.name).egress, session),
        ]);
        const failed = made.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
      });
    },

    async launchRunner({ session, attempt }) {
      const body = buildSessionJob(session, attempt);
      const name = body.metadata!.name!;
      const jobs = childObjectApis(deps.kubeConfig, session.namespace).job;
      const { object, created } = await asLiveSession(session, () => createOrAdoptOwned(jobs, body, session));
      // Two attempts share no name, so this only guards against a Job edited by hand.
      if (object.metadata?.labels?.[ATTEMPT_LABEL] !== String(attempt)) {
        throw new ObjectConflictError(
          `Job ${name} belongs to AgentSession ${session.name} but not to attempt ${attempt}; delete it (kubectl delete job ${name} -n ${session.namespace}) to continue`,
        );
      }
      return { name, created, description: `Job ${name}` };
    },

    async observeRunner({ session, attempt }) {
      const name = jobName(session.name, attempt);
      const job = await orUndefined(batch.readNamespacedJob({ name, namespace: session.namespace }));
      const selector = Object.entries({
        ...sessionSelectorLabels(session.name),
        [ATTEMPT_LABEL]: String(attempt),
      })
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const pods = await listPodsFromCache(core, session.namespace, selector, job?.metadata?.resourceVersion);
      // The pod refusals recorded on the Job: the watcher's signal of them may have been missed.
      // They count only while the Job has no pod and has not finished, and the API server keeps
      // no cache of Events, so each read scans the namespace's Events in etcd: read only then.
      const refusals = refusalsDecide(job, pods.items)
        ? await core.listNamespacedEvent({
            namespace: session.namespace,
            fieldSelector: `${FAILED_CREATE_FIELD_SELECTOR},involvedObject.name=${name}`,
          })
        : undefined;
      const events = runnerEvents(
        { namespace: session.namespace, session: session.name, attempt },
        job,
        pods.items,
        {
          // Job read before pods: a finished Job without a pod really lost its pod.
          finishedJobWithoutPod: true,
          refusals: (refusals?.items ?? []).flatMap((event) => podRefusalOfEvent(event)?.refusal ?? []),
        },
      );
      if (events.length > 0 || job) return events;
      // Neither Job nor pod: the Job was deleted behind the workflow's back.
      return [
        {
          kind: 'ended',
          attempt,
          termination: { reason: 'RunnerLost', message: `Job ${name} no longer exists` },
        },
      ];
    },

    async stopRunner({ session, attempt }) {
      const podSelector = Object.entries({
        ...sessionSelectorLabels(session.name),
        [ATTEMPT_LABEL]: String(attempt),
      })
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return stopRunnerJob({
        core,
        batch,
        ref: { namespace: session.namespace, session: session.name, attempt },
        jobName: jobName(session.name, attempt),
        podSelector,
        ...(session.uid ? { sessionUid: session.uid } : {}),
      });
    },

    async cleanup({ session, attempts, deleteWorkspace }) {
      // Only what this session (this uid) owns goes; another's object of the same name stays.
      const names = sessionObjectNames(session.name);
      const apis = childObjectApis(deps.kubeConfig, session.namespace);
      for (const attempt of attempts) {
        await deleteOwned(apis.job, jobName(session.name, attempt), session);
      }
      await deleteOwned(apis.secret, names.secret, session);
      await deleteOwned(apis.roleBinding, names.runner, session);
      await deleteOwned(apis.role, names.runner, session);
      await deleteOwned(apis.serviceAccount, names.runner, session);
      // After the Jobs, whose pods it restricts (the workflow stopped and waited for a running one).
      await deleteOwned(apis.networkPolicy, names.egress, session);
      if (deleteWorkspace) await deleteOwned(apis.pvc, names.pvc, session);
    },

    async mirrorStatus({ session, status }) {
      // One JSON patch, no read first: it replaces the whole status, and its `test` of the uid
      // makes the API server refuse to write into another AgentSession of the same name (a status
      // write ignores metadata, so only a test op can guard it).
      const body = [
        ...(session.uid ? [{ op: 'test', path: '/metadata/uid', value: session.uid }] : []),
        { op: 'add', path: '/status', value: status },
      ];
      try {
        await custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace: session.namespace,
            plural: PLURAL.agentSession,
            name: session.name,
            body,
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
        );
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        // 422 is either another session under this name (gone, for us) or a status the schema
        // refuses (a bug to surface): tell them apart by the uid. Writing the same status again
        // would be refused again, so the refusal is final.
        if (statusOf(error) === 422) {
          if (!(await readSession(session))) return false;
          throw new StatusRejectedError(statusRefusalMessage(session, error));
        }
        throw error;
      }
    },
  };
}
