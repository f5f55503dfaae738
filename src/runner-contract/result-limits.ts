/**
 * Fitting a parsed runner result into the AgentSession status schema (charts/shepherd/files/crds/
 * agentsessions.yaml: `status.result`, `status.reconciledRepos`, `status.usage`). A runner image
 * is not trusted to respect those limits; one over-long summary would make the API server refuse
 * every status write of its session. Strings are cut with a visible marker, arrays capped, values
 * that would be refused whatever their length (a commit of 65 characters, a fractional token
 * count) dropped, and each change reported by its path. Pure and free of Node built-ins: the
 * workflow runs it.
 */

/** The status schema's limits for what the runner reports (a unit test checks them against the CRD). */
export const RESULT_LIMITS = {
  /** `status.result`, from the summary. */
  summary: 16_384,
  /** `status.reconciledRepos`. */
  repos: 16,
  url: 2048,
  branch: 255,
  commit: 64,
  pullRequestUrl: 2048,
  message: 4096,
  /** `status.question.text`. */
  question: 4096,
} as const;

/** What replaces the cut end of a string. */
export const TRIM_MARKER = ' …[trimmed]';

/** Lone UTF-16 surrogates (from `\ud800` escapes): not text, and the API server would mangle them. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces lone surrogates with U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/**
 * `text` cut to at most `max` UTF-16 units (so at most `max` characters, as the API server counts
 * them), ending in the marker when cut, never splitting a surrogate pair.
 */
export function trimText(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = text.slice(0, Math.max(0, max - TRIM_MARKER.length));
  if (/[\ud800-\udbff]$/.test(kept)) kept = kept.slice(0, -1);
  return `${kept}${TRIM_MARKER}`;
}

/** The schema's int64 token counts, as far as a JS number holds them exactly. */
export function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A cost: a finite number, not negative. */
export function isCost(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
