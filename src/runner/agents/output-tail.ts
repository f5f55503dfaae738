/**
 * The last lines an agent printed: the summary of agents that report nothing more structured.
 */

const MAX_LINES = 20;
const MAX_CHARS = 2000;

/** Keeps the last non-empty lines of an output stream. */
export class OutputTail {
  private readonly lines: string[] = [];

  push(line: string): void {
    if (line.trim() === '') return;
    this.lines.push(line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS)}…` : line);
    if (this.lines.length > MAX_LINES) this.lines.shift();
  }

  /** The kept lines, newest last, at most MAX_CHARS characters; undefined when there were none. */
  text(): string | undefined {
    if (this.lines.length === 0) return undefined;
    const text = this.lines.join('\n');
    return text.length > MAX_CHARS ? `…${text.slice(-MAX_CHARS)}` : text;
  }
}
