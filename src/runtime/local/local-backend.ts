/**
 * Sessions in the local runtime, where no AgentSession CR exists: the session workflow is the
 * record. A session's spec and labels are the input of its workflow's current run (read from the
 * run's first history event), its status is the workflow's state query, and listing uses
 * Temporal's visibility store through the search attributes the workflow maintains.
 */
import { open, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { attemptFiles, sessionDir } from './local-sessions.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { API_VERSION, KIND } from '../../resources/constants.js';
import {
  approveSession,
  sendSessionPrompt,
  sessionState,
  startSessionWorkflow,
  stopSession,
} from '../../session-client/session-commands.js';
import {
  parseSessionWorkflowId,
  SESSION_WORKFLOW_TYPE,
  type SessionState,
  type SessionWorkflowInput,
  sessionWorkflowId,
} from '../../workflows/session-contract.js';
import { ApiError, toApiError } from '../../api/errors.js';
import { acceptedApproval, acceptedTurn } from '../../api/prompt-outcome.js';
import type {
  ApiSession,
  ListOptions,
  LogOptions,
  NewSession,
  SessionBackend,
} from '../../api/session-backend.js';
import { temporalReachable } from '../../api/temporal-readiness.js';

/** Dependencies of the local backend. */
export interface LocalBackendOptions {
  client: Client;
  /** The session workflows' task queue. */
  taskQueue: string;
  /** `SHEPHERD_DATA_DIR`: runner logs are under `sessions/<ns>/<name>/attempt-<n>/runner.log`. */
  dataDir: string;
  /**
   * How often a followed log is checked for new bytes.
   * @default 250
   */
  logPollMs?: number;
  /**
   * How long a delete waits for the cancelled workflow to clean up before terminating it.
   * @default 10000
   */
  deleteGraceMs?: number;
  /**
   * How long a prompt (or an approval) waits for the session's workflow to take or refuse it.
   * @default 30000
   */
  promptTimeoutMs?: number;
}

/** gRPC status NOT_FOUND, as the raw workflow service reports an unknown workflow id. */
const GRPC_NOT_FOUND = 5;
/** What Temporal answers for a page token it cannot decode. */
const GRPC_INVALID_ARGUMENT = 3;

/** Sessions looked up at once while building a list page. */
const LIST_CONCURRENCY = 10;
/** How often a followed log checks whether the session moved on to another attempt or finished. */
const STATE_POLL_MS = 1000;

/** The runner log of one attempt. */
export function runnerLogPath(dataDir: string, namespace: string, name: string, attempt: number): string {
  return attemptFiles(dataDir, namespace, name, attempt).log;
}

/** A time as Kubernetes writes `creationTimestamp`: RFC 3339 in whole seconds. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Creates the local backend. */
export function localBackend(options: LocalBackendOptions): SessionBackend {
  const { client, taskQueue, dataDir } = options;
  const logPollMs = options.logPollMs ?? 250;
  const temporalNamespace = client.options.namespace;
  const what = (namespace: string, name: string) => `session ${name} in namespace ${namespace}`;
  const promptOptions = options.promptTimeoutMs === undefined ? {} : { timeoutMs: options.promptTimeoutMs };

  const temporal = async <T>(call: () => Promise<T>, namespace = '', name = ''): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (
        error instanceof WorkflowNotFoundError ||
        (isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND)
      )
        throw new ApiError('NotFound', `${what(namespace, name)} does not exist`);
      throw toApiError(error, what(namespace, name)) ?? error;
    }
  };

  /**
   * The input and start time of the current run, from its first history event (a page of one
   * event, decoded with the client's own payload converter).
   */
  const currentRun = async (
    namespace: string,
    name: string,
  ): Promise<{ input: SessionWorkflowInput; startedAt?: string }> => {
    const workflowId = sessionWorkflowId(namespace, name);
    const history = await client.workflowService.getWorkflowExecutionHistory({
      namespace: temporalNamespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    const first = history.history?.events?.[0];
    const payload = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new WorkflowNotFoundError('no start event', workflowId, undefined);
    const input =
      client.options.loadedDataConverter.payloadConverter.fromPayload<SessionWorkflowInput>(payload);
    const seconds = first.eventTime?.seconds;
    return {
      input,
      ...(seconds != null ? { startedAt: timestamp(new Date(Number(seconds) * 1000)) } : {}),
    };
  };

  const toSession = (
    namespace: string,
    name: string,
    state: SessionState,
    run: { input: SessionWorkflowInput; startedAt?: string },
  ): ApiSession => ({
    apiVersion: API_VERSION,
    kind: KIND.agentSession,
    metadata: {
      name,
      namespace,
      ...((state.status.startTime ?? run.startedAt)
        ? { creationTimestamp: state.status.startTime ?? run.startedAt }
        : {}),
      ...(run.input.labels && Object.keys(run.input.labels).length > 0 ? { labels: run.input.labels } : {}),
    },
    spec: run.input.spec ?? {},
    status: state.status,
  });

  const read = (namespace: string, name: string): Promise<ApiSession> =>
    temporal(
      async () => {
        const state = await sessionState(client, namespace, name);
        if (!state) throw new ApiError('NotFound', `${what(namespace, name)} does not exist`);
        // The run's own state carries its spec; only a run from before that needs its history.
        const run = state.spec
          ? {
              input: { namespace, name, spec: state.spec, ...(state.labels ? { labels: state.labels } : {}) },
            }
          : await currentRun(namespace, name);
        return toSession(namespace, name, state, run);
      },
      namespace,
      name,
    );

  /** Every run of the session's workflow id, newest first. */
  const runsOf = async (
    namespace: string,
    name: string,
  ): Promise<Array<{ runId: string; running: boolean }>> => {
    const runs: Array<{ runId: string; running: boolean }> = [];
    for await (const execution of client.workflow.list({
      query: `WorkflowId = '${sessionWorkflowId(namespace, name)}'`,
    })) {
      runs.push({ runId: execution.runId, running: execution.status.name === 'RUNNING' });
    }
    return runs;
  };

  /**
   * Streams the runner log of the session, attempt after attempt when following, until the session
   * finishes or waits for its next prompt.
   */
  async function* followLog(namespace: string, name: string, firstAttempt: number, signal: AbortSignal) {
    let attempt = firstAttempt;
    let offset = 0;
    let lastStateCheck = 0;
    let moveOn = false;
    for (;;) {
      const path = runnerLogPath(dataDir, namespace, name, attempt);
      const size = await stat(path).then(
        (s) => s.size,
        () => 0,
      );
      if (size > offset) {
        const file = await open(path, 'r');
        try {
          const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
          const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
          offset += bytesRead;
          if (bytesRead > 0) yield buffer.subarray(0, bytesRead);
        } finally {
          await file.close();
        }
        continue;
      }
      // Caught up with the file: if the state said to move on, the file is complete now.
      if (moveOn) return;
      if (Date.now() - lastStateCheck >= STATE_POLL_MS) {
        lastStateCheck = Date.now();
        const state = await sessionState(client, namespace, name);
        if (!state) return;
        const current = state.status.attempt ?? attempt;
        if (current > attempt) {
          // Read the rest of this attempt's file first, then the next attempt's.
          const rest = await stat(path).then(
            (s) => s.size,
            () => 0,
          );
          if (rest <= offset) {
            attempt += 1;
            offset = 0;
          }
          continue;
        }
        // A conversation waiting for its next prompt has no runner: this turn's log is complete.
        if (state.finished || state.phase === 'Idle' || state.phase === 'WaitingForInput') {
          moveOn = true;
          continue;
        }
      }
      if (signal.aborted) return;
      await sleep(logPollMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
    }
  }

  return {
    runtime: 'local',

    async create(session: NewSession) {
      const { namespace, name } = session;
      // Locally the workflow is the session's only record, so a session exists only once it
      // runs: there is nothing that could hold it unstarted.
      if (session.spec.desiredState === 'Stopped') {
        throw new ApiError(
          'InvalidSession',
          'spec.desiredState Stopped at create is not supported by the local runtime, where a session exists only once it runs: leave desiredState out (or set Running), and stop the session after creating it if you must',
          { field: 'spec.desiredState' },
        );
      }
      // A finished session's workflow id still exists (until deleted); a create must not quietly
      // start it again under the same name, as a second CR of the same name could not exist.
      const existing = await temporal(
        () =>
          client.workflow
            .getHandle(sessionWorkflowId(namespace, name))
            .describe()
            .then(
              () => true,
              (error: unknown) => {
                if (error instanceof WorkflowNotFoundError) return false;
                throw error;
              },
            ),
        namespace,
        name,
      );
      const input: SessionWorkflowInput = {
        namespace,
        name,
        spec: session.spec,
        ...(session.labels ? { labels: session.labels } : {}),
      };
      const started = existing
        ? false
        : (await temporal(() => startSessionWorkflow(client, { taskQueue, input }), namespace, name))
            .outcome === 'started';
      if (!started)
        throw new ApiError('AlreadyExists', `${what(namespace, name)} already exists; choose another name`);
      return {
        apiVersion: API_VERSION,
        kind: KIND.agentSession,
        metadata: {
          name,
          namespace,
          creationTimestamp: timestamp(new Date()),
          ...(session.labels ? { labels: session.labels } : {}),
        },
        spec: session.spec,
        status: { phase: 'Pending' },
      };
    },

    async list(namespace: string, options: ListOptions) {
      const clauses = [
        `WorkflowType = '${SESSION_WORKFLOW_TYPE}'`,
        `${SEARCH_ATTRIBUTES.namespace.name} = '${namespace}'`,
        ...(options.phase ? [`${SEARCH_ATTRIBUTES.phase.name} = '${options.phase}'`] : []),
      ];
      const badToken = () =>
        new ApiError(
          'InvalidRequest',
          'query parameter continue is not a token this API issued; pass the metadata.continue of the previous page as is, or leave it out to list from the start',
          { field: 'continue', in: 'querystring' },
        );
      if (options.continue !== undefined && !/^[A-Za-z0-9_-]+$/.test(options.continue)) throw badToken();
      const page = await temporal(() =>
        client.workflowService.listWorkflowExecutions({
          namespace: temporalNamespace,
          query: clauses.join(' AND '),
          pageSize: options.limit,
          ...(options.continue ? { nextPageToken: Buffer.from(options.continue, 'base64url') } : {}),
        }),
      ).catch((error: unknown) => {
        // Temporal refuses a page token it cannot decode as an invalid argument.
        if (options.continue && isGrpcServiceError(error) && Number(error.code) === GRPC_INVALID_ARGUMENT)
          throw badToken();
        throw error;
      });
      // A restarted session has one execution per run; its state belongs to the newest run only.
      const seen = new Set<string>();
      const executions = (page.executions ?? []).filter((execution) => {
        const id = execution.execution?.workflowId ?? '';
        if (seen.has(id) || !parseSessionWorkflowId(id)) return false;
        seen.add(id);
        return true;
      });
      const items: ApiSession[] = [];
      for (let i = 0; i < executions.length; i += LIST_CONCURRENCY) {
        const batch = executions.slice(i, i + LIST_CONCURRENCY);
        const found = await Promise.all(
          batch.map(async (execution) => {
            const id = parseSessionWorkflowId(execution.execution?.workflowId ?? '');
            if (!id) return undefined;
            const session = await read(id.namespace, id.name).catch((error: unknown) => {
              if (error instanceof ApiError && error.code === 'NotFound') return undefined;
              throw error;
            });
            // An older run of a restarted session: the newest run is listed on its own.
            const runId = session?.status.runId;
            if (!session || (runId && execution.execution?.runId && runId !== execution.execution.runId)) {
              return undefined;
            }
            if (options.phase && session.status.phase !== options.phase) return undefined;
            return session;
          }),
        );
        for (const session of found) if (session) items.push(session);
      }
      const token = page.nextPageToken?.length
        ? Buffer.from(page.nextPageToken).toString('base64url')
        : undefined;
      return { items, ...(token ? { continue: token } : {}) };
    },

    get: read,

    async delete(namespace, name) {
      const session = await read(namespace, name);
      const handle = client.workflow.getHandle(sessionWorkflowId(namespace, name));
      await temporal(
        async () => {
          // Cancel first so the workflow stops its runner and cleans up; terminate only if it
          // does not finish in time. Then forget every run, as deleting a CR forgets it.
          try {
            await handle.cancel();
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([
              handle.result().catch(() => undefined),
              new Promise((resolve) => {
                timer = setTimeout(resolve, options.deleteGraceMs ?? 10_000);
              }),
            ]).finally(() => clearTimeout(timer));
            const runs = await runsOf(namespace, name);
            if (runs.some((run) => run.running))
              await handle.terminate('deleted through the API').catch(() => undefined);
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
          for (const run of await runsOf(namespace, name)) {
            await client.workflowService
              .deleteWorkflowExecution({
                namespace: temporalNamespace,
                workflowExecution: { workflowId: sessionWorkflowId(namespace, name), runId: run.runId },
              })
              .catch(() => undefined);
          }
          // The workspace and logs go too, as a CR's PVC goes with it.
          await rm(sessionDir(dataDir, namespace, name), { recursive: true, force: true });
        },
        namespace,
        name,
      );
      return session;
    },

    async stop(namespace, name) {
      await read(namespace, name);
      await temporal(() => stopSession(client, namespace, name, 'stopped through the API'), namespace, name);
      return read(namespace, name);
    },

    async restart(namespace, name) {
      const session = await read(namespace, name);
      await temporal(
        () =>
          startSessionWorkflow(client, {
            taskQueue,
            input: {
              namespace,
              name,
              spec: session.spec,
              ...(session.metadata.labels ? { labels: session.metadata.labels } : {}),
              ...(session.status.attempt ? { previousAttempt: session.status.attempt } : {}),
              ...(session.status.turns?.length ? { previousTurns: session.status.turns } : {}),
            },
            signal: 'restart',
          }),
        namespace,
        name,
      );
      return read(namespace, name);
    },

    async prompt(namespace, name, input, kind) {
      await read(namespace, name);
      // The workflow's state is the local session's record: its validator answers, no one else.
      const outcome = await temporal(
        () => sendSessionPrompt(client, namespace, name, input, kind, promptOptions),
        namespace,
        name,
      );
      const turn = acceptedTurn(outcome, what(namespace, name));
      return { turn, session: await read(namespace, name) };
    },

    async approve(namespace, name, input) {
      await read(namespace, name);
      const outcome = await temporal(
        () => approveSession(client, namespace, name, input, promptOptions),
        namespace,
        name,
      );
      const approved = acceptedApproval(outcome, what(namespace, name));
      return { ...approved, session: await read(namespace, name) };
    },

    async logs(namespace, name, options: LogOptions) {
      const session = await read(namespace, name);
      const attempt = session.status.attempt;
      if (!attempt) {
        throw new ApiError(
          'NotFound',
          `${what(namespace, name)} has no runner yet (phase ${session.status.phase ?? 'Pending'}); retry once it is Running`,
        );
      }
      const path = runnerLogPath(dataDir, namespace, name, attempt);
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists && !options.follow) {
        throw new ApiError(
          'NotFound',
          `${what(namespace, name)} has no runner log for attempt ${attempt} yet`,
        );
      }
      if (!options.follow) {
        const file = await open(path, 'r');
        return file.createReadStream();
      }
      return Readable.from(followLog(namespace, name, attempt, options.signal));
    },

    async namespaces() {
      const namespaces = new Set<string>(['default']);
      let seen = 0;
      for await (const execution of client.workflow.list({
        query: `WorkflowType = '${SESSION_WORKFLOW_TYPE}'`,
      })) {
        const id = parseSessionWorkflowId(execution.workflowId);
        if (id) namespaces.add(id.namespace);
        // Enough to find the namespaces in use on one machine without scanning a long history.
        if ((seen += 1) >= 5000) break;
      }
      return [...namespaces].sort();
    },

    async ready() {
      return { temporal: await temporalReachable(client) };
    },
  };
}
