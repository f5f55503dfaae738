/**
 * What an attempt cost, for the budgets: the USD the runner reported, or else its tokens priced by
 * a table of list prices per million tokens. A model the table does not know cannot be priced:
 * its tokens are counted, its spending is not, and docs/policy.md says so. Pure, so the workflow
 * can call it.
 */
import type { Usage } from '../resources/types.js';

/** USD per million tokens. */
interface Price {
  input: number;
  output: number;
}

/**
 * List prices (per million tokens, USD) by model name prefix, the longest prefix first. Cache
 * reads cost a tenth of the input price and cache writes 1.25 times it, as Anthropic bills them.
 */
export const PRICE_TABLE: readonly { prefix: string; price: Price }[] = [
  { prefix: 'claude-opus-4-5', price: { input: 5, output: 25 } },
  { prefix: 'claude-opus-4', price: { input: 15, output: 75 } },
  { prefix: 'claude-sonnet-4', price: { input: 3, output: 15 } },
  { prefix: 'claude-3-7-sonnet', price: { input: 3, output: 15 } },
  { prefix: 'claude-haiku-4-5', price: { input: 1, output: 5 } },
  { prefix: 'claude-3-5-haiku', price: { input: 0.8, output: 4 } },
];

/** What an attempt spent. */
export interface AttemptCost {
  /** USD; absent when the runner reported none and the model has no price. */
  usd?: number;
  /** Input, output and cache tokens. */
  tokens: number;
  /** Where `usd` came from. */
  source: 'reported' | 'priced' | 'unpriced';
}

/** The tokens of `usage`, every kind counted. */
export function tokensOf(usage: Usage | undefined): number {
  if (!usage) return 0;
  return (
    (usage.inputTokens ?? 0) +
    (usage.outputTokens ?? 0) +
    (usage.cacheReadTokens ?? 0) +
    (usage.cacheWriteTokens ?? 0)
  );
}

/** The price of `model` (its provider prefix such as `anthropic/` ignored), if the table has one. */
export function priceOf(model: string | undefined): Price | undefined {
  const name = model?.split('/').at(-1)?.toLowerCase();
  if (!name) return undefined;
  return PRICE_TABLE.find((p) => name.startsWith(p.prefix))?.price;
}

/** The cost of one attempt's `usage` with `model`. */
export function attemptCost(usage: Usage | undefined, model: string | undefined): AttemptCost {
  const tokens = tokensOf(usage);
  if (usage?.costUsd !== undefined) return { usd: usage.costUsd, tokens, source: 'reported' };
  if (tokens === 0) return { usd: 0, tokens, source: 'reported' };
  const price = priceOf(model);
  if (!price) return { tokens, source: 'unpriced' };
  const usd =
    ((usage?.inputTokens ?? 0) * price.input +
      (usage?.outputTokens ?? 0) * price.output +
      (usage?.cacheReadTokens ?? 0) * price.input * 0.1 +
      (usage?.cacheWriteTokens ?? 0) * price.input * 1.25) /
    1e6;
  return { usd, tokens, source: 'priced' };
}
