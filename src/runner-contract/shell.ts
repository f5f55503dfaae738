/**
 * Quoting for the shell scripts Shepherd generates (the clone step, the local runtime's wrapper),
 * so a URL, path or argument with spaces or quotes in it stays one word and is never run.
 */

/** Quotes a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
