/**
 * The logger shape the long-running Shepherd components take as a dependency. It is the subset of
 * pino's API they use, so the worker passes its pino logger and a test can pass anything that
 * looks like one, without this module depending on pino.
 */

/** One pino-style log method: structured fields first, then the message. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/** A pino-compatible logger. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}
