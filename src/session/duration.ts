/**
 * Parses and formats the Go-style durations used by `spec.timeout` and
 * `AgentConfig.spec.defaultTimeout` ("1h30m", "90s", "500ms"). The accepted syntax is exactly the
 * CRD's pattern, so a value the API server accepted always parses here. Pure and free of Node
 * built-ins: the workflow uses it too.
 */
import { InvalidSpecError } from './errors.js';

/** The CRD's pattern for durations; kept identical to the YAML so both accept the same values. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Returns the duration in whole milliseconds (fractions round to the nearest millisecond).
 *
 * @param value The duration, e.g. `1h30m`.
 * @param field The field it came from, named in the error, e.g. `spec.timeout`.
 * @throws InvalidSpecError when the value is not a duration or is zero.
 */
export function parseDuration(value: string, field: string): number {
  if (!DURATION_PATTERN.test(value)) {
    throw new InvalidSpecError(
      field,
      `${field} "${value}" is not a duration: use a number with a unit (ms, s, m, h), e.g. 90s, 45m or 1h30m`,
    );
  }
  let total = 0;
  for (const match of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    const [, amount, unit] = match;
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  const ms = Math.round(total);
  if (ms <= 0) {
    throw new InvalidSpecError(field, `${field} "${value}" must be longer than zero, e.g. 30m`);
  }
  if (!Number.isSafeInteger(ms)) {
    throw new InvalidSpecError(field, `${field} "${value}" is too long; use at most a few days, e.g. 72h`);
  }
  return ms;
}

/** Formats milliseconds as a duration the parser accepts, e.g. 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  if (rest > 0) text += `${rest}ms`;
  return text;
}
