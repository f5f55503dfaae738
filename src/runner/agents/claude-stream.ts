/**
 * Reads Claude Code's `--output-format stream-json` output: one JSON event per line. Assistant text
 * and tool calls become readable lines of the session log, the `init` event gives the id of the
 * conversation (which the next turn resumes), and the final `result` event gives the summary (and
 * the question it may end with), token usage and cost. Lines that are not events pass through
 * unchanged, so nothing the agent prints is lost from the log.
 */
import type { Usage } from '../../resources/types.js';
import { splitQuestion } from '../question.js';
import { isObject, type Json, jsonEvent } from './json-lines.js';

// Tool inputs and results can be whole files; the log shows enough to follow along.
const MAX_DETAIL = 300;

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
      .join(' ');
  }
  return '';
}

/** Maps Claude's usage block (Anthropic API names) to the session's usage. */
export function claudeUsage(usage: unknown, costUsd: unknown): Usage | undefined {
  const result: Usage = {};
  if (isObject(usage)) {
    const fields = [
      ['inputTokens', usage.input_tokens],
      ['outputTokens', usage.output_tokens],
      ['cacheReadTokens', usage.cache_read_input_tokens],
      ['cacheWriteTokens', usage.cache_creation_input_tokens],
    ] as const;
    for (const [key, value] of fields) {
      const n = count(value);
      if (n !== undefined) result[key] = n;
    }
  }
  const cost = count(costUsd);
  if (cost !== undefined) result.costUsd = cost;
  return Object.keys(result).length > 0 ? result : undefined;
}

/** The state of one Claude Code run, fed line by line. */
export class ClaudeStream {
  /** The final `result` event's text, without the question it ended with. */
  summary: string | undefined;
  /** The question the final `result` event's text ended with. */
  question: string | undefined;
  /** The conversation's id, from the `init` event. */
  conversationId: string | undefined;
  usage: Usage | undefined;
  /** Whether the final `result` event reported an error. */
  isError = false;
  /** Whether the `system` `init` event came: Claude Code began its session. */
  started = false;

  /** Reads one stdout line; returns the lines for the session log. */
  line(raw: string): string[] {
    const event = jsonEvent(raw);
    if (event === undefined) return [raw];
    switch (event.type) {
      case 'system':
        if (event.subtype !== 'init') return [];
        this.started = true;
        if (typeof event.session_id === 'string') this.conversationId = event.session_id;
        return [`claude: started${typeof event.model === 'string' ? ` (model ${event.model})` : ''}`];
      case 'assistant':
        return this.content(event.message, (part) => {
          if (part.type === 'text' && typeof part.text === 'string') return part.text.split('\n');
          if (part.type === 'tool_use' && typeof part.name === 'string') {
            return [`→ ${part.name} ${clip(JSON.stringify(part.input ?? {}))}`];
          }
          return [];
        });
      case 'user':
        return this.content(event.message, (part) =>
          part.type === 'tool_result'
            ? [`${part.is_error === true ? '✗' : '←'} ${clip(toolResultText(part.content))}`]
            : [],
        );
      case 'result':
        return this.result(event);
      default:
        return [];
    }
  }

  private content(message: unknown, render: (part: Json) => string[]): string[] {
    if (!isObject(message) || !Array.isArray(message.content)) return [];
    return message.content.flatMap((part) => (isObject(part) ? render(part) : []));
  }

  private result(event: Json): string[] {
    if (typeof event.result === 'string' && event.result.trim() !== '') {
      ({ summary: this.summary, question: this.question } = splitQuestion(event.result));
    }
    this.usage = claudeUsage(event.usage, event.total_cost_usd ?? event.cost_usd) ?? this.usage;
    this.isError = event.is_error === true;
    const facts = [
      typeof event.subtype === 'string' ? event.subtype : undefined,
      count(event.num_turns) === undefined ? undefined : `${String(event.num_turns)} turns`,
      this.usage?.inputTokens === undefined ? undefined : `${this.usage.inputTokens} input tokens`,
      this.usage?.outputTokens === undefined ? undefined : `${this.usage.outputTokens} output tokens`,
      this.usage?.costUsd === undefined ? undefined : `$${this.usage.costUsd.toFixed(4)}`,
    ].filter((fact) => fact !== undefined);
    return [`claude: finished (${facts.join(', ')})`];
  }
}
