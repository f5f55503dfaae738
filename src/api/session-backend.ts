/**
 * What the API needs from a runtime, and the session object it returns. The kubernetes backend
 * keeps sessions as AgentSession CRs; the local backend has no CR and reads the session workflow
 * itself. Routes, auth and errors are the same for both, so a client cannot tell them apart.
 */
import type { Readable } from 'node:stream';
import type { AgentSessionSpec, AgentSessionStatus, Phase } from '../resources/types.js';
import type { ApprovalAccepted, ApproveInput, PromptInput } from '../workflows/session-contract.js';

/** A session as the API returns it, in both runtimes: the shape of an AgentSession. */
export interface ApiSession {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentSession';
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec: AgentSessionSpec;
  status: AgentSessionStatus;
}

/** A validated create request. */
export interface NewSession {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Validated against the CRD, with the CRD's defaults applied. */
  spec: AgentSessionSpec;
}

/** One page of a list. */
export interface SessionPage {
  items: ApiSession[];
  /** Pass back as `continue` for the next page; absent on the last page. */
  continue?: string;
}

/** Options of a list. */
export interface ListOptions {
  /** At most this many items. */
  limit: number;
  /** The `continue` of the previous page. */
  continue?: string;
  /** Only sessions in this phase. */
  phase?: Phase;
}

/** Options of a log read. */
export interface LogOptions {
  /** Keep streaming until the runner ends. */
  follow: boolean;
  /** Aborted when the client goes away: stop reading. */
  signal: AbortSignal;
}

/** What a prompt or an answer the session took became. */
export interface PromptResult {
  /** The number of the turn the prompt starts. */
  turn: number;
  /**
   * The session right after it took the prompt. On Kubernetes its status may not show the turn
   * yet: the workflow mirrors it into the CR a moment later.
   */
  session: ApiSession;
}

/** What an approval the session took did: which cap it raised, to what, and the session after. */
export interface ApprovalResult extends ApprovalAccepted {
  /**
   * The session right after it took the approval. On Kubernetes its status may still say
   * WaitingForApproval: the workflow mirrors the resumed phase into the CR a moment later.
   */
  session: ApiSession;
}

/** Readiness of each dependency. */
export interface Readiness {
  temporal: boolean;
  kubernetes?: boolean;
}

/**
 * A runtime's sessions. Every method throws an `ApiError` (or a client error `toApiError`
 * classifies) for anything the caller can fix or retry.
 */
export interface SessionBackend {
  readonly runtime: 'kubernetes' | 'local';
  /** Creates the session and starts its workflow; AlreadyExists when the name is taken. */
  create(session: NewSession): Promise<ApiSession>;
  list(namespace: string, options: ListOptions): Promise<SessionPage>;
  /** NotFound when there is no such session. */
  get(namespace: string, name: string): Promise<ApiSession>;
  /** Deletes the session (its workflow is cancelled); returns it as it was last seen. */
  delete(namespace: string, name: string): Promise<ApiSession>;
  /** Asks the session to stop; returns it after the request was recorded. */
  stop(namespace: string, name: string): Promise<ApiSession>;
  /** Runs the session again as a new attempt on the same workspace. */
  restart(namespace: string, name: string): Promise<ApiSession>;
  /**
   * Sends the session a prompt for its next turn (`prompt`), or the answer to the agent's
   * question (`answer`), through `sendSessionPrompt`. PromptRefused when the session cannot take
   * it now, SessionUnresponsive when its workflow did not answer in time.
   */
  prompt(
    namespace: string,
    name: string,
    input: PromptInput,
    kind: 'prompt' | 'answer',
  ): Promise<PromptResult>;
  /**
   * Gives a session waiting at a budget cap (WaitingForApproval) a higher cap, through
   * `approveSession`. ApprovalRefused when it is not waiting or the cap is not above what was
   * spent, SessionUnresponsive when its workflow did not answer in time.
   */
  approve(namespace: string, name: string, input: ApproveInput): Promise<ApprovalResult>;
  /**
   * The runner's log as a stream. Everything that can fail before the first byte (NotFound when
   * the session has no runner yet) fails here, so the caller can still answer with an error.
   */
  logs(namespace: string, name: string, options: LogOptions): Promise<Readable>;
  /** Namespaces that hold sessions or may (local mode: every namespace seen). */
  namespaces(): Promise<string[]>;
  ready(): Promise<Readiness>;
}
