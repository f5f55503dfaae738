/**
 * Shepherd's Jira calls, as a thin layer over jira.js (the maintained Jira Cloud REST client,
 * typed and checked against Jira's v3 schema): search with JQL through the enhanced
 * `/rest/api/3/search/jql` endpoint (token paging, bounded), read a ticket, claim it (a transition
 * by name or target status, or an assignee), comment (an ADF document) and transition. The
 * credentials come from the trigger's Secret through the SecretSource port and go nowhere else;
 * every failure is one of jira-errors.ts's kinds, with a bounded wait on each call.
 */
import { createCloudClient, type CloudClient } from 'jira.js';
import type { SchemaMismatchBehavior } from 'jira.js';
import type { AgentTrigger } from '../../resources/types.js';
import type { SecretSource } from '../secret-source.js';
import { adfToText, textToAdf } from './adf.js';
import { canonicalJiraKey } from './jira-contract.js';
import {
  classifyJiraError,
  type JiraCallContext,
  JiraConfigError,
  JiraRefusedError,
  JiraUnavailableError,
} from './jira-errors.js';

/** A ticket as Shepherd reads it. */
export interface JiraTicket {
  key: string;
  id?: string;
  /** Its page on the site: `<site url>/browse/<key>`. */
  url: string;
  summary: string;
  /** The description as plain text. */
  description: string;
  /** The status's name. */
  status?: string;
  /** The assignee's accountId, when assigned. */
  assignee?: string;
  labels: string[];
}

/** What a transition did. */
export type JiraTransitionOutcome =
  /** Applied now. */
  | { outcome: 'applied' }
  /** The ticket was already in the status it names. */
  | { outcome: 'already' }
  /** Not offered from the ticket's status: the names that are. */
  | { outcome: 'unavailable'; status?: string; available: string[] };

/** The trigger's claim: a transition (name or target status), or an accountId. */
export type JiraClaim = { transition?: string; assignee?: string };

/** A transition Jira offers for a ticket. */
export interface JiraTransition {
  id: string;
  name: string;
  /** The status it leads to. */
  to?: string;
}

/** The Jira calls Shepherd makes. */
export interface JiraClient {
  /** The site's host, as in workflow ids. */
  readonly site: string;
  /** Tickets the JQL finds, in Jira's order, at most `max` (and at most {@link MAX_SEARCH_PAGES} pages). */
  search(jql: string, max: number): Promise<JiraTicket[]>;
  /** The ticket, or undefined when it does not exist or the account cannot see it. */
  getTicket(key: string): Promise<JiraTicket | undefined>;
  /** The transitions Jira offers for the ticket in its status now. */
  transitions(key: string): Promise<JiraTransition[]>;
  /** Applies a transition the ticket is offered. */
  applyTransition(key: string, id: string): Promise<void>;
  /** Assigns the ticket to the account. */
  assign(key: string, accountId: string): Promise<void>;
  /** Adds a comment; the text becomes an ADF document (paragraphs, line breaks, links). */
  comment(key: string, text: string): Promise<void>;
  /** Applies the transition of that name, or the one leading to the status of that name. */
  transition(key: string, name: string): Promise<JiraTransitionOutcome>;
}

/** The transition of `transitions` that `name` names: by its own name, else by its target status. */
export function findTransition(transitions: JiraTransition[], name: string): JiraTransition | undefined {
  return transitions.find((t) => sameName(t.name, name)) ?? transitions.find((t) => sameName(t.to, name));
}

/** Options of a client. */
export interface JiraClientOptions {
  /** The site, e.g. https://example.atlassian.net. */
  url: string;
  email: string;
  apiToken: string;
  /** Named in messages about refused credentials. */
  credentialsSecret: string;
  /**
   * How long one request may take.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * What jira.js does with a response its schema does not describe (tests: `throw`).
   * @default 'warn'
   */
  onSchemaMismatch?: SchemaMismatchBehavior;
}

/** Most tickets one search page asks for. */
export const SEARCH_PAGE_SIZE = 100;
/** Most pages one search reads, whatever the server's page size. */
export const MAX_SEARCH_PAGES = 20;

/** The fields Shepherd reads of a ticket. */
const TICKET_FIELDS = ['summary', 'description', 'status', 'assignee', 'labels'];

/** One page of a token-paged listing. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string | null;
  isLast?: boolean;
}

/**
 * Reads pages until `max` items, the last page, or `maxPages` pages; a page that is empty or
 * hands back the token it was asked with also ends it, so a misbehaving server cannot loop it.
 */
export async function collectPages<T>(
  fetchPage: (token: string | undefined, size: number) => Promise<Page<T>>,
  options: { max: number; pageSize: number; maxPages: number },
): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let token: string | undefined;
  for (let page = 0; page < options.maxPages; page += 1) {
    const remaining = options.max - items.length;
    if (remaining <= 0) return { items, complete: false };
    const result = await fetchPage(token, Math.min(options.pageSize, remaining));
    items.push(...result.items.slice(0, remaining));
    const next = result.nextPageToken ?? undefined;
    if (result.isLast === true || !next) return { items, complete: result.items.length <= remaining };
    if (result.items.length === 0 || next === token) return { items, complete: false };
    token = next;
  }
  return { items, complete: false };
}

/** The host of a site URL; throws JiraConfigError naming the field. */
export function jiraSite(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JiraConfigError(
      `spec.jira.url "${url}" is not a URL; set the site's address, e.g. https://example.atlassian.net`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new JiraConfigError(`spec.jira.url "${url}" must be http(s), e.g. https://example.atlassian.net`);
  }
  return parsed.host;
}

/**
 * Waits for `promise` at most `ms`, then fails with `onTimeout()`. jira.js takes no abort signal,
 * so the request itself is left to end by undici's own header and body timeouts.
 */
async function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The key, once it is known to be a Jira key: jira.js puts it into the request path as it is, so
 * nothing else may get there.
 */
function checked(key: string): string {
  if (!canonicalJiraKey(key)) {
    throw new JiraConfigError(`"${key}" is not a Jira ticket key (PROJECT-123)`);
  }
  return key;
}

function sameName(a: string | undefined, b: string): boolean {
  return a !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** A client for one site and account. */
export function createJiraClient(options: JiraClientOptions): JiraClient {
  const site = jiraSite(options.url);
  const siteUrl = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const jira: CloudClient = createCloudClient({
    host: siteUrl,
    auth: { type: 'basic', email: options.email, apiToken: options.apiToken },
    onSchemaMismatch: options.onSchemaMismatch ?? 'warn',
  });

  /** Runs one request with its bound, turning every failure into one of our errors. */
  const call = async <T>(action: string, request: () => Promise<T>): Promise<T> => {
    const context: JiraCallContext = { site, action, credentialsSecret: options.credentialsSecret };
    try {
      return await bounded(
        request(),
        timeoutMs,
        () =>
          new JiraUnavailableError(
            `Jira at ${site} did not answer ${action} within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}; it is retried`,
          ),
      );
    } catch (error) {
      throw classifyJiraError(error, context);
    }
  };

  const toTicket = (issue: { id?: string; key?: string; fields?: Record<string, unknown> }): JiraTicket => {
    const fields = issue.fields ?? {};
    const key = String(issue.key ?? '');
    const status = (fields.status as { name?: unknown } | undefined)?.name;
    const assignee = (fields.assignee as { accountId?: unknown } | null | undefined)?.accountId;
    const labels = Array.isArray(fields.labels)
      ? fields.labels.filter((l): l is string => typeof l === 'string')
      : [];
    return {
      key,
      ...(issue.id ? { id: issue.id } : {}),
      url: `${siteUrl}/browse/${key}`,
      summary: typeof fields.summary === 'string' ? fields.summary : '',
      description: adfToText(fields.description),
      ...(typeof status === 'string' ? { status } : {}),
      ...(typeof assignee === 'string' ? { assignee } : {}),
      labels,
    };
  };

  const getTicket = async (key: string): Promise<JiraTicket | undefined> => {
    try {
      return toTicket(
        await call(`reading ticket ${checked(key)}`, () =>
          jira.issues.getIssue({ issueIdOrKey: key, fields: TICKET_FIELDS }),
        ),
      );
    } catch (error) {
      if (error instanceof JiraRefusedError && error.status === 404) return undefined;
      throw error;
    }
  };

  const transitions = async (key: string): Promise<JiraTransition[]> => {
    const { transitions: offered = [] } = await call(
      `listing the transitions of ticket ${checked(key)}`,
      () => jira.issues.getTransitions({ issueIdOrKey: key }),
    );
    return offered.flatMap((t) =>
      t.id && t.name ? [{ id: t.id, name: t.name, ...(t.to?.name ? { to: t.to.name } : {}) }] : [],
    );
  };

  const applyTransition = async (key: string, id: string): Promise<void> => {
    await call(`applying transition ${id} to ticket ${checked(key)}`, () =>
      jira.issues.doTransition({ issueIdOrKey: key, transition: { id } }),
    );
  };

  const transition = async (key: string, name: string): Promise<JiraTransitionOutcome> => {
    const offered = await transitions(key);
    const chosen = findTransition(offered, name);
    if (chosen) {
      await applyTransition(key, chosen.id);
      return { outcome: 'applied' };
    }
    const ticket = await getTicket(key);
    if (!ticket) {
      throw new JiraRefusedError(
        `Jira at ${site} has no ticket ${key} (or the account of Secret ${options.credentialsSecret} cannot see it)`,
        404,
      );
    }
    if (sameName(ticket.status, name)) return { outcome: 'already' };
    return {
      outcome: 'unavailable',
      ...(ticket.status ? { status: ticket.status } : {}),
      available: offered.map((t) => t.name),
    };
  };

  return {
    site,

    async search(jql, max) {
      const { items } = await collectPages(
        async (token, size) => {
          const page = await call("searching with the trigger's JQL (spec.match.jql)", () =>
            jira.issueSearch.searchAndReconsileIssuesUsingJqlPost({
              jql,
              maxResults: size,
              fields: TICKET_FIELDS,
              ...(token ? { nextPageToken: token } : {}),
            }),
          );
          return {
            items: page.issues ?? [],
            ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
            ...(page.isLast !== undefined ? { isLast: page.isLast } : {}),
          };
        },
        { max, pageSize: SEARCH_PAGE_SIZE, maxPages: MAX_SEARCH_PAGES },
      );
      return items.map(toTicket).filter((ticket) => ticket.key !== '');
    },

    getTicket,

    transitions,
    applyTransition,

    async assign(key, accountId) {
      await call(`assigning ticket ${checked(key)} to account ${accountId}`, () =>
        jira.issues.assignIssue({ issueIdOrKey: key, accountId }),
      );
    },

    async comment(key, text) {
      await call(`commenting on ticket ${checked(key)}`, () =>
        jira.issueComments.addComment({ issueIdOrKey: key, body: textToAdf(text) }),
      );
    },

    transition,
  };
}

/** Options of {@link jiraClientForTrigger} beside the credentials. */
export type JiraTriggerClientOptions = Pick<JiraClientOptions, 'timeoutMs' | 'onSchemaMismatch'>;

/** The client of a jira trigger, with the credentials read from its Secret. */
export async function jiraClientForTrigger(
  trigger: AgentTrigger,
  secrets: SecretSource,
  options: JiraTriggerClientOptions = {},
): Promise<JiraClient> {
  const namespace = trigger.metadata.namespace ?? 'default';
  const what = `AgentTrigger ${trigger.metadata.name} in namespace ${namespace}`;
  const jira = trigger.spec.jira;
  if (!jira) {
    throw new JiraConfigError(
      `${what} has no spec.jira; set spec.jira.url and spec.jira.credentialsSecretRef`,
    );
  }
  const secret = jira.credentialsSecretRef.name;
  const read = async (key: 'email' | 'apiToken') => {
    const value = await secrets.read(namespace, { name: secret, key });
    if (!value) {
      throw new JiraConfigError(
        `${what}: Secret ${secret} (spec.jira.credentialsSecretRef) has no key ${key}; create it with keys email and apiToken`,
      );
    }
    return value;
  };
  const [email, apiToken] = [await read('email'), await read('apiToken')];
  return createJiraClient({ url: jira.url, email, apiToken, credentialsSecret: secret, ...options });
}
