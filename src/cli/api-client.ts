/**
 * The CLI's HTTP client for the Shepherd API: JSON in and out, the API's `{code, message}` errors
 * surfaced as they are, and the log endpoint streamed to a writable.
 */
import type { AgentTriggerSpec } from '../resources/types.js';
import type { Writable } from 'node:stream';
import type { ApiSession, ApprovalResult, PromptResult } from '../api/session-backend.js';

/** An error answer from the API (or no answer at all: code `Unreachable`). */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';

  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** One page of sessions. */
export interface SessionListPage {
  items: ApiSession[];
  metadata: { continue?: string };
}

/** A client bound to one API and token. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private headers(json: boolean): Record<string, string> {
    return {
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
    };
  }

  private async fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: this.headers(body !== undefined),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiCallError(
        'Unreachable',
        `cannot reach the Shepherd API at ${this.baseUrl} (${(error as Error).cause ? String((error as { cause: unknown }).cause) : (error as Error).message}); is it running? set --api-url or SHEPHERD_API_URL`,
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not the API's JSON (a proxy's page, say): report the status.
      }
      throw new ApiCallError(
        parsed.code ?? `HTTP${response.status}`,
        parsed.message ?? `HTTP ${response.status}: ${text.slice(0, 200)}`,
        response.status,
      );
    }
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.fetch(method, path, body)).json()) as T;
  }

  private sessions(namespace: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/sessions`;
  }

  create(namespace: string, body: unknown): Promise<ApiSession> {
    return this.json('POST', this.sessions(namespace), body);
  }

  list(
    namespace: string,
    options: { limit?: number; continue?: string; phase?: string } = {},
  ): Promise<SessionListPage> {
    const query = new URLSearchParams();
    if (options.limit) query.set('limit', String(options.limit));
    if (options.continue) query.set('continue', options.continue);
    if (options.phase) query.set('phase', options.phase);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.json('GET', `${this.sessions(namespace)}${suffix}`);
  }

  get(namespace: string, name: string): Promise<ApiSession> {
    return this.json('GET', `${this.sessions(namespace)}/${encodeURIComponent(name)}`);
  }

  delete(namespace: string, name: string): Promise<ApiSession> {
    return this.json('DELETE', `${this.sessions(namespace)}/${encodeURIComponent(name)}`);
  }

  action(namespace: string, name: string, action: 'stop' | 'restart'): Promise<ApiSession> {
    return this.json('POST', `${this.sessions(namespace)}/${encodeURIComponent(name)}/${action}`);
  }

  /**
   * Sends the session a prompt for its next turn (`prompt`) or the answer to its question
   * (`answer`), as the CLI: the API records the source `cli` and the caller as the author.
   */
  prompt(namespace: string, name: string, kind: 'prompt' | 'answer', prompt: string): Promise<PromptResult> {
    const route = kind === 'prompt' ? 'prompts' : 'answer';
    return this.json('POST', `${this.sessions(namespace)}/${encodeURIComponent(name)}/${route}`, {
      prompt,
      source: 'cli',
    });
  }

  /** Gives a session waiting at a budget cap a higher cap; the API records the caller as the author. */
  approve(namespace: string, name: string, capUsd: number): Promise<ApprovalResult> {
    return this.json('POST', `${this.sessions(namespace)}/${encodeURIComponent(name)}/approve`, { capUsd });
  }

  /** The namespace's AgentTriggers. */
  triggers(namespace: string): Promise<{ items: ApiTrigger[] }> {
    return this.json('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/triggers`);
  }

  trigger(namespace: string, name: string): Promise<ApiTrigger> {
    return this.json(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/triggers/${encodeURIComponent(name)}`,
    );
  }

  /**
   * Streams the runner log to `out`; with `follow`, until the runner ends or `signal` aborts
   * (which ends it quietly).
   */
  async logs(
    namespace: string,
    name: string,
    follow: boolean,
    out: Writable,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      const response = await this.fetch(
        'GET',
        `${this.sessions(namespace)}/${encodeURIComponent(name)}/logs?follow=${String(follow)}`,
        undefined,
        signal,
      );
      if (!response.body) return;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
  }
}

/** A trigger as the API returns it. */
export interface ApiTrigger {
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: AgentTriggerSpec;
  status: { ready: boolean; problem?: string };
}
