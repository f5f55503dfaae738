/**
 * A loopback HTTP server that speaks GitHub's REST API as GitHub's own published OpenAPI
 * description (api.github.com, from @octokit/openapi) defines it, so the GitHub adapter is tested
 * against the contract rather than against what its author believed. Every request is routed and
 * validated by openapi-backend against the description: an unknown path or method, a missing or
 * ill-typed parameter, an undeclared query parameter, or a body that does not match the operation's
 * requestBody schema is refused (404/405/400 with the reason) and recorded in `refusals`, which a
 * test asserts empty. One check goes beyond the description: a JSON body with a property its
 * schema does not name is refused too, because GitHub silently ignores such a property — a
 * misspelt `labels` would pass on GitHub and do nothing.
 *
 * Handlers, per operationId, are the test's: they hold the state (existing pull requests, …) and
 * answer. Their answers are checked against the operation's response schema, so a test cannot make
 * the adapter read a field GitHub does not send; `example()` starts from the description's own
 * example response. The description is 13 MB: it is parsed once per process and validators are
 * compiled only for the operations a test calls.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';

/** A request as the handlers and the test see it. */
export interface ApiRequest {
  method: string;
  path: string;
  operationId?: string;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A handler's answer. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Answers one operation. */
export type OperationHandler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** A request the server refused, and why. */
export interface Refusal {
  method: string;
  path: string;
  status: number;
  reason: string;
}

export interface OpenApiServerOptions {
  /** Per operationId, e.g. `pulls/create`. An operation without a handler answers 501. */
  handlers: Record<string, OperationHandler>;
  /**
   * Checks the request's credentials: undefined accepts it, a reason refuses it with 401 (as
   * GitHub does, before looking at anything else). Default: every request needs an authorization
   * header.
   */
  authenticate?: (request: ApiRequest) => string | undefined;
  /** Where the API lives on the server, e.g. `/api/v3` as on GitHub Enterprise Server. @default / */
  apiRoot?: string;
}

export interface OpenApiServer {
  /** The API's base URL (with apiRoot). */
  url: string;
  /** The server's own base URL, without apiRoot. */
  origin: string;
  /** Every request that reached a handler or an authentication refusal, in order. */
  requests: ApiRequest[];
  /** Requests the description does not allow, and handler answers it does not allow. */
  refusals: Refusal[];
  /** The description's example response of `operationId` for `status`, to change and return. */
  example(operationId: string, status?: number): Record<string, unknown>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

// ajv-formats is CommonJS with its function as the default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The description's formats that neither openapi-backend nor ajv-formats knows. */
const GITHUB_FORMATS: Record<string, RegExp | true> = {
  'repo.nwo': /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$|^[A-Za-z0-9_.-]+$/,
  'uri-template': true,
  timestamp: true,
  int64: true,
};

/**
 * The description with `nullable` without `type` (135 schemas, e.g. a nullable `allOf`) said the
 * way Ajv takes it, which refuses to compile the first form: the schema or null.
 */
function nullableForAjv(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nullableForAjv);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, nullableForAjv(v)] as const);
  const schema = Object.fromEntries(entries) as Record<string, unknown>;
  if (schema.nullable !== true || 'type' in schema) return schema;
  const { nullable: _, ...rest } = schema;
  return { anyOf: [rest, { type: 'null' }] };
}

let backend: Promise<OpenAPIBackend> | undefined;

/** The one openapi-backend over GitHub's description in this process. */
function githubBackend(): Promise<OpenAPIBackend> {
  backend ??= (async () => {
    const path = require.resolve('@octokit/openapi/generated/api.github.com.json');
    const definition = nullableForAjv(JSON.parse(readFileSync(path, 'utf8'))) as Document;
    const api = new OpenAPIBackend({
      definition,
      // Quick: dereference synchronously and compile validators on first use, not for all
      // ~1000 operations up front.
      quick: true,
      customizeAjv: (ajv) => {
        addFormats(ajv);
        for (const [name, format] of Object.entries(GITHUB_FORMATS)) ajv.addFormat(name, format);
        return ajv;
      },
    });
    await api.init();
    return api;
  })();
  return backend;
}

function readBody(request: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function queryOf(search: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of search) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

type Schema = {
  type?: string;
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
  oneOf?: unknown;
  anyOf?: unknown;
  allOf?: unknown;
};

/** Properties of a JSON body its (top-level object) schema does not name. */
function undeclaredProperties(operation: Operation, body: unknown): string[] {
  const requestBody = operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined;
  const schema = requestBody?.content?.['application/json']?.schema;
  if (!schema?.properties || schema.additionalProperties !== undefined) return [];
  if (schema.oneOf || schema.anyOf || schema.allOf) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  return Object.keys(body).filter((key) => !(key in (schema.properties ?? {})));
}

/** The media types the operation's requestBody takes. */
function bodyMediaTypes(operation: Operation): string[] {
  const requestBody = operation.requestBody as { content?: Record<string, unknown> } | undefined;
  return Object.keys(requestBody?.content ?? {});
}

/** Starts the server on 127.0.0.1 with a free port. */
export async function startOpenApiServer(options: OpenApiServerOptions): Promise<OpenApiServer> {
  const apiRoot = (options.apiRoot ?? '').replace(/\/+$/, '');
  const api = await githubBackend();
  const requests: ApiRequest[] = [];
  const refusals: Refusal[] = [];
  const authenticate =
    options.authenticate ??
    ((request: ApiRequest) => (request.headers.authorization ? undefined : 'Requires authentication'));

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const refuse = (status: number, method: string, path: string, reason: string) => {
      refusals.push({ method, path, status, reason });
      send(status, { message: `refused by GitHub's OpenAPI description: ${reason}` });
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toLowerCase();
      const raw = await readBody(req);
      if (!url.pathname.startsWith(`${apiRoot}/`)) {
        return refuse(404, method, url.pathname, `${url.pathname} is not under the API root ${apiRoot}`);
      }
      const path = url.pathname.slice(apiRoot.length);
      const contentType =
        String(req.headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim() ?? '';
      let body: unknown;
      if (raw !== '') {
        if (contentType !== 'application/json') {
          return refuse(400, method, path, `body of content-type "${contentType}", not application/json`);
        }
        try {
          body = JSON.parse(raw);
        } catch {
          return refuse(400, method, path, 'body is not JSON');
        }
      }
      const query = queryOf(url.searchParams);
      const headers = Object.fromEntries(
        Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])),
      ) as Record<string, string | string[]>;
      const openApiRequest = { method, path, query, headers, body };
      const operation = api.matchOperation(openApiRequest);
      if (!operation) {
        const other = ['get', 'post', 'put', 'patch', 'delete'].some(
          (m) => m !== method && api.matchOperation({ ...openApiRequest, method: m }),
        );
        return other
          ? refuse(405, method, path, `${method.toUpperCase()} is not an operation of ${path}`)
          : refuse(404, method, path, `no operation ${method.toUpperCase()} ${path}`);
      }
      const parsed = api.router.parseRequest(openApiRequest, operation);
      const params = Object.fromEntries(
        Object.entries((parsed.params ?? {}) as Record<string, string>).map(([k, v]) => [
          k,
          decodeURIComponent(v),
        ]),
      );
      const request: ApiRequest = {
        method,
        path,
        operationId: operation.operationId,
        params,
        query,
        headers: req.headers,
        body,
      };
      const unauthorized = authenticate(request);
      requests.push(request);
      if (unauthorized !== undefined) {
        return send(401, { message: unauthorized, documentation_url: 'https://docs.github.com/rest' });
      }
      if (body !== undefined && !bodyMediaTypes(operation).includes('application/json')) {
        return refuse(400, method, path, `${operation.operationId} takes no JSON body`);
      }
      const validation = api.validateRequest({ ...openApiRequest, params }, operation);
      if (!validation.valid) {
        const why = (validation.errors ?? [])
          .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim())
          .join('; ');
        return refuse(400, method, path, `${operation.operationId}: ${why}`);
      }
      const undeclared = undeclaredProperties(operation, body);
      if (undeclared.length > 0) {
        return refuse(
          400,
          method,
          path,
          `${operation.operationId}: body has undeclared ${undeclared.join(', ')}`,
        );
      }
      const handler = operation.operationId ? options.handlers[operation.operationId] : undefined;
      if (!handler) return send(501, { message: `no handler for ${operation.operationId} in this test` });
      const answer = await handler(request);
      if (answer.status < 300 && answer.body !== undefined) {
        const checked = api.validateResponse(answer.body, operation, answer.status);
        if (!checked.valid) {
          const why = (checked.errors ?? [])
            .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`)
            .join('; ');
          refusals.push({ method, path, status: 500, reason: `the test's ${answer.status} answer: ${why}` });
          return send(500, { message: `the test's answer does not match the description: ${why}` });
        }
      }
      send(answer.status, answer.body, answer.headers);
    })().catch((error: unknown) => {
      refusals.push({ method: req.method ?? '', path: req.url ?? '', status: 500, reason: String(error) });
      if (!res.headersSent) send(500, { message: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${apiRoot}`,
    origin,
    requests,
    refusals,
    example(operationId, status = 200) {
      const operation = api.getOperation(operationId);
      const responses = (operation?.responses ?? {}) as Record<
        string,
        { content?: Record<string, { examples?: Record<string, { value?: unknown }> }> }
      >;
      const examples = responses[String(status)]?.content?.['application/json']?.examples ?? {};
      const value = Object.values(examples)[0]?.value;
      if (typeof value !== 'object' || value === null) {
        throw new Error(`GitHub's description has no ${status} example for ${operationId}`);
      }
      return structuredClone(value) as Record<string, unknown>;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
