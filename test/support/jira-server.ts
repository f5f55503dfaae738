/**
 * A Jira Cloud stand-in on loopback for the poller and feedback tests: in-memory tickets with a
 * small workflow of statuses, speaking the REST endpoints jira.js calls for Shepherd — enhanced
 * JQL search (`POST /rest/api/3/search/jql`, token paging), issue read, transitions (list and
 * apply), assignee, comment (ADF), myself — and refusing, as Jira does, whatever those endpoints
 * do not take: another method or path, no or wrong basic auth, a body that is not JSON, a missing
 * required field, a field the endpoint does not have, a comment body that is not an ADF document,
 * a transition the ticket's status does not offer, an unbounded or unsupported JQL. Every request
 * is recorded, so a test can count claims and read the bodies it sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A ticket. */
export interface FakeTicket {
  key: string;
  id: string;
  summary: string;
  /** ADF, as Jira Cloud v3 keeps it. */
  description?: unknown;
  status: string;
  /** accountId, or null when unassigned. */
  assignee: string | null;
  labels: string[];
}

/** A transition of the fake workflow. */
export interface FakeTransition {
  id: string;
  name: string;
  to: string;
}

/** A request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The status it was answered with. */
  status: number;
  /** Why it was refused, when it was. */
  refusal?: string;
}

/** Options of the server. */
export interface JiraServerOptions {
  email: string;
  apiToken: string;
  /** The accounts tickets can be assigned to; the first is the API user (myself). */
  accounts?: Array<{ accountId: string; displayName: string }>;
  /** Transitions offered from each status. */
  workflow?: Record<string, FakeTransition[]>;
  /**
   * The most tickets a search page holds, whatever maxResults asks (Jira caps it too).
   * @default 100
   */
  maxPageSize?: number;
}

/** The running server. */
export interface JiraServer {
  /** The site URL, e.g. http://127.0.0.1:12345. */
  url: string;
  /** Its host, as Shepherd names the site. */
  site: string;
  requests: RecordedRequest[];
  /** The refused requests. */
  refusals(): RecordedRequest[];
  /** The requests with this method whose path matches. */
  calls(method: string, path: RegExp | string): RecordedRequest[];
  addTicket(ticket: Partial<FakeTicket> & { key: string }): FakeTicket;
  ticket(key: string): FakeTicket;
  /** The ADF bodies of the comments on a ticket. */
  comments(key: string): unknown[];
  /** Called after a search is answered (before the response is sent): e.g. someone moves a ticket. */
  afterSearch: (() => void) | undefined;
  close(): Promise<void>;
}

/** The default workflow: To Do → In Progress → In Review → Done, and back. */
export const DEFAULT_WORKFLOW: Record<string, FakeTransition[]> = {
  'To Do': [{ id: '11', name: 'Start Progress', to: 'In Progress' }],
  'In Progress': [
    { id: '21', name: 'Stop Progress', to: 'To Do' },
    { id: '31', name: 'Review', to: 'In Review' },
  ],
  'In Review': [
    { id: '41', name: 'Done', to: 'Done' },
    { id: '51', name: 'Reopen', to: 'To Do' },
  ],
  Done: [{ id: '51', name: 'Reopen', to: 'To Do' }],
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = { errorMessages: [message], errors: {} },
  ) {
    super(message);
  }
}

/** The keys an endpoint's JSON body may have; anything else is refused, as Jira's parser does. */
function onlyKeys(body: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new Refusal(400, `Unrecognized field "${key}" in ${where}; it takes ${allowed.join(', ')}`);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks an ADF node the way Jira's ADF validation does for the parts Shepherd writes. */
function checkAdfNode(node: unknown, path: string): void {
  if (!isObject(node) || typeof node.type !== 'string' || node.type === '') {
    throw new Refusal(400, `INVALID_INPUT: ${path} is not an ADF node (an object with a type)`);
  }
  if (node.type === 'text') {
    if (typeof node.text !== 'string' || node.text === '') {
      throw new Refusal(400, `INVALID_INPUT: ${path} is a text node without text`);
    }
    if (node.marks !== undefined) {
      if (!Array.isArray(node.marks)) throw new Refusal(400, `INVALID_INPUT: ${path}.marks is not an array`);
      node.marks.forEach((mark: unknown, i) => {
        if (!isObject(mark) || typeof mark.type !== 'string') {
          throw new Refusal(400, `INVALID_INPUT: ${path}.marks[${i}] is not a mark`);
        }
        if (mark.type === 'link' && (!isObject(mark.attrs) || typeof mark.attrs.href !== 'string')) {
          throw new Refusal(400, `INVALID_INPUT: ${path}.marks[${i}] is a link without attrs.href`);
        }
      });
    }
  }
  if (node.content !== undefined) {
    if (!Array.isArray(node.content))
      throw new Refusal(400, `INVALID_INPUT: ${path}.content is not an array`);
    node.content.forEach((child: unknown, i) => checkAdfNode(child, `${path}.content[${i}]`));
  }
}

/** A comment body must be an ADF document in the v3 API. */
function checkAdfDocument(value: unknown): void {
  if (!isObject(value) || value.type !== 'doc' || value.version !== 1 || !Array.isArray(value.content)) {
    throw new Refusal(
      400,
      'INVALID_INPUT: comment body must be an Atlassian Document Format document ({ type: "doc", version: 1, content: [...] })',
    );
  }
  value.content.forEach((child: unknown, i) => checkAdfNode(child, `body.content[${i}]`));
}

/** One JQL clause the fake understands. */
type Clause = (ticket: FakeTicket, me: string) => boolean;

function unquote(value: string): string {
  const v = value.trim();
  return /^(".*"|'.*')$/.test(v) ? v.slice(1, -1) : v;
}

/**
 * The subset of JQL the tests use: clauses joined by AND — `project = X`, `status = X`,
 * `status != X`, `status in (A, B)`, `labels = x`, `assignee is EMPTY`, `assignee = id|currentUser()`,
 * `key = X` — and an ORDER BY that is ignored (tickets come in key order). Anything else is
 * refused, as Jira refuses JQL it cannot parse; an empty query is refused as unbounded, as the
 * enhanced search does.
 */
function parseJql(jql: string): Clause[] {
  const query = jql.replace(/\s+order\s+by\s+.*$/i, '').trim();
  if (query === '') {
    throw new Refusal(
      400,
      'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
    );
  }
  return query.split(/\s+and\s+/i).map((raw) => {
    const clause = raw.trim().replace(/^\((.*)\)$/, '$1');
    let m = /^(project|status|labels|key)\s*(=|!=)\s*(.+)$/i.exec(clause);
    if (m) {
      const [, field = '', op, value = ''] = m;
      const wanted = unquote(value).toLowerCase();
      const get = (t: FakeTicket): string[] => {
        switch (field.toLowerCase()) {
          case 'project':
            return [t.key.split('-')[0] ?? ''];
          case 'status':
            return [t.status];
          case 'labels':
            return t.labels;
          default:
            return [t.key];
        }
      };
      return (t) => get(t).some((v) => v.toLowerCase() === wanted) === (op === '=');
    }
    m = /^status\s+in\s*\((.+)\)$/i.exec(clause);
    if (m) {
      const values = (m[1] ?? '').split(',').map((v) => unquote(v).toLowerCase());
      return (t) => values.includes(t.status.toLowerCase());
    }
    if (/^assignee\s+is\s+empty$/i.test(clause)) return (t) => t.assignee === null;
    m = /^assignee\s*=\s*(.+)$/i.exec(clause);
    if (m) {
      const value = unquote(m[1] ?? '');
      return (t, me) => t.assignee === (value === 'currentUser()' ? me : value);
    }
    throw new Refusal(400, `Error in the JQL Query: the fake Jira does not understand "${clause}"`);
  });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the server on an ephemeral loopback port. */
export async function startJiraServer(options: JiraServerOptions): Promise<JiraServer> {
  const accounts = options.accounts ?? [{ accountId: 'shepherd-bot', displayName: 'Shepherd' }];
  const me = accounts[0]?.accountId ?? 'shepherd-bot';
  const workflow = options.workflow ?? DEFAULT_WORKFLOW;
  const maxPageSize = options.maxPageSize ?? 100;
  const tickets = new Map<string, FakeTicket>();
  const comments = new Map<string, unknown[]>();
  const requests: RecordedRequest[] = [];
  const expectedAuth = `Basic ${Buffer.from(`${options.email}:${options.apiToken}`).toString('base64')}`;
  let url = '';
  let nextCommentId = 10_000;

  const statusOf = (name: string) => ({
    self: `${url}/rest/api/3/status/${encodeURIComponent(name)}`,
    id: String(Object.keys(workflow).indexOf(name) + 1),
    name,
    statusCategory: {
      id: 2,
      key: name === 'Done' ? 'done' : name === 'To Do' ? 'new' : 'indeterminate',
      name,
    },
  });
  const user = (accountId: string) => ({
    self: `${url}/rest/api/3/user?accountId=${accountId}`,
    accountId,
    accountType: 'atlassian',
    displayName: accounts.find((a) => a.accountId === accountId)?.displayName ?? accountId,
    active: true,
  });
  const issueJson = (ticket: FakeTicket, fields: string[] | undefined) => {
    const all: Record<string, unknown> = {
      summary: ticket.summary,
      description: ticket.description ?? null,
      status: statusOf(ticket.status),
      assignee: ticket.assignee ? user(ticket.assignee) : null,
      labels: ticket.labels,
    };
    const chosen =
      fields && !fields.includes('*all') && !fields.includes('*navigable')
        ? Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k)))
        : all;
    return {
      expand: '',
      id: ticket.id,
      self: `${url}/rest/api/3/issue/${ticket.id}`,
      key: ticket.key,
      fields: chosen,
    };
  };
  const requireTicket = (key: string): FakeTicket => {
    const ticket = tickets.get(key.toUpperCase());
    if (!ticket) throw new Refusal(404, 'Issue does not exist or you do not have permission to see it.');
    return ticket;
  };
  const fieldsParam = (query: URLSearchParams): string[] | undefined => {
    const values = query.getAll('fields').flatMap((v) => v.split(','));
    return values.length > 0 ? values : undefined;
  };

  /** Routes one request; returns the status and the JSON body (undefined for 204). */
  const route = (method: string, path: string, query: URLSearchParams, body: unknown): [number, unknown] => {
    const withBody = (allowed: string[], where: string): Record<string, unknown> => {
      if (!isObject(body)) throw new Refusal(400, `${where} must be a JSON object`);
      onlyKeys(body, allowed, where);
      return body;
    };
    const methods = (allowed: string[]) => {
      if (!allowed.includes(method)) throw new Refusal(405, `${method} is not allowed on ${path}`);
    };

    if (path === '/rest/api/3/myself') {
      methods(['GET']);
      return [200, { ...user(me), emailAddress: options.email, timeZone: 'UTC', locale: 'en_US' }];
    }
    if (path === '/rest/api/3/search/jql') {
      // jira.js has both forms; Shepherd posts, so the body's rules are the ones checked.
      methods(['POST']);
      const request = withBody(
        [
          'expand',
          'fields',
          'fieldsByKeys',
          'jql',
          'maxResults',
          'nextPageToken',
          'properties',
          'reconcileIssues',
        ],
        'the search request',
      );
      if (typeof request.jql !== 'string') throw new Refusal(400, 'jql must be a string');
      if (
        request.maxResults !== undefined &&
        (!Number.isInteger(request.maxResults) || (request.maxResults as number) < 1)
      ) {
        throw new Refusal(400, 'maxResults must be a positive integer');
      }
      if (
        request.fields !== undefined &&
        (!Array.isArray(request.fields) || request.fields.some((f) => typeof f !== 'string'))
      ) {
        throw new Refusal(400, 'fields must be an array of field names');
      }
      if (request.nextPageToken !== undefined && typeof request.nextPageToken !== 'string') {
        throw new Refusal(400, 'nextPageToken must be a string');
      }
      const clauses = parseJql(request.jql);
      const offset = request.nextPageToken
        ? Number(Buffer.from(request.nextPageToken, 'base64url').toString())
        : 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new Refusal(400, 'The provided next page token is invalid or expired.');
      const size = Math.min((request.maxResults as number | undefined) ?? 50, maxPageSize);
      const found = [...tickets.values()]
        .filter((t) => clauses.every((c) => c(t, me)))
        .sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
      const page = found.slice(offset, offset + size);
      const more = offset + size < found.length;
      const result = {
        issues: page.map((t) => issueJson(t, request.fields as string[] | undefined)),
        isLast: !more,
        ...(more ? { nextPageToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
      };
      return [200, result];
    }
    const issue = /^\/rest\/api\/3\/issue\/([^/]+)(\/transitions|\/assignee|\/comment)?$/.exec(path);
    if (!issue) throw new Refusal(404, `No Jira endpoint ${path} (the fake serves only what Shepherd calls)`);
    const key = decodeURIComponent(issue[1] ?? '');
    switch (issue[2]) {
      case undefined: {
        methods(['GET']);
        return [200, issueJson(requireTicket(key), fieldsParam(query))];
      }
      case '/transitions': {
        methods(['GET', 'POST']);
        const ticket = requireTicket(key);
        const offered = workflow[ticket.status] ?? [];
        if (method === 'GET') {
          return [
            200,
            {
              expand: 'transitions',
              transitions: offered.map((t) => ({
                id: t.id,
                name: t.name,
                to: statusOf(t.to),
                hasScreen: false,
                isGlobal: false,
                isInitial: false,
                isAvailable: true,
                isConditional: false,
                isLooped: false,
              })),
            },
          ];
        }
        const request = withBody(
          ['fields', 'historyMetadata', 'properties', 'transition', 'update'],
          'the transition request',
        );
        if (!isObject(request.transition) || typeof request.transition.id !== 'string') {
          throw new Refusal(400, 'transition.id is required', {
            errorMessages: [],
            errors: { transition: 'Transition id is required.' },
          });
        }
        const chosen = offered.find((t) => t.id === (request.transition as { id: string }).id);
        if (!chosen) {
          throw new Refusal(400, `Transition id '${request.transition.id}' is not valid for this issue.`);
        }
        ticket.status = chosen.to;
        return [204, undefined];
      }
      case '/assignee': {
        methods(['PUT']);
        const ticket = requireTicket(key);
        const request = withBody(
          [
            'accountId',
            'accountType',
            'active',
            'applicationRoles',
            'avatarUrls',
            'displayName',
            'emailAddress',
            'expand',
            'groups',
            'guest',
            'locale',
            'self',
            'timeZone',
          ],
          'the assignee request',
        );
        if (
          !('accountId' in request) ||
          (request.accountId !== null && typeof request.accountId !== 'string')
        ) {
          throw new Refusal(400, 'accountId is required', {
            errorMessages: [],
            errors: { accountId: 'accountId is required' },
          });
        }
        if (request.accountId !== null && !accounts.some((a) => a.accountId === request.accountId)) {
          throw new Refusal(400, 'user cannot be assigned', {
            errorMessages: [],
            errors: { assignee: `User '${String(request.accountId)}' cannot be assigned issues.` },
          });
        }
        ticket.assignee = request.accountId;
        return [204, undefined];
      }
      default: {
        methods(['POST']);
        const ticket = requireTicket(key);
        const request = withBody(['body', 'visibility', 'properties'], 'the comment request');
        if (request.body === undefined) throw new Refusal(400, 'Comment body can not be empty!');
        checkAdfDocument(request.body);
        const list = comments.get(ticket.key) ?? [];
        list.push(request.body);
        comments.set(ticket.key, list);
        const id = String(nextCommentId++);
        const now = new Date().toISOString();
        return [
          201,
          {
            self: `${url}/rest/api/3/issue/${ticket.id}/comment/${id}`,
            id,
            author: user(me),
            body: request.body,
            updateAuthor: user(me),
            created: now,
            updated: now,
            jsdPublic: true,
          },
        ];
      }
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const parsed = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const record: RecordedRequest = {
      method,
      path: parsed.pathname,
      query: parsed.searchParams,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    let status: number;
    let payload: unknown;
    try {
      const text = await readBody(request);
      if (request.headers.authorization !== expectedAuth) {
        throw new Refusal(401, 'Client must be authenticated to access this resource.');
      }
      if (text !== '') {
        if (!(request.headers['content-type'] ?? '').includes('application/json')) {
          throw new Refusal(415, 'Unsupported Media Type: send the body as application/json');
        }
        try {
          record.body = JSON.parse(text);
        } catch {
          throw new Refusal(400, 'The request body is not JSON');
        }
      } else if (method === 'POST' || method === 'PUT') {
        throw new Refusal(400, `${method} ${parsed.pathname} needs a JSON body`);
      }
      [status, payload] = route(method, parsed.pathname, parsed.searchParams, record.body);
      if (parsed.pathname === '/rest/api/3/search/jql') afterSearch?.();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      status = error.status;
      payload = error.body;
      record.refusal = error.message;
    }
    record.status = status;
    if (payload === undefined) {
      response.writeHead(status).end();
    } else {
      response
        .writeHead(status, { 'content-type': 'application/json;charset=UTF-8' })
        .end(JSON.stringify(payload));
    }
  };

  let afterSearch: (() => void) | undefined;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  let nextId = 10_001;

  return {
    url,
    site: `127.0.0.1:${port}`,
    requests,
    refusals: () => requests.filter((r) => r.refusal !== undefined),
    calls: (method, path) =>
      requests.filter(
        (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
      ),
    addTicket(partial) {
      const ticket: FakeTicket = {
        id: String(nextId++),
        summary: `Ticket ${partial.key}`,
        status: 'To Do',
        assignee: null,
        labels: [],
        ...partial,
        key: partial.key.toUpperCase(),
      };
      tickets.set(ticket.key, ticket);
      return ticket;
    },
    ticket: (key) => requireTicket(key),
    comments: (key) => comments.get(key.toUpperCase()) ?? [],
    get afterSearch() {
      return afterSearch;
    },
    set afterSearch(hook) {
      afterSearch = hook;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
