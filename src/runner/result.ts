/**
 * The runner's JSON result (parsed by `parseRunnerResult`): serialized within MAX_RESULT_BYTES,
 * because the kubelet keeps no more of a termination message, and written where the session
 * looks for it.
 *
 * When the result is too long the summary gives way first (its end is cut), then the per-repository
 * messages, then the warnings, then the question (its end is cut), then the usage; the
 * repositories' branches and commits are what the session needs most.
 */
import { writeFileSync } from 'node:fs';
import type { ReconciledRepo } from '../resources/types.js';
import { MAX_RESULT_BYTES, type RunnerResult } from '../runner-contract/result.js';

const ELLIPSIS = '…';
const SHORT_MESSAGE = 200;

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** The longest prefix of `text` (whole code points, plus an ellipsis) for which `fits` holds. */
function longestFitting(text: string, fits: (candidate: string) => boolean): string {
  if (fits(text)) return text;
  const points = Array.from(text);
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(points.slice(0, mid).join('') + ELLIPSIS)) low = mid;
    else high = mid - 1;
  }
  return low === 0 ? '' : points.slice(0, low).join('') + ELLIPSIS;
}

function withoutMessage({ message: _message, ...repo }: ReconciledRepo): ReconciledRepo {
  return repo;
}

/**
 * The result as JSON of at most `maxBytes` bytes.
 *
 * @param maxBytes @default MAX_RESULT_BYTES
 */
export function serializeResult(result: RunnerResult, maxBytes: number = MAX_RESULT_BYTES): string {
  let current: RunnerResult = result;
  const fits = (value: RunnerResult) => bytes(value) <= maxBytes;
  if (fits(current)) return JSON.stringify(current);

  const { summary, ...rest } = current;
  if (summary !== undefined) {
    const shortened = longestFitting(summary, (candidate) => fits({ ...rest, summary: candidate }));
    current = shortened === '' ? rest : { ...rest, summary: shortened };
    if (fits(current)) return JSON.stringify(current);
  }
  current = {
    ...current,
    repos: current.repos.map((repo) =>
      repo.message && repo.message.length > SHORT_MESSAGE
        ? { ...repo, message: `${repo.message.slice(0, SHORT_MESSAGE)}${ELLIPSIS}` }
        : repo,
    ),
  };
  if (fits(current)) return JSON.stringify(current);
  current = { ...current, repos: current.repos.map(withoutMessage) };
  if (fits(current)) return JSON.stringify(current);
  // The repositories' messages say the same as the warnings, shorter.
  const { warnings: _warnings, ...withoutWarnings } = current;
  current = withoutWarnings;
  if (fits(current)) return JSON.stringify(current);
  const { question, ...withoutQuestion } = current;
  if (question !== undefined) {
    const shortened = longestFitting(question, (candidate) =>
      fits({ ...withoutQuestion, question: candidate }),
    );
    current = shortened === '' ? withoutQuestion : { ...withoutQuestion, question: shortened };
    if (fits(current)) return JSON.stringify(current);
  }
  const { usage: _usage, ...withoutUsage } = current;
  current = withoutUsage;
  // Only a session with very many repositories gets here; the first ones are kept.
  while (!fits(current) && current.repos.length > 0) {
    current = { ...current, repos: current.repos.slice(0, -1) };
  }
  return JSON.stringify(current);
}

/**
 * Writes the result to `file` (a termination-message path or a local file); absent means nowhere.
 *
 * @returns Why it could not be written, if it could not: the exit code still tells the session
 *   how the run ended, so this is reported rather than thrown.
 */
export function writeResult(file: string | undefined, result: RunnerResult): string | undefined {
  if (file === undefined) return undefined;
  try {
    writeFileSync(file, serializeResult(result));
    return undefined;
  } catch (error) {
    return `could not write the result to ${file}: ${(error as Error).message}`;
  }
}
