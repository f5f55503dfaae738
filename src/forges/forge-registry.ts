/**
 * Which forge a repository is on, and the adapter for it. The worker knows its forges from
 * `SHEPHERD_FORGES` (github.com always); a session may name its forge in `spec.pullRequest.forge`
 * when the worker does not know it. From a repository's clone URL this finds the forge and the
 * repository's owner and name on it, and builds the GitHub or Gitea adapter with the credentials
 * the caller read. Pure except `createForge`, which only constructs (no call is made).
 */
import type { ForgeRef, ForgeType } from '../resources/types.js';
import type { Logger } from '../common/logger.js';
import { type ForgeCredentials, isAppCredentials } from './forge-credentials.js';
import { type Forge, ForgeRefusedError, type ForgeRepo } from './forge.js';
import { GiteaForge } from './gitea-forge.js';
import { GitHubForge } from './github-forge.js';

/** A forge the worker can open pull requests on. */
export interface ForgeConfig {
  type: ForgeType;
  /** The web address, normalized: no trailing slash. */
  url: string;
  /** The REST API's base, when it is not where the type puts it (see {@link apiUrlOf}). */
  apiUrl?: string;
}

/** github.com, which every worker knows. */
export const GITHUB_COM: ForgeConfig = {
  type: 'github',
  url: 'https://github.com',
  apiUrl: 'https://api.github.com',
};

const FORGE_TYPES: readonly ForgeType[] = ['github', 'gitea'];
const ENTRY_FIELDS = new Set(['type', 'url', 'apiUrl']);
const EXAMPLE = '[{"type":"gitea","url":"https://gitea.example.com"}]';

/** `value` as a normalized http(s) base URL (no credentials, query or fragment, no trailing slash), or a reason. */
function baseUrl(value: unknown): string | { problem: string } {
  if (typeof value !== 'string' || value === '') return { problem: 'must be an http(s) URL' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `must be an http(s) URL, not "${value}"` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: `must be an http(s) URL, not "${value}"` };
  }
  if (url.username || url.password) {
    return { problem: 'must not hold credentials: they belong in the Secret the trigger names' };
  }
  if (url.search || url.hash) return { problem: `must have no query or fragment: "${value}"` };
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The worker's forges from `SHEPHERD_FORGES`: a JSON array of `{type, url, apiUrl?}`, e.g.
 * `[{"type":"gitea","url":"https://gitea.example.com"}]`. github.com is always among them (an
 * entry for it may change its apiUrl). Throws naming the entry and the field.
 */
export function parseForgesConfig(value: string | undefined): ForgeConfig[] {
  if (value === undefined || value.trim() === '') return [GITHUB_COM];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new Error(
      `SHEPHERD_FORGES is not JSON (${(error as Error).message}): set it to an array such as ${EXAMPLE}`,
    );
  }
  if (!Array.isArray(parsed)) throw new Error(`SHEPHERD_FORGES must be a JSON array such as ${EXAMPLE}`);
  const forges: ForgeConfig[] = parsed.map((entry: unknown, i) => {
    const at = `SHEPHERD_FORGES[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new Error(`${at} must be an object {type, url, apiUrl?}`);
    }
    const fields = entry as Record<string, unknown>;
    const unknown = Object.keys(fields).find((k) => !ENTRY_FIELDS.has(k));
    if (unknown !== undefined)
      throw new Error(`${at} has an unknown field "${unknown}": the fields are type, url and apiUrl`);
    const { type } = fields;
    if (typeof type !== 'string' || !FORGE_TYPES.includes(type as ForgeType)) {
      throw new Error(`${at}.type must be "github" or "gitea", not ${JSON.stringify(type)}`);
    }
    const url = baseUrl(fields.url);
    if (typeof url !== 'string') throw new Error(`${at}.url ${url.problem}`);
    if (fields.apiUrl === undefined) return { type: type as ForgeType, url };
    const apiUrl = baseUrl(fields.apiUrl);
    if (typeof apiUrl !== 'string') throw new Error(`${at}.apiUrl ${apiUrl.problem}`);
    return { type: type as ForgeType, url, apiUrl };
  });
  forges.forEach((forge, i) => {
    const first = forges.findIndex((f) => f.url === forge.url);
    if (first !== i)
      throw new Error(`SHEPHERD_FORGES[${i}].url repeats SHEPHERD_FORGES[${first}].url (${forge.url})`);
  });
  return forges.some((f) => f.url === GITHUB_COM.url) ? forges : [...forges, GITHUB_COM];
}

/** The REST API's base of a forge: its apiUrl, else api.github.com, `<url>/api/v3` (GitHub Enterprise Server) or `<url>/api/v1` (Gitea). */
export function apiUrlOf(forge: ForgeConfig): string {
  if (forge.apiUrl) return forge.apiUrl;
  if (forge.type === 'gitea') return `${forge.url}/api/v1`;
  return forge.url === GITHUB_COM.url ? 'https://api.github.com' : `${forge.url}/api/v3`;
}

/**
 * The repository a clone URL names on the forge at `forgeUrl`, or undefined when it is not on that
 * forge: the hosts (and ports) must be equal, the forge's path prefix (a Gitea under /git) must
 * lead the path, then exactly `owner/name`, with or without `.git`. Only http(s) clone URLs, and
 * none with credentials in it (a URL that carries a token is not one to parse for another use).
 */
export function forgeRepoOf(forgeUrl: string, repoCloneUrl: string): ForgeRepo | undefined {
  let forge: URL;
  let clone: URL;
  try {
    forge = new URL(forgeUrl);
    clone = new URL(repoCloneUrl);
  } catch {
    return undefined;
  }
  if (clone.protocol !== 'https:' && clone.protocol !== 'http:') return undefined;
  if (clone.username || clone.password || clone.search || clone.hash) return undefined;
  if (forge.host !== clone.host) return undefined;
  const prefix = forge.pathname.replace(/\/+$/, '');
  if (prefix && !clone.pathname.startsWith(`${prefix}/`)) return undefined;
  const rest = clone.pathname
    .slice(prefix.length)
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '');
  const segments = rest.split('/');
  if (segments.length !== 2) return undefined;
  let owner: string;
  let name: string;
  try {
    [owner, name] = segments.map(decodeURIComponent) as [string, string];
  } catch {
    return undefined;
  }
  return owner && name ? { owner, name } : undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * The forge of the repository at `repoUrl`: the session's own `pullRequest.forge` when its host is
 * the repository URL's host, else the configured forge the URL is on (the longest path prefix
 * wins), else undefined (no pull request).
 *
 * The session's forge is taken only on the repository's own host: the worker sends the forge
 * credentials to the forge's API, and without that check a session could name any host as its
 * "forge" and make the worker send a token there.
 */
export function forgeFor(
  repoUrl: string,
  sessionForge: ForgeRef | undefined,
  configured: readonly ForgeConfig[],
): ForgeConfig | undefined {
  const host = hostOf(repoUrl);
  if (host === undefined) return undefined;
  if (sessionForge && hostOf(sessionForge.url) === host) {
    const url = baseUrl(sessionForge.url);
    if (typeof url === 'string') {
      return (
        configured.find((f) => f.type === sessionForge.type && f.url === url) ?? {
          type: sessionForge.type,
          url,
        }
      );
    }
  }
  return configured
    .filter((f) => forgeRepoOf(f.url, repoUrl) !== undefined)
    .sort((a, b) => b.url.length - a.url.length)[0];
}

/** What {@link createForge} needs besides the forge. */
export interface CreateForgeOptions extends ForgeConfig {
  credentials: ForgeCredentials;
  /** Where the credentials come from, for messages, e.g. `Secret default/forge`. */
  credentialsSource?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per call. @default 30 s */
  timeoutMs?: number;
  /** Aborts every call, e.g. an activity's cancellation signal. */
  signal?: AbortSignal;
  /** @default Date.now */
  now?: () => number;
  logger?: Logger;
}

/** The adapter for a forge. Throws ForgeRefusedError for GitHub App credentials on a Gitea. */
export function createForge(options: CreateForgeOptions): Forge {
  const { type, credentials, ...rest } = options;
  const common = { ...rest, apiUrl: apiUrlOf(options) };
  if (type === 'github') return new GitHubForge({ ...common, credentials });
  if (isAppCredentials(credentials)) {
    throw new ForgeRefusedError(
      `Gitea ${options.url} has no GitHub Apps: ${rest.credentialsSource ?? 'the forge credentials'} must hold a key token (a Gitea access token)`,
    );
  }
  return new GiteaForge({ ...common, token: credentials.token });
}
