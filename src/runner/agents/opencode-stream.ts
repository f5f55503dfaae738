/**
 * Reads OpenCode's `run --format json` output: one JSON event per line (`step_start`, `text`,
 * `tool_use`, `step_finish` with the step's tokens and cost, `error`), each naming its session in
 * `sessionID`. Text and tool calls become readable lines of the session log; the steps' tokens and
 * cost add up to the session's usage; the last text is the summary; the session id is what the
 * next turn resumes. Lines that are not events pass through unchanged.
 */
import type { Usage } from '../../resources/types.js';
import { isObject, type Json, jsonEvent } from './json-lines.js';

const MAX_DETAIL = 300;

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}

/** The message of an `error` event: OpenCode's `{name, data: {message}}` error. */
function errorMessage(error: unknown): string | undefined {
  if (!isObject(error)) return undefined;
  const data = isObject(error.data) ? error.data : {};
  const message = typeof data.message === 'string' ? data.message : undefined;
  const name = typeof error.name === 'string' ? error.name : undefined;
  if (message === undefined) return name;
  return name === undefined ? message : `${name}: ${message}`;
}

/** The state of one OpenCode run, fed line by line. */
export class OpencodeStream {
  /** The last text the model wrote. */
  summary: string | undefined;
  /** Whether a step began: OpenCode got as far as asking the model. */
  started = false;
  /** The last error event's message. */
  error: string | undefined;
  /** OpenCode's session, from the first step. */
  conversationId: string | undefined;
  private readonly totals = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
  private steps = 0;

  /** The usage summed over the steps; undefined before the first finished step. */
  get usage(): Usage | undefined {
    if (this.steps === 0) return undefined;
    const { input, output, cacheRead, cacheWrite, cost } = this.totals;
    return {
      inputTokens: input,
      outputTokens: output,
      cacheReadTokens: cacheRead,
      cacheWriteTokens: cacheWrite,
      ...(cost > 0 ? { costUsd: cost } : {}),
    };
  }

  /** Reads one stdout line; returns the lines for the session log. */
  line(raw: string): string[] {
    const event = jsonEvent(raw);
    if (event === undefined) return [raw];
    const part = isObject(event.part) ? event.part : {};
    switch (event.type) {
      case 'step_start':
        this.started = true;
        if (this.conversationId === undefined && typeof event.sessionID === 'string')
          this.conversationId = event.sessionID;
        return [];
      case 'text': {
        const text = typeof part.text === 'string' ? part.text.trim() : '';
        if (text === '') return [];
        this.summary = text;
        return text.split('\n');
      }
      case 'tool_use': {
        const state = isObject(part.state) ? part.state : {};
        const failed = state.status === 'error';
        const detail = clip(
          typeof state.title === 'string' ? state.title : JSON.stringify(state.input ?? {}),
        );
        const outcome = typeof state.output === 'string' ? clip(state.output) : undefined;
        const error = typeof state.error === 'string' ? clip(state.error) : undefined;
        return [
          `→ ${typeof part.tool === 'string' ? part.tool : 'tool'} ${detail}`,
          ...(failed ? [`✗ ${error ?? 'failed'}`] : outcome ? [`← ${outcome}`] : []),
        ];
      }
      case 'step_finish':
        return this.stepFinished(part);
      case 'error':
        this.error = errorMessage(event.error) ?? 'unknown error';
        return [`opencode: error: ${this.error}`];
      default:
        return [];
    }
  }

  private stepFinished(part: Json): string[] {
    const tokens = isObject(part.tokens) ? part.tokens : {};
    const cache = isObject(tokens.cache) ? tokens.cache : {};
    this.steps++;
    this.totals.input += count(tokens.input);
    this.totals.output += count(tokens.output);
    this.totals.cacheRead += count(cache.read);
    this.totals.cacheWrite += count(cache.write);
    this.totals.cost += count(part.cost);
    return typeof part.reason === 'string' && part.reason !== 'tool-calls'
      ? [
          `opencode: finished (${part.reason}, ${this.steps} steps, ${this.totals.input} input tokens, ${this.totals.output} output tokens)`,
        ]
      : [];
  }
}
