/**
 * The forge port on GitHub (github.com and GitHub Enterprise Server), with Octokit: @octokit/rest
 * for the REST calls and their types, @octokit/auth-app for a GitHub App, whose short-lived
 * installation tokens it mints (and renews) from the App's private key — for the installation
 * named in the Secret, or the one found from the repository (GET /repos/{owner}/{repo}/installation).
 *
 * Retries are the activities' (bounded, with Temporal's backoff), never the client's: @octokit/rest
 * carries no retry or throttling plugin (those come with the `octokit` bundle, which is not used),
 * so a call is made once; the one retry left is auth-app's own, bounded to the five seconds after
 * it minted a token (GitHub's token replication delay). Every call ends after a timeout or when
 * the caller's signal aborts.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { Logger } from '../common/logger.js';
import {
  type AppCredentials,
  type ForgeCredentials,
  describeCredentials,
  isAppCredentials,
} from './forge-credentials.js';
import type {
  Forge,
  ForgeRepo,
  PullRequestInfo,
  PullRequestRequest,
  PullRequestResult,
  ReviewComment,
} from './forge.js';
import { ForgeRefusedError } from './forge.js';
import {
  DEFAULT_FORGE_TIMEOUT_MS,
  type ForgeCall,
  boundedFetch,
  forgeAnswerError,
  forgeText,
  forgeUnreachableError,
  unansweredReason,
} from './forge-http.js';

/** How to reach one GitHub. */
export interface GitHubForgeOptions {
  /** The web address, e.g. https://github.com or https://ghe.example.com. */
  url: string;
  /** The REST API's base: https://api.github.com, or `<url>/api/v3` on GitHub Enterprise Server. */
  apiUrl: string;
  credentials: ForgeCredentials;
  /** Where the credentials come from, for messages, e.g. `Secret default/github`. */
  credentialsSource?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per call. @default 30 s */
  timeoutMs?: number;
  /** Aborts every call in flight and every later one, e.g. an activity's cancellation signal. */
  signal?: AbortSignal;
  /** The clock, for turning a rate limit's reset time into a wait. @default Date.now */
  now?: () => number;
  logger?: Logger;
}

/** The parts of an Octokit RequestError this adapter reads (the class is not a direct dependency). */
interface OctokitError {
  status: number;
  response?: { headers: Record<string, string | number | undefined>; data: unknown };
}

function isOctokitError(error: unknown): error is OctokitError {
  return error instanceof Error && typeof (error as Partial<OctokitError>).status === 'number';
}

/** GitHub's error body: `message`, and for a 422 the `errors` that say which field. */
function githubMessage(data: unknown): string | undefined {
  if (typeof data === 'string') return data || undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const details = Array.isArray(errors)
    ? errors.map((e: unknown) => {
        if (typeof e === 'string') return e;
        const { message: m, code, field, resource } = (e ?? {}) as Record<string, unknown>;
        if (typeof m === 'string') return m;
        return [resource, field, code].filter((p) => typeof p === 'string').join(' ');
      })
    : [];
  const parts = [typeof message === 'string' ? message : undefined, ...details].filter((p): p is string =>
    Boolean(p),
  );
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** What this adapter reads of a pull request, listed or created. */
interface Pull {
  number: number;
  html_url: string;
  title: string;
  body: string | null;
  labels: { name: string }[];
}

/** What this adapter reads of a review comment. */
interface GitHubReviewComment {
  id: number;
  in_reply_to_id?: number;
  user: { login: string } | null;
  body: string;
  html_url: string;
  path: string;
  line?: number | null;
  original_line?: number | null;
  diff_hunk: string;
}

/** Review comments are listed up to this many pages of 100: a thread far longer is not read whole. */
const MAX_COMMENT_PAGES = 10;

function reviewComment(c: GitHubReviewComment): ReviewComment {
  const line = c.line ?? c.original_line ?? undefined;
  return {
    id: c.id,
    ...(c.user?.login ? { author: c.user.login } : {}),
    body: c.body,
    url: c.html_url,
    path: c.path,
    ...(line != null ? { line } : {}),
    ...(c.diff_hunk ? { diffHunk: c.diff_hunk } : {}),
  };
}

function header(error: OctokitError, name: string): string | undefined {
  const value = error.response?.headers[name];
  return value === undefined ? undefined : String(value);
}

/** The forge port on one GitHub. */
export class GitHubForge implements Forge {
  readonly type = 'github' as const;
  readonly url: string;
  private readonly name: string;
  private readonly credentialsName: string;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly base: ConstructorParameters<typeof Octokit>[0];
  /** The token's client, or for an App the one that asks GitHub with the App's JWT. */
  private readonly client: Octokit;
  /** An App's clients per installation, each caching (and renewing) its installation token. */
  private readonly installationClients = new Map<number, Octokit>();
  /** An App's installation per repository, found once. */
  private readonly installations = new Map<string, number>();
  private readonly appCredentials?: AppCredentials;

  constructor(options: GitHubForgeOptions) {
    this.url = options.url;
    this.name = `GitHub ${options.url}`;
    this.credentialsName = describeCredentials(
      options.credentials,
      options.credentialsSource ?? 'the forge credentials',
    );
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FORGE_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    const { logger } = options;
    this.base = {
      baseUrl: options.apiUrl.replace(/\/+$/, ''),
      userAgent: 'shepherd',
      request: {
        fetch: boundedFetch(options.fetch ?? globalThis.fetch, this.timeoutMs, options.signal),
      },
      ...(logger
        ? {
            log: {
              debug: () => {},
              info: () => {},
              warn: (message: string) => logger.warn(message),
              error: (message: string) => logger.error(message),
            },
          }
        : {}),
    };
    const { credentials } = options;
    if (isAppCredentials(credentials)) {
      this.secrets = [credentials.privateKey];
      this.client = this.appClient(credentials);
      this.appCredentials = credentials;
    } else {
      this.secrets = [credentials.token];
      this.client = new Octokit({ ...this.base, auth: credentials.token });
    }
  }

  private appClient(credentials: AppCredentials, installationId?: number): Octokit {
    return new Octokit({
      ...this.base,
      authStrategy: createAppAuth,
      auth: {
        appId: credentials.appId,
        privateKey: credentials.privateKey,
        ...(installationId !== undefined ? { installationId } : {}),
      },
    });
  }

  private call(repo: ForgeRepo, what: string, permission: string): ForgeCall {
    const app = this.appCredentials !== undefined;
    return {
      forge: this.name,
      repo,
      what,
      permission,
      credentials: this.credentialsName,
      grant: app
        ? "in the GitHub App's permissions, then accept the change on its installation"
        : "(a fine-grained token's repository permissions; a classic token needs the repo scope)",
      access: app
        ? 'install the GitHub App on the repository'
        : "give the token's user access to the repository (a fine-grained token must also list it)",
    };
  }

  /** The port's error for what Octokit threw. */
  private failure(call: ForgeCall, error: unknown): Error {
    if (!isOctokitError(error) || error.response === undefined) {
      // No answer: Octokit reports a network error or timeout as a status-500 error without a response.
      return forgeUnreachableError(call, unansweredReason(error, this.timeoutMs));
    }
    const { status } = error;
    const message = githubMessage(error.response.data);
    const retryAfter = header(error, 'retry-after');
    const remaining = header(error, 'x-ratelimit-remaining');
    const reset = header(error, 'x-ratelimit-reset');
    // GitHub's rate limits: the primary one empties x-ratelimit-remaining until its reset; a
    // secondary one answers 403 or 429 with retry-after, or only says so in its message.
    const secondary = /secondary rate limit|abuse detection/i.test(message ?? '');
    const rateLimited =
      status === 429 || (status === 403 && (remaining === '0' || retryAfter !== undefined || secondary));
    let retryAfterSeconds: number | undefined;
    if (retryAfter !== undefined && /^[0-9]+$/.test(retryAfter)) retryAfterSeconds = Number(retryAfter);
    else if (remaining === '0' && reset !== undefined && /^[0-9]+$/.test(reset)) {
      retryAfterSeconds = Math.max(0, Number(reset) - Math.floor(this.now() / 1000));
    } else if (rateLimited) retryAfterSeconds = 60; // GitHub's advice for a secondary limit without a hint.
    return forgeAnswerError(call, {
      status,
      ...(message ? { message: forgeText(message, this.secrets) } : {}),
      rateLimited,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }

  /** Runs `fn`; whatever it throws becomes the port's error for `call`. */
  private async attempt<T>(call: ForgeCall, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.failure(call, error);
    }
  }

  /** The client for `repo`: the token's, or the App installation's that covers the repository. */
  private async clientFor(repo: ForgeRepo): Promise<Octokit> {
    const app = this.appCredentials;
    if (!app) return this.client;
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    let installationId = app.installationId ?? this.installations.get(key);
    if (installationId === undefined) {
      const call = this.call(repo, 'finding the GitHub App installation', 'metadata:read');
      try {
        const { data } = await this.client.rest.apps.getRepoInstallation({
          owner: repo.owner,
          repo: repo.name,
        });
        installationId = data.id;
      } catch (error) {
        if (isOctokitError(error) && error.status === 404) {
          throw new ForgeRefusedError(
            `${this.name}: the GitHub App ${app.appId} (${this.credentialsName}) is not installed on ${repo.owner}/${repo.name}: install it on the repository, or set installationId in the Secret`,
            404,
          );
        }
        throw this.failure(call, error);
      }
      this.installations.set(key, installationId);
    }
    let client = this.installationClients.get(installationId);
    if (!client) {
      client = this.appClient(app, installationId);
      this.installationClients.set(installationId, client);
    }
    return client;
  }

  async branchCommit(repo: ForgeRepo, branch: string): Promise<string | undefined> {
    const call = this.call(repo, `reading branch ${branch}`, 'contents:read');
    const client = await this.clientFor(repo);
    try {
      const { data } = await client.rest.repos.getBranch({ owner: repo.owner, repo: repo.name, branch });
      return data.commit.sha;
    } catch (error) {
      if (!isOctokitError(error) || error.status !== 404) throw this.failure(call, error);
    }
    // GitHub answers 404 for a missing branch and for a repository it does not show these
    // credentials alike: only the first means "not pushed".
    await this.attempt(call, () => client.rest.repos.get({ owner: repo.owner, repo: repo.name }));
    return undefined;
  }

  async defaultBranch(repo: ForgeRepo): Promise<string> {
    const call = this.call(repo, 'reading the default branch', 'metadata:read');
    const client = await this.clientFor(repo);
    const { data } = await this.attempt(call, () =>
      client.rest.repos.get({ owner: repo.owner, repo: repo.name }),
    );
    return data.default_branch;
  }

  async ensurePullRequest(request: PullRequestRequest): Promise<PullRequestResult> {
    const { repo, head, base, title, body } = request;
    const owner = repo.owner;
    const call = this.call(repo, `opening a pull request ${head} → ${base}`, 'pull_requests:write');
    const client = await this.clientFor(repo);
    const findOpen = async () => {
      const { data } = await client.rest.pulls.list({
        owner,
        repo: repo.name,
        state: 'open',
        head: `${owner}:${head}`,
        base,
        per_page: 10,
      });
      return data.find((pr) => pr.head.ref === head && pr.base.ref === base);
    };
    const create = () =>
      client.rest.pulls.create({
        owner,
        repo: repo.name,
        head,
        base,
        title,
        body,
        ...(request.draft ? { draft: true } : {}),
      });
    const open = async (): Promise<{ pr: Pull; created: boolean }> => {
      const found = await findOpen();
      if (found) return { pr: found, created: false };
      try {
        return { pr: (await create()).data, created: true };
      } catch (error) {
        // Another attempt of this activity (or a second worker) opened it in between.
        const raced =
          isOctokitError(error) &&
          error.status === 422 &&
          /already exists/i.test(githubMessage(error.response?.data) ?? '');
        const again = raced ? await findOpen() : undefined;
        if (again) return { pr: again, created: false };
        throw error;
      }
    };
    return this.attempt(call, async () => {
      const { pr, created } = await open();
      if (!created && (pr.title !== title || (pr.body ?? '') !== body)) {
        await client.rest.pulls.update({ owner, repo: repo.name, pull_number: pr.number, title, body });
      }
      const have = new Set(created ? [] : pr.labels.map((l) => l.name));
      const labels = (request.labels ?? []).filter((l) => !have.has(l));
      if (labels.length > 0) {
        await client.rest.issues.addLabels({ owner, repo: repo.name, issue_number: pr.number, labels });
      }
      return { url: pr.html_url, number: pr.number, created };
    });
  }

  async comment(repo: ForgeRepo, issueNumber: number, body: string): Promise<{ url: string }> {
    const call = this.call(
      repo,
      `commenting on #${issueNumber}`,
      'issues:write (pull_requests:write on a pull request)',
    );
    const client = await this.clientFor(repo);
    const { data } = await this.attempt(call, () =>
      client.rest.issues.createComment({
        owner: repo.owner,
        repo: repo.name,
        issue_number: issueNumber,
        body,
      }),
    );
    return { url: data.html_url };
  }

  async pullRequest(repo: ForgeRepo, number: number): Promise<PullRequestInfo> {
    const call = this.call(repo, `reading pull request #${number}`, 'pull_requests:read');
    const client = await this.clientFor(repo);
    const { data } = await this.attempt(call, () =>
      client.rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: number }),
    );
    const headRepository = data.head.repo?.full_name;
    return {
      number: data.number,
      url: data.html_url,
      head: data.head.ref,
      ...(headRepository ? { headRepository } : {}),
      state: data.state === 'closed' ? 'closed' : 'open',
      merged: data.merged,
    };
  }

  async reviewThread(
    repo: ForgeRepo,
    number: number,
    comment: { id: number; inReplyTo?: number },
  ): Promise<ReviewComment[] | undefined> {
    const call = this.call(repo, `reading the review comments of #${number}`, 'pull_requests:read');
    const client = await this.clientFor(repo);
    // Every reply of a thread names its first comment (in_reply_to_id).
    const root = comment.inReplyTo ?? comment.id;
    const thread: ReviewComment[] = [];
    await this.attempt(call, async () => {
      for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
        const { data } = await client.rest.pulls.listReviewComments({
          owner: repo.owner,
          repo: repo.name,
          pull_number: number,
          sort: 'created',
          direction: 'asc',
          per_page: 100,
          page,
        });
        for (const c of data as GitHubReviewComment[]) {
          if (c.id === root || c.in_reply_to_id === root) thread.push(reviewComment(c));
        }
        if (data.length < 100) break;
      }
    });
    return thread.some((c) => c.id === root) ? thread : undefined;
  }

  async reviewComments(
    repo: ForgeRepo,
    number: number,
    review: { id?: number; author?: string; body?: string },
  ): Promise<ReviewComment[]> {
    if (review.id === undefined) return [];
    const reviewId = review.id;
    const call = this.call(
      repo,
      `reading the comments of review ${reviewId} on #${number}`,
      'pull_requests:read',
    );
    const client = await this.clientFor(repo);
    const { data } = await this.attempt(call, () =>
      client.rest.pulls.listCommentsForReview({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        review_id: reviewId,
        per_page: 100,
      }),
    );
    return (data as unknown as GitHubReviewComment[]).map(reviewComment);
  }
}
