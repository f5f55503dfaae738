/**
 * Sessions on Kubernetes: each is an AgentSession CR, which is the record `kubectl` and the API
 * both read. A create makes the CR and starts its workflow right away (idempotently, as the
 * controller would) so a session starts without waiting for the controller's informer; stop and
 * restart change `spec.desiredState` as well as signalling, so the CR keeps saying what the user
 * wants and a controller resync never undoes the API's action. A prompt is an Update to the
 * workflow, refused at once when the CR's phase says the workflow would refuse it; so is an
 * approval.
 */
import { finished, PassThrough, type Readable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../common/logger.js';
import { RUNNER_CONTAINER } from './builders/session-job.js';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  STOP_REQUESTED_ANNOTATION,
  VERSION,
  AGENT_CONFIG_NAME,
  NAMESPACE_POLICY_NAME,
} from '../../resources/constants.js';
import type {
  AgentConfig,
  AgentSession,
  AgentSessionSpec,
  NamespacePolicy,
  NamespacePolicySpec,
} from '../../resources/types.js';
import { effectivePolicy } from '../../policy/effective-policy.js';
import { sessionViolations } from '../../policy/session-policy.js';
import { InvalidSpecError } from '../../session/errors.js';
import {
  approvalPhaseRefusal,
  approveSession,
  phaseRefusal,
  sendSessionPrompt,
  startSessionWorkflow,
  stopSession,
} from '../../session-client/session-commands.js';
import { ApiError, toApiError } from '../../api/errors.js';
import { acceptedApproval, acceptedTurn } from '../../api/prompt-outcome.js';
import { heldStatus } from './controller-status.js';
import { recordStopOps, stopRequestedGeneration } from './stop-record.js';
import type {
  ApiSession,
  ListOptions,
  LogOptions,
  NewSession,
  SessionBackend,
  SessionPage,
} from '../../api/session-backend.js';
import { kubernetesReachable, temporalReachable } from '../../api/temporal-readiness.js';
import { continueTokenProblem } from './continue-token.js';
import type { WatchNamespaces } from '../../reconcile/watch-scope.js';

/** Dependencies of the kubernetes backend. */
export interface KubernetesBackendOptions {
  /**
   * The API's own credentials: agentsessions (create, get, list, patch, delete), pods/log (get),
   * namespaces (list, unless `namespaces` limits the API to a list of its own).
   */
  kubeConfig: k8s.KubeConfig;
  /**
   * The namespaces Shepherd is limited to: `namespaces()` lists them without asking the cluster,
   * and a session elsewhere is refused. @default every namespace
   */
  namespaces?: WatchNamespaces;
  client: Client;
  /** The session workflows' task queue. */
  taskQueue: string;
  logger: Logger;
  /**
   * How long a prompt (or an approval) waits for the session's workflow to take or refuse it.
   * @default 30000
   */
  promptTimeoutMs?: number;
  /** The policy of namespaces without a NamespacePolicy (the chart's `defaultPolicy`). @default no limits */
  defaultPolicy?: NamespacePolicySpec;
}

/**
 * Most list calls to the API server for one page when filtering by phase: the filter runs here
 * (the CRD declares no selectable field for the phase), so a page may need several reads; past
 * this, a short page is returned with its `continue`, as the API server itself may do.
 */
const MAX_FILTERED_READS = 10;

/** A CR as the API returns it. */
export function toApiSession(cr: AgentSession): ApiSession {
  const { name, namespace = '', uid, creationTimestamp, labels } = cr.metadata;
  return {
    apiVersion: API_VERSION,
    kind: KIND.agentSession,
    metadata: {
      name,
      namespace,
      ...(uid ? { uid } : {}),
      ...(creationTimestamp ? { creationTimestamp: String(creationTimestamp) } : {}),
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec: cr.spec,
    status: cr.status ?? {},
  };
}

/** Creates the kubernetes backend. */
export function kubernetesBackend(options: KubernetesBackendOptions): SessionBackend {
  const { kubeConfig, client, taskQueue, logger } = options;
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const crApi = { group: GROUP, version: VERSION, plural: PLURAL.agentSession };
  const what = (namespace: string, name: string) => `session ${name} in namespace ${namespace}`;
  const promptOptions = options.promptTimeoutMs === undefined ? {} : { timeoutMs: options.promptTimeoutMs };

  /**
   * Runs a Kubernetes call, turning its failures into ApiErrors about this session. A namespace
   * Shepherd is not limited to is refused first: the API's Roles would refuse it too, with a
   * message that blames its RBAC, and no worker would ever run a session there.
   */
  const kube = async <T>(namespace: string, name: string, call: () => Promise<T>): Promise<T> => {
    if (options.namespaces && !options.namespaces.includes(namespace)) {
      throw new ApiError(
        'Forbidden',
        `Shepherd is limited to namespaces ${options.namespaces.join(', ')} (SHEPHERD_WATCH_NAMESPACES); namespace ${namespace} is not one of them`,
        { namespace },
      );
    }
    try {
      return await call();
    } catch (error) {
      throw toApiError(error, what(namespace, name)) ?? error;
    }
  };

  /** A namespace's object of Shepherd's group, or undefined when it has none. */
  const readOptional = async <T>(namespace: string, plural: string, name: string): Promise<T | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
      })) as T;
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      throw error;
    }
  };

  /**
   * Refuses a new session that breaks its namespace's policy, with the AgentConfig's defaults
   * applied as the workflow will apply them, so the caller hears of it now rather than from a
   * Failed session. The labels of referenced Secrets are the workflow's to check: the API does
   * not read Secrets on a session's behalf.
   */
  const checkPolicy = async (namespace: string, name: string, spec: AgentSessionSpec): Promise<void> => {
    const [own, config] = await kube(namespace, name, () =>
      Promise.all([
        readOptional<NamespacePolicy>(namespace, PLURAL.namespacePolicy, NAMESPACE_POLICY_NAME),
        readOptional<AgentConfig>(namespace, PLURAL.agentConfig, AGENT_CONFIG_NAME),
      ]),
    );
    let violations;
    try {
      violations = sessionViolations(
        namespace,
        spec,
        config,
        effectivePolicy(own, options.defaultPolicy ?? {}),
      );
    } catch (error) {
      // A duration the rules cannot compare: the session's field, named as validation names it.
      if (error instanceof InvalidSpecError) {
        throw new ApiError('InvalidSession', error.message, { field: error.field });
      }
      throw error;
    }
    const [first, ...others] = violations;
    if (first) {
      throw new ApiError('PolicyViolation', [first, ...others].map((v) => v.message).join('; '), {
        rule: first.rule,
        field: first.field,
        violations: [first, ...others],
      });
    }
  };

  /**
   * Reads a live session. One being deleted (a deletionTimestamp, while its finalizer's cleanup
   * runs) is already gone for the user: it answers NotFound here and is left out of lists, so a
   * GET after a DELETE never shows it as a live session.
   */
  const read = async (namespace: string, name: string): Promise<AgentSession> => {
    const cr = await kube(
      namespace,
      name,
      () => custom.getNamespacedCustomObject({ ...crApi, namespace, name }) as Promise<AgentSession>,
    );
    if (cr.metadata.deletionTimestamp) {
      throw new ApiError('NotFound', `${what(namespace, name)} does not exist (it is being deleted)`);
    }
    return cr;
  };

  /** Sets spec.desiredState; a session being deleted is NotFound, as in `read`. */
  const setDesiredState = async (namespace: string, name: string, state: 'Running' | 'Stopped') => {
    const cr = await kube(
      namespace,
      name,
      () =>
        custom.patchNamespacedCustomObject({
          ...crApi,
          namespace,
          name,
          // A JSON patch `add` replaces the member when it is there and adds it when it is not.
          body: [{ op: 'add', path: '/spec/desiredState', value: state }],
        }) as Promise<AgentSession>,
    );
    // The patch of an object being deleted changes nothing that matters: its cleanup goes on.
    if (cr.metadata.deletionTimestamp) {
      throw new ApiError('NotFound', `${what(namespace, name)} does not exist (it is being deleted)`);
    }
    return cr;
  };

  /**
   * Says in the status that a session created stopped is held. If the write fails the session is
   * held all the same, and the controller writes the status.
   */
  const writeHeldStatus = async (cr: AgentSession): Promise<AgentSession> => {
    const { namespace = '', name, uid, generation = 1 } = cr.metadata;
    try {
      return (await custom.patchNamespacedCustomObjectStatus(
        {
          ...crApi,
          namespace,
          name,
          body: [
            { op: 'test', path: '/metadata/uid', value: uid },
            { op: 'add', path: '/status', value: heldStatus(generation, new Date()) },
          ],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      )) as AgentSession;
    } catch (error) {
      logger.warn(
        { namespace, name, error: (error as Error).message },
        'session created stopped; its held status could not be written now, the controller will write it',
      );
      return cr;
    }
  };

  /**
   * Sets desiredState Running on a session whose desiredState is Stopped, with the record of the
   * Stopped if the controller has not written it yet: the controller then restarts the session
   * exactly once, whatever phase it has reached. The patch tests the resourceVersion it read, and
   * is tried again on a fresh read (at most 3 times) when the session changed meanwhile.
   */
  const resumeStopped = async (first: AgentSession): Promise<AgentSession> => {
    const { namespace = '', name } = first.metadata;
    let cr = first;
    for (let tries = 1; ; tries += 1) {
      const { resourceVersion, generation = 1 } = cr.metadata;
      const body = [
        { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
        ...(stopRequestedGeneration(cr) === undefined ? recordStopOps(cr, generation) : []),
        { op: 'add', path: '/spec/desiredState', value: 'Running' },
      ];
      try {
        return (await custom.patchNamespacedCustomObject(
          { ...crApi, namespace, name, body },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
        )) as AgentSession;
      } catch (error) {
        // 422: the test failed, the session changed since it was read.
        if (!(error instanceof k8s.ApiException) || error.code !== 422 || tries >= 3) {
          throw toApiError(error, what(namespace, name)) ?? error;
        }
        cr = await read(namespace, name);
        if (cr.spec.desiredState !== 'Stopped') return cr;
      }
    }
  };

  return {
    runtime: 'kubernetes',

    async create(session: NewSession) {
      const { namespace, name } = session;
      // Created stopped: the record of desiredState Stopped goes in with it (a new object's
      // generation is 1), so Running later means "start", and no workflow is started now.
      const held = session.spec.desiredState === 'Stopped';
      await checkPolicy(namespace, name, session.spec);
      const cr = await kube(
        namespace,
        name,
        () =>
          custom.createNamespacedCustomObject({
            ...crApi,
            namespace,
            body: {
              apiVersion: API_VERSION,
              kind: KIND.agentSession,
              metadata: {
                name,
                namespace,
                ...(session.labels ? { labels: session.labels } : {}),
                ...(held ? { annotations: { [STOP_REQUESTED_ANNOTATION]: '1' } } : {}),
              },
              spec: session.spec,
            },
          }) as Promise<AgentSession>,
      ).catch((error: unknown) => {
        // Creating in a namespace that does not exist is the API server's NotFound.
        if (error instanceof ApiError && error.code === 'NotFound') {
          throw new ApiError('NotFound', `namespace ${namespace} does not exist; create it or use another`);
        }
        throw error;
      });
      if (held) return toApiSession(await writeHeldStatus(cr));
      try {
        await startSessionWorkflow(client, {
          taskQueue,
          input: { namespace, name, ...(cr.metadata.uid ? { uid: cr.metadata.uid } : {}) },
        });
      } catch (error) {
        // The CR is the record and it exists: the controller starts any session without a
        // workflow, so a Temporal outage delays this session instead of failing a create that
        // already happened (a retry would only get AlreadyExists).
        logger.warn(
          { namespace, name, error: (error as Error).message },
          'session created; its workflow could not be started now, the controller will start it',
        );
      }
      return toApiSession(cr);
    },

    async list(namespace: string, options: ListOptions): Promise<SessionPage> {
      if (options.continue !== undefined) {
        const problem = continueTokenProblem(options.continue);
        if (problem) {
          throw new ApiError(
            'InvalidRequest',
            `query parameter continue ${problem}; pass the metadata.continue of the previous page as is, or leave it out to list from the start`,
            { field: 'continue', in: 'querystring' },
          );
        }
      }
      const items: ApiSession[] = [];
      let token = options.continue;
      for (let reads = 0; reads < MAX_FILTERED_READS; reads += 1) {
        const page = (await kube(namespace, '', () =>
          custom.listNamespacedCustomObject({
            ...crApi,
            namespace,
            // Asking for no more than the room left means a page is never cut mid-way, so the
            // server's continue token stays exact.
            limit: options.limit - items.length,
            ...(token ? { _continue: token } : {}),
          }),
        )) as { items: AgentSession[]; metadata?: { _continue?: string } };
        for (const cr of page.items) {
          if (cr.metadata.deletionTimestamp) continue;
          if (!options.phase || cr.status?.phase === options.phase) items.push(toApiSession(cr));
        }
        token = page.metadata?._continue || undefined;
        if (!token || items.length >= options.limit || !options.phase) break;
      }
      return { items, ...(token ? { continue: token } : {}) };
    },

    async get(namespace, name) {
      return toApiSession(await read(namespace, name));
    },

    async delete(namespace, name) {
      const cr = await read(namespace, name);
      // The controller sees the delete and cancels the workflow; the garbage collector removes
      // every child through the ownerReferences.
      await kube(namespace, name, () =>
        custom.deleteNamespacedCustomObject({ ...crApi, namespace, name, propagationPolicy: 'Background' }),
      );
      return toApiSession(cr);
    },

    async stop(namespace, name) {
      const cr = await setDesiredState(namespace, name, 'Stopped');
      // The signal makes the stop immediate; the desiredState makes it stick (a controller
      // resync would otherwise see desiredState Running on a stopped session).
      try {
        await stopSession(client, namespace, name, 'stopped through the API');
      } catch (error) {
        // desiredState Stopped is recorded, and the controller signals it once Temporal is back.
        logger.warn(
          { namespace, name, error: (error as Error).message },
          'stop recorded; the signal could not be sent now',
        );
      }
      return toApiSession(cr);
    },

    async restart(namespace, name) {
      const cr = await read(namespace, name);
      if (cr.spec.desiredState === 'Stopped') {
        // For a session the user stopped, desiredState Running is the restart: the controller
        // stops what is left of its run and restarts it exactly once, across replicas. A signal
        // from here as well would make a second attempt.
        return toApiSession(await resumeStopped(cr));
      }
      await startSessionWorkflow(client, {
        taskQueue,
        input: { namespace, name, ...(cr.metadata.uid ? { uid: cr.metadata.uid } : {}) },
        signal: 'restart',
      });
      return toApiSession(cr);
    },

    async prompt(namespace, name, input, kind) {
      const cr = await read(namespace, name);
      // The CR's phase answers at once where the workflow certainly refuses (finished, busy), and
      // the caller does not wait on a workflow that may not even have a worker yet.
      const refusal = phaseRefusal(name, cr.status ?? {}, input, kind);
      if (refusal) throw new ApiError('PromptRefused', refusal);
      const outcome = await sendSessionPrompt(client, namespace, name, input, kind, promptOptions);
      const turn = acceptedTurn(outcome, what(namespace, name));
      return { turn, session: toApiSession(await read(namespace, name)) };
    },

    async approve(namespace, name, input) {
      const cr = await read(namespace, name);
      // As for a prompt: a session the CR says is not waiting at a cap is refused at once, in the
      // validator's words, without waiting on its workflow.
      const refusal = approvalPhaseRefusal(name, cr.status ?? {}, input);
      if (refusal) throw new ApiError('ApprovalRefused', refusal);
      const outcome = await approveSession(client, namespace, name, input, promptOptions);
      const approved = acceptedApproval(outcome, what(namespace, name));
      return { ...approved, session: toApiSession(await read(namespace, name)) };
    },

    async logs(namespace, name, options: LogOptions): Promise<Readable> {
      const cr = await read(namespace, name);
      const pod = cr.status?.runnerPodName;
      if (!pod) {
        throw new ApiError(
          'NotFound',
          `${what(namespace, name)} has no runner pod yet (phase ${cr.status?.phase ?? 'Pending'}); retry once it is Running`,
        );
      }
      const out = new PassThrough();
      // The client library pipes the API server's response into `out`, and a pipe does not end
      // its destination when the source fails: a watch the API server cut (a restart, a broken
      // connection) would leave a followed log open forever. The source is announced by the
      // 'pipe' event; when it ends in any way, so does the log.
      let piped = false;
      out.once('pipe', (source: Readable) => {
        piped = true;
        finished(source, (error) => {
          if (error) {
            logger.warn({ namespace, name, pod, error: error.message }, 'the runner log stream broke');
          }
          // What the failed source still buffers must not be written after the end.
          source.unpipe(out);
          out.end();
        });
      });
      let request: AbortController;
      try {
        request = await new k8s.Log(kubeConfig).log(namespace, pod, RUNNER_CONTAINER, out, {
          follow: options.follow,
        });
      } catch (error) {
        const status =
          error instanceof k8s.ApiException ? (error as k8s.ApiException<unknown>).code : undefined;
        if (status === 404) {
          throw new ApiError(
            'NotFound',
            `the runner pod ${pod} of ${what(namespace, name)} is gone (pods are removed when the session is cleaned up)`,
          );
        }
        logger.warn({ namespace, name, pod, status }, 'reading the runner log failed');
        throw new ApiError(
          'LogsUnavailable',
          `the log of runner pod ${pod} could not be read from its node; retry, or see the pod's events`,
          { pod },
        );
      }
      // The caller went away: aborting the request ends the source, and with it `out`.
      const stop = () => {
        request.abort();
        if (!piped) out.end();
      };
      if (options.signal.aborted) stop();
      else options.signal.addEventListener('abort', stop, { once: true });
      return out;
    },

    async namespaces() {
      if (options.namespaces) return [...options.namespaces].sort();
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await core.listNamespace({ limit: 500, ...(token ? { _continue: token } : {}) });
        names.push(...page.items.map((ns) => ns.metadata?.name ?? '').filter(Boolean));
        token = page.metadata?._continue || undefined;
      } while (token);
      return names.sort();
    },

    async ready() {
      const [temporal, kubernetes] = await Promise.all([
        temporalReachable(client),
        kubernetesReachable(kubeConfig),
      ]);
      return { temporal, kubernetes };
    },
  };
}
