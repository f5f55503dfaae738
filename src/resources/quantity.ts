/**
 * Kubernetes resource quantities as the AgentSession CRD accepts them (`500m`, `2`, `1.5Gi`,
 * `4G`), compared exactly: the CRD's CEL rule that requests may not exceed limits uses the API
 * server's quantity library, and the API must refuse the same specs without one. Values are kept
 * as fractions of BigInts, so `1Gi` and `1073741824`, or `0.5` and `500m`, compare equal.
 */

const QUANTITY = /^([0-9]+)(?:\.([0-9]+))?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A quantity as numerator / denominator. */
interface Fraction {
  num: bigint;
  den: bigint;
}

/** Parses a quantity (a string in the CRD's syntax, or an integer); undefined when it is not one. */
export function parseQuantity(value: unknown): Fraction | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, whole = '0', fraction = '', suffix = ''] = match;
  let num = BigInt(whole + fraction);
  let den = 10n ** BigInt(fraction.length);
  const binary = BINARY[suffix];
  const decimal = DECIMAL[suffix];
  if (binary !== undefined) num *= 1024n ** BigInt(binary);
  else if (decimal !== undefined && decimal > 0) num *= 10n ** BigInt(decimal);
  else if (decimal !== undefined) den *= 10n ** BigInt(-decimal);
  return { num, den };
}

/** Whether quantity `a` is greater than `b`; false when either is not a quantity. */
export function quantityGreaterThan(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (!x || !y) return false;
  return x.num * y.den > y.num * x.den;
}
