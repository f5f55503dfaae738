/**
 * The one parser for agents' JSON-lines output (Claude Code's `stream-json`, OpenCode's
 * `--format json`): both print one JSON event per line among lines that are not events, and both
 * stream readers must tell the two apart the same way — a line is an event only when it is a JSON
 * object with a string `type`; anything else passes through to the log unchanged.
 */

export type Json = Record<string, unknown>;

/** One event of the stream: a JSON object with a string `type`. */
export type JsonEvent = Json & { type: string };

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEvent(value: unknown): value is JsonEvent {
  return isObject(value) && typeof value.type === 'string';
}

/** The event on one stdout line; undefined when the line is not one. */
export function jsonEvent(raw: string): JsonEvent | undefined {
  let event: unknown;
  try {
    event = raw.trimStart().startsWith('{') ? JSON.parse(raw) : undefined;
  } catch {
    event = undefined;
  }
  return isEvent(event) ? event : undefined;
}
