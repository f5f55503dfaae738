/**
 * The last lines of an attempt's runner log in the local runtime: the end of its log file, read
 * in one bounded piece, for the report a failed session sends its source. The runner has already
 * redacted what it wrote. Undefined when there is no log.
 */
import { open } from 'node:fs/promises';
import type { SessionRef } from '../session-activities.js';
import { attemptFiles } from './local-sessions.js';

/** How much of the file's end is read: enough for the lines asked for, bounded. */
const MAX_TAIL_BYTES = 64 * 1024;

/** Reads the tail of the runner log of one attempt under `dataDir`. */
export function localLogTail(dataDir: string) {
  return async (session: SessionRef, attempt: number, lines: number): Promise<string | undefined> => {
    const path = attemptFiles(dataDir, session.namespace, session.name, attempt).log;
    let file;
    try {
      file = await open(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const { size } = await file.stat();
      const length = Math.min(size, MAX_TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      const text = buffer.toString('utf8').replace(/\n$/, '');
      return text.split('\n').slice(-lines).join('\n');
    } finally {
      await file.close();
    }
  };
}
