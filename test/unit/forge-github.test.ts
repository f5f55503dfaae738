/**
 * The GitHub adapter against a loopback server that allows only what GitHub's published OpenAPI
 * description allows (test/support/openapi-server.ts): every call it makes must be an operation of
 * the description with valid parameters and body, and the answers it reads are shaped as the
 * description says GitHub's are. The server's handlers hold the repository's state; each test
 * asserts the server refused nothing.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ForgeRefusedError, ForgeUnavailableError, type Forge } from '../../src/forges/forge.js';
import type { ForgeCredentials } from '../../src/forges/forge-credentials.js';
import { createForge } from '../../src/forges/forge-registry.js';
import {
  type ApiRequest,
  type ApiResponse,
  type OpenApiServer,
  type OperationHandler,
  startOpenApiServer,
} from '../support/openapi-server.js';

const TOKEN = 'ghp_TestTokenThatMustNeverShowUp0123456789';
const REPO = { owner: 'acme', name: 'app' };
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

/** A pull request the test's GitHub holds. */
interface StoredPull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
  labels: string[];
}

/** A repository's state and the handlers that serve it, shaped from the description's examples. */
function fakeRepository(server: () => OpenApiServer) {
  const pulls: StoredPull[] = [];
  const branches = new Map<string, string>([['main', SHA]]);
  const comments: { issue: number; body: string }[] = [];
  const label = (name: string, i: number) => ({
    id: i + 1,
    node_id: `LA_${i}`,
    url: `https://api.github.com/repos/acme/app/labels/${encodeURIComponent(name)}`,
    name,
    description: 'Added by Shepherd',
    color: 'ededed',
    default: false,
  });
  /** A pull request as GitHub answers it: the description's example with the stored values. */
  const asPull = (operationId: string, status: number, pull: StoredPull, listed = false) => {
    const example = server().example(operationId, status);
    const pr = (listed ? (example as unknown as Record<string, unknown>[])[0] : example) as Record<
      string,
      unknown
    >;
    const head = pr.head as Record<string, unknown>;
    const base = pr.base as Record<string, unknown>;
    return {
      ...pr,
      number: pull.number,
      html_url: `https://github.com/acme/app/pull/${pull.number}`,
      title: pull.title,
      body: pull.body,
      draft: pull.draft,
      state: pull.state,
      labels: pull.labels.map(label),
      // The description's example lists a team without the `type` its schema requires; this
      // repository has no team reviewers.
      requested_teams: [],
      head: { ...head, ref: pull.head, label: `acme:${pull.head}` },
      base: { ...base, ref: pull.base, label: `acme:${pull.base}` },
    };
  };
  const repoIs = (request: ApiRequest) =>
    request.params.owner === REPO.owner && request.params.repo === REPO.name;
  const notFound: ApiResponse = {
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
  };
  const handlers: Record<string, OperationHandler> = {
    'repos/get': (request) => {
      if (!repoIs(request)) return notFound;
      // The description's example is a fork whose source and parent lack the (nullable) `language`
      // their schema requires; this repository is no fork.
      const { source: _source, parent: _parent, ...example } = server().example('repos/get');
      return { status: 200, body: { ...example, fork: false, language: null } };
    },
    'repos/get-branch': (request) => {
      const sha = repoIs(request) ? branches.get(request.params.branch ?? '') : undefined;
      if (!sha)
        return {
          status: 404,
          body: { message: 'Branch not found', documentation_url: 'https://docs.github.com/rest' },
        };
      const example = server().example('repos/get-branch');
      const commit = example.commit as Record<string, unknown>;
      return { status: 200, body: { ...example, name: request.params.branch, commit: { ...commit, sha } } };
    },
    'pulls/list': (request) => {
      const { state = 'open', head, base } = request.query as Record<string, string | undefined>;
      const found = pulls.filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (head === undefined || `acme:${p.head}` === head) &&
          (base === undefined || p.base === base),
      );
      return { status: 200, body: found.map((p) => asPull('pulls/list', 200, p, true)) };
    },
    'pulls/create': (request) => {
      const body = request.body as {
        head: string;
        base: string;
        title: string;
        body?: string;
        draft?: boolean;
      };
      if (pulls.some((p) => p.state === 'open' && p.head === body.head && p.base === body.base)) {
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'PullRequest',
                code: 'custom',
                message: `A pull request already exists for acme:${body.head}.`,
              },
            ],
            documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
          },
        };
      }
      const pull: StoredPull = {
        number: 100 + pulls.length,
        head: body.head,
        base: body.base,
        title: body.title,
        body: body.body ?? '',
        draft: body.draft ?? false,
        state: 'open',
        labels: [],
      };
      pulls.push(pull);
      return { status: 201, body: asPull('pulls/create', 201, pull) };
    },
    'pulls/update': (request) => {
      const pull = pulls.find((p) => p.number === Number(request.params.pull_number));
      if (!pull) return notFound;
      const body = request.body as { title?: string; body?: string };
      if (body.title !== undefined) pull.title = body.title;
      if (body.body !== undefined) pull.body = body.body;
      return { status: 200, body: asPull('pulls/update', 200, pull) };
    },
    'issues/add-labels': (request) => {
      const pull = pulls.find((p) => p.number === Number(request.params.issue_number));
      if (!pull) return notFound;
      const { labels } = request.body as { labels: string[] };
      pull.labels = [...new Set([...pull.labels, ...labels])];
      return { status: 200, body: pull.labels.map(label) };
    },
    'issues/create-comment': (request) => {
      const issue = Number(request.params.issue_number);
      comments.push({ issue, body: (request.body as { body: string }).body });
      const example = server().example('issues/create-comment', 201);
      return {
        status: 201,
        body: {
          ...example,
          html_url: `https://github.com/acme/app/issues/${issue}#issuecomment-${comments.length}`,
        },
      };
    },
  };
  return { pulls, branches, comments, handlers };
}

function calls(server: OpenApiServer): string[] {
  return server.requests.map((r) => `${r.method.toUpperCase()} ${r.operationId ?? r.path}`);
}

function githubForge(
  server: OpenApiServer,
  credentials: ForgeCredentials = { token: TOKEN },
  extra = {},
): Forge {
  return createForge({
    type: 'github',
    url: 'https://github.com',
    apiUrl: server.url,
    credentials,
    credentialsSource: 'Secret default/github',
    ...extra,
  });
}

const tokenOnly = (request: ApiRequest) =>
  request.headers.authorization === `token ${TOKEN}` ? undefined : 'Bad credentials';

describe('the OpenAPI server', () => {
  let server: OpenApiServer;
  before(async () => {
    server = await startOpenApiServer({ handlers: {}, authenticate: () => undefined });
  });
  after(() => server.close());

  it('refuses what GitHub’s description does not allow, with the reason', async () => {
    const send = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const refused = [
      [await send('GET', '/repos/acme/app/no-such-thing'), 404],
      [await send('DELETE', '/repos/acme/app/pulls'), 405],
      [await send('GET', '/repos/acme/app/pulls?state=bogus'), 400],
      [await send('GET', '/repos/acme/app/pulls?labels=x'), 400],
      [await send('POST', '/repos/acme/app/pulls', { title: 7, head: 'x', base: 'main' }), 400],
      [
        await send('POST', '/repos/acme/app/pulls', { head: 'x', base: 'main', title: 't', label: ['x'] }),
        400,
      ],
      [await send('POST', '/repos/acme/app/issues/1/comments', {}), 400],
    ] as const;
    for (const [response, status] of refused) {
      assert.equal(response.status, status, await response.text());
    }
    assert.equal(server.refusals.length, refused.length);
    assert.match(server.refusals[2]?.reason ?? '', /query\/state must be equal to one of the allowed values/);
    assert.match(server.refusals[4]?.reason ?? '', /requestBody\/title must be string/);
    assert.match(server.refusals[5]?.reason ?? '', /undeclared label/);
    assert.match(server.refusals[6]?.reason ?? '', /requestBody must have required property 'body'/);
  });

  it('lets through what it allows, to the handler (501 without one)', async () => {
    const response = await fetch(`${server.url}/repos/acme/app/pulls?state=open&head=acme:x`, {
      headers: { authorization: `token ${TOKEN}` },
    });
    assert.equal(response.status, 501);
  });
});

describe('the GitHub adapter with a token', () => {
  let server: OpenApiServer;
  let repo: ReturnType<typeof fakeRepository>;
  let forge: Forge;
  before(async () => {
    repo = fakeRepository(() => server);
    server = await startOpenApiServer({ handlers: repo.handlers, authenticate: tokenOnly });
    forge = githubForge(server);
  });
  after(() => server.close());
  const noRefusals = () => assert.deepEqual(server.refusals, []);

  it('reads the commit at a branch’s tip, a branch name with slashes included', async () => {
    repo.branches.set('shepherd/fix-1', SHA);
    assert.equal(await forge.branchCommit(REPO, 'shepherd/fix-1'), SHA);
    noRefusals();
  });

  it('says undefined for a branch that is not there, and refuses for a repository that is not', async () => {
    assert.equal(await forge.branchCommit(REPO, 'shepherd/never-pushed'), undefined);
    await assert.rejects(forge.branchCommit({ owner: 'acme', name: 'gone' }, 'main'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError);
      assert.equal(error.name, 'ForgeRefusedError');
      assert.match(
        error.message,
        /acme\/gone does not exist on GitHub https:\/\/github.com, or the token of Secret default\/github cannot see it/,
      );
      return true;
    });
    noRefusals();
  });

  it('reads the repository’s default branch', async () => {
    assert.equal(await forge.defaultBranch(REPO), server.example('repos/get').default_branch);
    await assert.rejects(forge.defaultBranch({ owner: 'acme', name: 'gone' }), { name: 'ForgeRefusedError' });
    noRefusals();
  });

  it('opens a pull request once, then updates the open one instead of opening a second', async () => {
    const request = {
      repo: REPO,
      head: 'shepherd/s1',
      base: 'main',
      title: 'Fix it',
      body: 'first',
      labels: ['shepherd'],
    };
    const start = server.requests.length;
    const first = await forge.ensurePullRequest(request);
    assert.equal(first.created, true);
    assert.equal(first.url, `https://github.com/acme/app/pull/${first.number}`);
    const second = await forge.ensurePullRequest({
      ...request,
      title: 'Fix it better',
      body: 'second',
      labels: ['shepherd', 'bot'],
    });
    assert.deepEqual(
      { number: second.number, created: second.created },
      { number: first.number, created: false },
    );
    assert.deepEqual(calls(server).slice(start), [
      'GET pulls/list',
      'POST pulls/create',
      'POST issues/add-labels',
      'GET pulls/list',
      'PATCH pulls/update',
      'POST issues/add-labels',
    ]);
    const open = repo.pulls.filter((p) => p.head === 'shepherd/s1');
    assert.equal(open.length, 1);
    assert.deepEqual(
      { title: open[0]?.title, body: open[0]?.body, labels: open[0]?.labels },
      { title: 'Fix it better', body: 'second', labels: ['shepherd', 'bot'] },
    );
    const list = server.requests[start];
    assert.deepEqual(list?.query, { state: 'open', head: 'acme:shepherd/s1', base: 'main', per_page: '10' });
    noRefusals();
  });

  it('changes nothing when the open pull request already says it all', async () => {
    const request = { repo: REPO, head: 'shepherd/s2', base: 'main', title: 'T', body: 'B', labels: ['x'] };
    await forge.ensurePullRequest(request);
    const start = server.requests.length;
    assert.equal((await forge.ensurePullRequest(request)).created, false);
    assert.deepEqual(calls(server).slice(start), ['GET pulls/list']);
    noRefusals();
  });

  it('opens a new one when the earlier pull request for the branch was closed', async () => {
    const request = { repo: REPO, head: 'shepherd/s3', base: 'main', title: 'T', body: 'B' };
    const first = await forge.ensurePullRequest(request);
    const stored = repo.pulls.find((p) => p.number === first.number);
    assert.ok(stored);
    stored.state = 'closed';
    const second = await forge.ensurePullRequest(request);
    assert.equal(second.created, true);
    assert.notEqual(second.number, first.number);
    noRefusals();
  });

  it('opens a draft when asked', async () => {
    const start = server.requests.length;
    await forge.ensurePullRequest({
      repo: REPO,
      head: 'shepherd/d',
      base: 'main',
      title: 'WIP',
      body: '',
      draft: true,
    });
    const create = server.requests.slice(start).find((r) => r.operationId === 'pulls/create');
    assert.deepEqual(create?.body, { head: 'shepherd/d', base: 'main', title: 'WIP', body: '', draft: true });
    assert.equal(repo.pulls.find((p) => p.head === 'shepherd/d')?.draft, true);
    noRefusals();
  });

  it('meets a pull request another attempt opened in between and updates it', async () => {
    // The list answers before the other attempt opened it; the create then meets GitHub's 422.
    const request = { repo: REPO, head: 'shepherd/race', base: 'main', title: 'Mine', body: 'mine' };
    const list = repo.handlers['pulls/list'];
    assert.ok(list);
    let first = true;
    repo.handlers['pulls/list'] = async (r) => {
      if (!first) return list(r);
      first = false;
      const answer = await list(r);
      repo.pulls.push({
        number: 999,
        head: 'shepherd/race',
        base: 'main',
        title: 'Theirs',
        body: '',
        draft: false,
        state: 'open',
        labels: [],
      });
      return answer;
    };
    try {
      const result = await forge.ensurePullRequest(request);
      assert.deepEqual({ number: result.number, created: result.created }, { number: 999, created: false });
      assert.equal(repo.pulls.find((p) => p.number === 999)?.title, 'Mine');
      assert.equal(repo.pulls.filter((p) => p.head === 'shepherd/race').length, 1);
    } finally {
      repo.handlers['pulls/list'] = list;
    }
    noRefusals();
  });

  it('comments on an issue and returns the comment’s page', async () => {
    const { url } = await forge.comment(REPO, 7, 'Working on it');
    assert.match(url, /^https:\/\/github\.com\/acme\/app\/issues\/7#issuecomment-\d+$/);
    assert.deepEqual(repo.comments.at(-1), { issue: 7, body: 'Working on it' });
    noRefusals();
  });

  it('sends the token as GitHub expects it, and nothing unauthenticated', () => {
    assert.ok(server.requests.length > 0);
    for (const request of server.requests) assert.equal(request.headers.authorization, `token ${TOKEN}`);
  });
});

describe('the GitHub adapter’s errors', () => {
  let server: OpenApiServer;
  let answer: ApiResponse | (() => Promise<ApiResponse>);
  before(async () => {
    server = await startOpenApiServer({
      handlers: {
        'issues/create-comment': () => (typeof answer === 'function' ? answer() : answer),
      },
      authenticate: tokenOnly,
    });
  });
  after(() => server.close());
  const comment = (forge = githubForge(server)) => forge.comment(REPO, 1, 'hi');

  const expectError = async (
    promise: Promise<unknown>,
    type: typeof ForgeRefusedError | typeof ForgeUnavailableError,
    pattern: RegExp,
  ): Promise<Error> => {
    let caught: unknown;
    await promise.catch((error: unknown) => (caught = error));
    assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
    assert.equal(caught.name, type.name);
    assert.match(caught.message, pattern);
    assert.ok(!caught.message.includes(TOKEN), caught.message);
    assert.equal(caught.cause, undefined, 'no client error rides along into Temporal history');
    return caught;
  };

  it('a 502 is unavailable (retried)', async () => {
    answer = { status: 502, body: { message: 'Server Error' } };
    await expectError(
      comment(),
      ForgeUnavailableError,
      /GitHub https:\/\/github.com: commenting on #1 in acme\/app failed with HTTP 502: Server Error; the forge is unavailable; it is retried/,
    );
  });

  it('a 422 is refused with GitHub’s reason, and a token it quotes back is not repeated', async () => {
    answer = {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          { resource: 'IssueComment', code: 'custom', message: `body echoes token ${TOKEN} and ${TOKEN}` },
        ],
      },
    };
    const error = await expectError(
      comment(),
      ForgeRefusedError,
      /failed with HTTP 422: Validation Failed; body echoes token \[redacted\]/,
    );
    assert.equal((error as ForgeRefusedError).status, 422);
  });

  it('a 403 names the permission the token lacks', async () => {
    answer = { status: 403, body: { message: 'Resource not accessible by integration' } };
    await expectError(
      comment(),
      ForgeRefusedError,
      /the token of Secret default\/github lacks the issues:write \(pull_requests:write on a pull request\) permission on acme\/app/,
    );
  });

  it('a 403 of the primary rate limit is unavailable, to retry after its reset', async () => {
    const now = 1_700_000_000_000;
    answer = {
      status: 403,
      body: { message: 'API rate limit exceeded for installation ID 1.' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 120) },
    };
    const error = await expectError(
      comment(githubForge(server, { token: TOKEN }, { now: () => now })),
      ForgeUnavailableError,
      /rate limited \(the forge asks to wait 120 s\)/,
    );
    assert.equal((error as ForgeUnavailableError).retryAfterSeconds, 120);
  });

  it('a secondary rate limit (403 with retry-after, or 429) is unavailable with its wait', async () => {
    answer = {
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit.' },
      headers: { 'retry-after': '30' },
    };
    const error = await expectError(comment(), ForgeUnavailableError, /rate limited/);
    assert.equal((error as ForgeUnavailableError).retryAfterSeconds, 30);
    answer = { status: 429, body: { message: 'Too many requests' } };
    await expectError(comment(), ForgeUnavailableError, /rate limited/);
  });

  it('a 401 is refused: the token must be replaced', async () => {
    const forge = githubForge(server, { token: 'ghp_WrongTokenWrongTokenWrongToken0000' });
    await expectError(
      comment(forge),
      ForgeRefusedError,
      /HTTP 401: Bad credentials; the token of Secret default\/github is not accepted/,
    );
  });

  it('no answer in time is unavailable, and says how long it waited', async () => {
    answer = () => new Promise((resolve) => setTimeout(() => resolve({ status: 502 }), 2000));
    await expectError(
      comment(githubForge(server, { token: TOKEN }, { timeoutMs: 200 })),
      ForgeUnavailableError,
      /got no answer \(no answer within 0.2 s\); it is retried/,
    );
  });

  it('a forge that is not there is unavailable', async () => {
    const closed = await startOpenApiServer({ handlers: {} });
    await closed.close();
    await expectError(
      comment(githubForge(closed)),
      ForgeUnavailableError,
      /got no answer \(.*ECONNREFUSED.*\)/,
    );
  });

  it('the caller’s signal stops a call in flight', async () => {
    answer = () => new Promise((resolve) => setTimeout(() => resolve({ status: 502 }), 2000));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expectError(
      comment(githubForge(server, { token: TOKEN }, { signal: controller.signal })),
      ForgeUnavailableError,
      /the call was cancelled/,
    );
  });
});

/** Whether `authorization` carries a JWT of `appId` signed with the key of `publicKey`; a reason if not. */
function checkAppJwt(
  authorization: string | undefined,
  publicKey: KeyObject,
  appId: number,
): string | undefined {
  const jwt = /^bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  if (!jwt) return 'A JSON web token could not be decoded';
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return 'A JSON web token could not be decoded';
  const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string };
  if (alg !== 'RS256') return `'alg' must be RS256, not ${alg}`;
  if (
    !verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))
  ) {
    return 'A JSON web token could not be decoded';
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    iss?: unknown;
    exp?: number;
    iat?: number;
  };
  if (String(claims.iss) !== String(appId)) return `'Issuer' claim ('iss') must be ${appId}`;
  const now = Date.now() / 1000;
  if (!claims.exp || claims.exp < now || claims.exp - (claims.iat ?? 0) > 600)
    return "'Expiration time' claim ('exp') is invalid";
  return undefined;
}

describe('the GitHub adapter as a GitHub App', () => {
  const APP_ID = 4242;
  const INSTALLATION = 77;
  const INSTALLATION_TOKEN = 'ghs_InstallationTokenMintedByTheServer0001';
  // GitHub hands out App keys in PKCS#1 PEM.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  let server: OpenApiServer;
  let repo: ReturnType<typeof fakeRepository>;
  const minted: number[] = [];

  before(async () => {
    repo = fakeRepository(() => server);
    const verifyKey = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startOpenApiServer({
      handlers: {
        ...repo.handlers,
        'apps/get-repo-installation': (request) => {
          if (request.params.repo !== REPO.name) return { status: 404, body: { message: 'Not Found' } };
          return { status: 200, body: { ...server.example('apps/get-repo-installation'), id: INSTALLATION } };
        },
        'apps/create-installation-access-token': (request) => {
          const id = Number(request.params.installation_id);
          if (id !== INSTALLATION) return { status: 404, body: { message: 'Not Found' } };
          minted.push(id);
          const example = server.example('apps/create-installation-access-token', 201);
          const expires = new Date(Date.now() + 3600_000).toISOString();
          return { status: 201, body: { ...example, token: INSTALLATION_TOKEN, expires_at: expires } };
        },
      },
      // As GitHub: the App's own routes take only its JWT; everything else only the installation token.
      authenticate: (request) => {
        const appRoute =
          request.path.startsWith('/app/') || request.operationId === 'apps/get-repo-installation';
        if (appRoute) return checkAppJwt(request.headers.authorization, verifyKey, APP_ID);
        return request.headers.authorization === `token ${INSTALLATION_TOKEN}`
          ? undefined
          : 'Bad credentials';
      },
    });
  });
  after(() => server.close());

  it('finds the installation from the repository, mints its token once and uses it', async () => {
    const forge = githubForge(server, { appId: APP_ID, privateKey: pem });
    const start = server.requests.length;
    assert.equal(await forge.branchCommit(REPO, 'main'), SHA);
    const { url } = await forge.comment(REPO, 3, 'from the App');
    assert.match(url, /issues\/3#issuecomment-/);
    assert.deepEqual(calls(server).slice(start), [
      'GET apps/get-repo-installation',
      'POST apps/create-installation-access-token',
      'GET repos/get-branch',
      'POST issues/create-comment',
    ]);
    assert.deepEqual(server.refusals, []);
  });

  it('uses the installation the Secret names without looking it up', async () => {
    const forge = githubForge(server, { appId: APP_ID, privateKey: pem, installationId: INSTALLATION });
    const start = server.requests.length;
    await forge.ensurePullRequest({ repo: REPO, head: 'shepherd/app', base: 'main', title: 'T', body: 'B' });
    assert.deepEqual(calls(server).slice(start), [
      'POST apps/create-installation-access-token',
      'GET pulls/list',
      'POST pulls/create',
    ]);
    assert.deepEqual(server.refusals, []);
  });

  it('says the App is not installed on a repository it cannot find an installation for', async () => {
    const forge = githubForge(server, { appId: APP_ID, privateKey: pem });
    await assert.rejects(forge.branchCommit({ owner: 'acme', name: 'elsewhere' }, 'main'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError);
      assert.match(
        error.message,
        /the GitHub App 4242 \(the GitHub App of Secret default\/github\) is not installed on acme\/elsewhere: install it/,
      );
      return true;
    });
  });

  it('is refused with another App’s key: GitHub checks the JWT’s signature', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const forge = githubForge(server, { appId: APP_ID, privateKey: other });
    await assert.rejects(forge.branchCommit(REPO, 'main'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError, String(error));
      assert.match(
        error.message,
        /HTTP 401: A JSON web token could not be decoded; the GitHub App of Secret default\/github is not accepted/,
      );
      assert.ok(!error.message.includes('PRIVATE KEY'));
      return true;
    });
  });
});

describe('the GitHub adapter on GitHub Enterprise Server', () => {
  it('calls <url>/api/v3', async () => {
    const repo = fakeRepository(() => server);
    const server: OpenApiServer = await startOpenApiServer({
      handlers: repo.handlers,
      authenticate: tokenOnly,
      apiRoot: '/api/v3',
    });
    try {
      const forge = createForge({ type: 'github', url: server.origin, credentials: { token: TOKEN } });
      assert.equal(await forge.branchCommit(REPO, 'main'), SHA);
      assert.equal(server.requests[0]?.path, '/repos/acme/app/branches/main');
      assert.deepEqual(server.refusals, []);
    } finally {
      await server.close();
    }
  });
});
