/**
 * A SessionBackend test double for route tests: sessions in a map, and a hook to make the next
 * call fail with any error, so the routes' validation, status codes and error mapping can be
 * tested without a cluster. Approvals are judged by the workflow's own rule (`approvalRefusal`).
 * Tests of the real backends are in test/integration.
 */
import { Readable } from 'node:stream';
import { ApiError } from '../../../src/api/errors.js';
import type { ApproveInput, PromptInput } from '../../../src/workflows/session-contract.js';
import { approvalRefusal, type CapReached } from '../../../src/workflows/session-limits.js';
import type {
  ApiSession,
  ListOptions,
  NewSession,
  Readiness,
  SessionBackend,
} from '../../../src/api/session-backend.js';

/** A prompt the double was sent. */
export interface SentPrompt {
  namespace: string;
  name: string;
  input: PromptInput;
  kind: 'prompt' | 'answer';
}

/** An approval the double was sent. */
export interface SentApproval {
  namespace: string;
  name: string;
  input: ApproveInput;
}

/** The double, with what it recorded. */
export interface FakeSessionBackend extends SessionBackend {
  sessions: Map<string, ApiSession>;
  /** Every prompt and answer sent, taken or not. */
  prompts: SentPrompt[];
  /** Every approval sent, taken or not. */
  approvals: SentApproval[];
  /** The cap each WaitingForApproval session (by `namespace/name`) waits at. */
  capsReached: Map<string, CapReached>;
  /** The next prompt is refused as a running turn's would be, whatever the phase. */
  failNextPrompt?: boolean;
  /** The next call (any method) throws this. */
  failNext?: unknown;
  readiness: Readiness;
  logText: string;
}

/** A double of the `runtime` backend (what differs is only what the routes do by runtime). */
export function fakeSessionBackend(runtime: SessionBackend['runtime'] = 'local'): FakeSessionBackend {
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const backend: FakeSessionBackend = {
    runtime,
    sessions: new Map(),
    prompts: [],
    approvals: [],
    capsReached: new Map(),
    readiness: { temporal: true },
    logText: 'hello from the runner\n',
    async create(session: NewSession) {
      fail();
      if (backend.sessions.has(key(session.namespace, session.name))) {
        throw new ApiError('AlreadyExists', `session ${session.name} already exists`);
      }
      const created: ApiSession = {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSession',
        metadata: {
          name: session.name,
          namespace: session.namespace,
          ...(session.labels ? { labels: session.labels } : {}),
        },
        spec: session.spec,
        status: { phase: 'Pending' },
      };
      backend.sessions.set(key(session.namespace, session.name), created);
      return Promise.resolve(created);
    },
    list(namespace: string, options: ListOptions) {
      fail();
      const all = [...backend.sessions.values()]
        .filter((s) => s.metadata.namespace === namespace)
        .filter((s) => !options.phase || s.status.phase === options.phase)
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const start = options.continue ? Number(options.continue) : 0;
      const items = all.slice(start, start + options.limit);
      const next = start + options.limit < all.length ? String(start + options.limit) : undefined;
      return Promise.resolve({ items, ...(next ? { continue: next } : {}) });
    },
    get(namespace, name) {
      fail();
      return Promise.resolve(found(namespace, name));
    },
    delete(namespace, name) {
      fail();
      const session = found(namespace, name);
      backend.sessions.delete(key(namespace, name));
      return Promise.resolve(session);
    },
    stop(namespace, name) {
      fail();
      const session = found(namespace, name);
      session.spec = { ...session.spec, desiredState: 'Stopped' };
      session.status = { ...session.status, phase: 'Stopping' };
      return Promise.resolve(session);
    },
    restart(namespace, name) {
      fail();
      const session = found(namespace, name);
      session.status = { ...session.status, phase: 'Pending', attempt: (session.status.attempt ?? 0) + 1 };
      return Promise.resolve(session);
    },
    prompt(namespace, name, input, kind) {
      fail();
      const session = found(namespace, name);
      backend.prompts.push({ namespace, name, input, kind });
      // As the workflow does: an Idle session takes a prompt, one waiting for an answer takes either.
      const phase = session.status.phase;
      const takes = phase === 'WaitingForInput' || (phase === 'Idle' && kind === 'prompt');
      if (backend.failNextPrompt) {
        backend.failNextPrompt = false;
        throw new ApiError('PromptRefused', `session ${name} is running a turn`);
      }
      if (!takes) {
        throw new ApiError(
          'PromptRefused',
          `session ${name} cannot take a ${kind} now (${phase ?? 'Pending'})`,
        );
      }
      const turns = session.status.turns ?? [{ number: 1, source: 'spec' as const }];
      const turn = turns.length + 1;
      session.status = {
        ...session.status,
        phase: 'Running',
        turns: [
          ...turns,
          { number: turn, source: input.source, ...(input.author ? { author: input.author } : {}) },
        ],
      };
      return Promise.resolve({ turn, session });
    },
    approve(namespace, name, input) {
      fail();
      const session = found(namespace, name);
      backend.approvals.push({ namespace, name, input });
      const phase = session.status.phase ?? 'Pending';
      const waiting = backend.capsReached.get(key(namespace, name));
      const refusal = approvalRefusal(name, phase, waiting, input);
      if (refusal || !waiting) throw new ApiError('ApprovalRefused', refusal ?? 'no cap reached');
      backend.capsReached.delete(key(namespace, name));
      session.status = { ...session.status, phase: 'Running' };
      return Promise.resolve({ cap: waiting.cap, capUsd: input.capUsd, session });
    },
    logs(namespace, name) {
      fail();
      const session = found(namespace, name);
      if (!session.status.attempt) throw new ApiError('NotFound', `session ${name} has no runner yet`);
      return Promise.resolve(Readable.from([backend.logText]));
    },
    namespaces: () => Promise.resolve(['default', 'team-a', 'team-b']),
    ready: () => Promise.resolve(backend.readiness),
  };
  function fail(): void {
    const error = backend.failNext;
    if (error !== undefined) {
      backend.failNext = undefined;
      throw error as Error;
    }
  }
  function found(namespace: string, name: string): ApiSession {
    const session = backend.sessions.get(key(namespace, name));
    if (!session) throw new ApiError('NotFound', `session ${name} in namespace ${namespace} does not exist`);
    return session;
  }
  return backend;
}
