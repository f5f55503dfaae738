/**
 * The forge port on Gitea (and Forgejo, which keeps its API), through Gitea's REST API (/api/v1)
 * with the global fetch. No client library: Gitea publishes none for JavaScript (only its Go SDK),
 * the community's generated clients trail the API, and these seven calls need a handful of
 * response fields, typed below — a dependency would be more surface than the code it saves.
 *
 * Gitea's differences from GitHub, handled here: no real draft flag (a title prefix "WIP:", which
 * Gitea shows as a draft, marks one); labels are set by id, so names are looked up on the
 * repository (and its organization) and a missing one is reported, not fatal; open pull requests
 * are found by listing, page by page up to a bound, and a second opening is refused by Gitea with
 * 409, which this treats as "someone opened it in between". Every call ends after a timeout or
 * when the caller's signal aborts; retries are the activities'.
 */
import type {
  Forge,
  ForgeRepo,
  PullRequestInfo,
  PullRequestRequest,
  PullRequestResult,
  ReviewComment,
} from './forge.js';
import {
  DEFAULT_FORGE_TIMEOUT_MS,
  type ForgeCall,
  boundedFetch,
  forgeAnswerError,
  forgeText,
  forgeUnreachableError,
  unansweredReason,
} from './forge-http.js';

/** How to reach one Gitea. */
export interface GiteaForgeOptions {
  /** The web address, e.g. https://gitea.example.com. */
  url: string;
  /** The REST API's base, e.g. https://gitea.example.com/api/v1. */
  apiUrl: string;
  /** An access token (scopes write:repository and write:issue). */
  token: string;
  /** Where the token comes from, for messages, e.g. `Secret default/gitea`. */
  credentialsSource?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per call. @default 30 s */
  timeoutMs?: number;
  /** Aborts every call, e.g. an activity's cancellation signal. */
  signal?: AbortSignal;
}

/** What this adapter reads of a Gitea pull request. */
interface GiteaPull {
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  labels?: { id: number; name: string }[] | null;
  head: { ref: string; repo_id: number };
  base: { ref: string; repo_id: number };
}

interface GiteaLabel {
  id: number;
  name: string;
}

/** What this adapter reads of a pull request it is asked about. */
interface GiteaPullDetails {
  number: number;
  html_url: string;
  state: string;
  merged: boolean;
  head: { ref: string; repo?: { full_name: string } | null };
}

/** What this adapter reads of a review. */
interface GiteaReview {
  id: number;
  body: string;
  user?: { login: string } | null;
}

/** What this adapter reads of a review's comment on the diff. */
interface GiteaReviewComment {
  id: number;
  body: string;
  user?: { login: string } | null;
  html_url?: string;
  path: string;
  diff_hunk?: string;
  /** The line on the new side (0 when the comment is on the old side). */
  position: number;
  /** The line on the old side (0 when on the new side). */
  original_position: number;
}

function reviewComment(c: GiteaReviewComment): ReviewComment {
  const line = c.position || c.original_position;
  return {
    id: c.id,
    ...(c.user?.login ? { author: c.user.login } : {}),
    body: c.body,
    ...(c.html_url ? { url: c.html_url } : {}),
    path: c.path,
    ...(line ? { line } : {}),
    ...(c.diff_hunk ? { diffHunk: c.diff_hunk } : {}),
  };
}

/** Gitea's page size cap (MAX_RESPONSE_ITEMS) by default. */
const PAGE = 50;
/** Lists stop here: 5000 open pull requests or labels is far past any repository Shepherd serves. */
const MAX_PAGES = 100;

/** Title prefixes Gitea's default WORK_IN_PROGRESS_PREFIXES recognises as a draft. */
const WIP = /^\s*(WIP:|\[WIP\])/i;

/** The title on Gitea: "WIP: " in front for a draft. */
export function giteaTitle(title: string, draft: boolean): string {
  return draft && !WIP.test(title) ? `WIP: ${title}` : title;
}

/** A path segment per part of a branch name: Gitea routes `branches/*`, so `/` stays a separator. */
function branchPath(branch: string): string {
  return branch.split('/').map(encodeURIComponent).join('/');
}

/** An HTTP answer Gitea gave and the call did not expect. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** The forge port on one Gitea. */
export class GiteaForge implements Forge {
  readonly type = 'gitea' as const;
  readonly url: string;
  private readonly name: string;
  private readonly apiUrl: string;
  private readonly token: string;
  private readonly credentials: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: GiteaForgeOptions) {
    this.url = options.url;
    this.name = `Gitea ${options.url}`;
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.credentials = `the token of ${options.credentialsSource ?? 'the forge credentials'}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FORGE_TIMEOUT_MS;
    this.fetch = boundedFetch(options.fetch ?? globalThis.fetch, this.timeoutMs, options.signal);
  }

  private call(repo: ForgeRepo, what: string, permission: string): ForgeCall {
    return {
      forge: this.name,
      repo,
      what,
      permission,
      credentials: this.credentials,
      // A Gitea token's scopes are fixed when it is made.
      grant: 'by making a new access token with that scope',
      access: "make the token's user a collaborator with write access",
    };
  }

  private repoPath(repo: ForgeRepo): string {
    return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
  }

  /**
   * One API call. Resolves with the parsed body of a 2xx answer, or with undefined for a status in
   * `accept` (e.g. 404 when absence is an answer); any other status, and no answer, throw the
   * port's errors for `call`.
   */
  private async send<T>(
    call: ForgeCall,
    method: string,
    path: string,
    options: { query?: Record<string, string | number>; body?: unknown; accept?: number[] } = {},
  ): Promise<T | undefined> {
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, String(value));
    let answer: Answer;
    try {
      const response = await this.fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `token ${this.token}`,
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      answer = { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      throw forgeUnreachableError(call, unansweredReason(error, this.timeoutMs));
    }
    if (options.accept?.includes(answer.status)) return undefined;
    if (answer.status < 200 || answer.status >= 300) throw this.failure(call, answer);
    if (answer.text === '') return undefined;
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw forgeAnswerError(call, {
        status: 502,
        message: `answered ${answer.status} with a body that is not JSON (is ${this.apiUrl} Gitea's API?)`,
      });
    }
  }

  /** Like {@link send}, for a call whose 2xx answer always has a body. */
  private async sendFor<T>(
    call: ForgeCall,
    method: string,
    path: string,
    options: { query?: Record<string, string | number>; body?: unknown } = {},
  ): Promise<T> {
    const data = await this.send<T>(call, method, path, options);
    if (data === undefined) {
      throw forgeAnswerError(call, { status: 502, message: `answered ${method} ${path} with an empty body` });
    }
    return data;
  }

  private failure(call: ForgeCall, answer: Answer): Error {
    let message: string | undefined;
    try {
      const parsed = JSON.parse(answer.text) as { message?: unknown; errors?: unknown };
      const details = Array.isArray(parsed.errors) ? parsed.errors.filter((e) => typeof e === 'string') : [];
      message = [typeof parsed.message === 'string' ? parsed.message : undefined, ...details]
        .filter(Boolean)
        .join('; ');
    } catch {
      message = answer.text;
    }
    const retryAfter = answer.headers.get('retry-after');
    return forgeAnswerError(call, {
      status: answer.status,
      ...(message ? { message: forgeText(message, [this.token]) } : {}),
      ...(retryAfter && /^[0-9]+$/.test(retryAfter) ? { retryAfterSeconds: Number(retryAfter) } : {}),
    });
  }

  /**
   * Every item of a paged list, up to the bound; undefined when the first page's status is in
   * `accept` (the list does not exist).
   */
  private async all<T>(
    call: ForgeCall,
    path: string,
    query: Record<string, string | number> = {},
    accept: number[] = [],
  ): Promise<T[] | undefined> {
    const items: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const batch = await this.send<T[]>(call, 'GET', path, {
        query: { ...query, page, limit: PAGE },
        accept,
      });
      if (batch === undefined) return page === 1 ? undefined : items;
      items.push(...batch);
      if (batch.length < PAGE) break;
    }
    return items;
  }

  async branchCommit(repo: ForgeRepo, branch: string): Promise<string | undefined> {
    const call = this.call(repo, `reading branch ${branch}`, 'read:repository');
    const found = await this.send<{ commit?: { id?: string } }>(
      call,
      'GET',
      `${this.repoPath(repo)}/branches/${branchPath(branch)}`,
      { accept: [404] },
    );
    if (found?.commit?.id) return found.commit.id;
    // Gitea answers 404 for a missing branch and for a repository it does not show this token
    // alike: only the first means "not pushed".
    await this.send(call, 'GET', this.repoPath(repo));
    return undefined;
  }

  async defaultBranch(repo: ForgeRepo): Promise<string> {
    const call = this.call(repo, 'reading the default branch', 'read:repository');
    const found = await this.send<{ default_branch?: string }>(call, 'GET', this.repoPath(repo));
    return found?.default_branch || 'main';
  }

  /** The ids of `names` on the repository (else its organization), and the names it has not. */
  private async labelIds(repo: ForgeRepo, names: string[]): Promise<{ ids: number[]; missing: string[] }> {
    if (names.length === 0) return { ids: [], missing: [] };
    const call = this.call(repo, 'looking up labels', 'read:issue');
    const labels = (await this.all<GiteaLabel>(call, `${this.repoPath(repo)}/labels`)) ?? [];
    if (names.some((n) => !labels.some((l) => l.name === n))) {
      // Organization labels apply to its repositories too. A user's repository has none (404), and
      // a token without read:organization may not look (403): then those names are reported missing.
      const orgCall = this.call(repo, 'looking up organization labels', 'read:organization');
      const orgPath = `/orgs/${encodeURIComponent(repo.owner)}/labels`;
      const org = await this.all<GiteaLabel>(orgCall, orgPath, {}, [403, 404]);
      labels.push(...(org ?? []));
    }
    const ids: number[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const label = labels.find((l) => l.name === name);
      if (label) ids.push(label.id);
      else missing.push(name);
    }
    return { ids, missing };
  }

  private async findOpen(
    call: ForgeCall,
    repo: ForgeRepo,
    head: string,
    base: string,
  ): Promise<GiteaPull | undefined> {
    const pulls =
      (await this.all<GiteaPull>(call, `${this.repoPath(repo)}/pulls`, {
        state: 'open',
        base_branch: base,
      })) ?? [];
    // Same repository only: a fork's branch of the same name is someone else's pull request.
    return pulls.find((p) => p.head.ref === head && p.base.ref === base && p.head.repo_id === p.base.repo_id);
  }

  async ensurePullRequest(request: PullRequestRequest): Promise<PullRequestResult> {
    const { repo, head, base, body } = request;
    const call = this.call(repo, `opening a pull request ${head} → ${base}`, 'write:repository');
    const labels = await this.labelIds(repo, [...new Set(request.labels ?? [])]);
    const missingLabels = labels.missing.length > 0 ? { missingLabels: labels.missing } : {};
    let existing = await this.findOpen(call, repo, head, base);
    if (!existing) {
      const created = await this.send<GiteaPull>(call, 'POST', `${this.repoPath(repo)}/pulls`, {
        body: {
          head,
          base,
          title: giteaTitle(request.title, request.draft === true),
          body,
          ...(labels.ids.length > 0 ? { labels: labels.ids } : {}),
        },
        // 409: another attempt (or worker) opened it in between; update that one below.
        accept: [409],
      });
      if (created) return { url: created.html_url, number: created.number, created: true, ...missingLabels };
      existing = await this.findOpen(call, repo, head, base);
      if (!existing) {
        throw forgeAnswerError(call, {
          status: 409,
          message: 'Gitea says a pull request for these branches exists, but none is open',
        });
      }
    }
    // An open pull request keeps the draft state people gave it: a WIP prefix stays, none is added.
    const title = giteaTitle(request.title, WIP.test(existing.title));
    if (existing.title !== title || (existing.body ?? '') !== body) {
      await this.send(call, 'PATCH', `${this.repoPath(repo)}/pulls/${existing.number}`, {
        body: { title, body },
      });
    }
    const have = new Set((existing.labels ?? []).map((l) => l.id));
    const add = labels.ids.filter((id) => !have.has(id));
    if (add.length > 0) {
      const labelCall = this.call(repo, `labelling pull request #${existing.number}`, 'write:issue');
      await this.send(labelCall, 'POST', `${this.repoPath(repo)}/issues/${existing.number}/labels`, {
        body: { labels: add },
      });
    }
    return { url: existing.html_url, number: existing.number, created: false, ...missingLabels };
  }

  async comment(repo: ForgeRepo, issueNumber: number, body: string): Promise<{ url: string }> {
    const call = this.call(repo, `commenting on #${issueNumber}`, 'write:issue');
    const comment = await this.sendFor<{ html_url: string }>(
      call,
      'POST',
      `${this.repoPath(repo)}/issues/${issueNumber}/comments`,
      { body: { body } },
    );
    return { url: comment.html_url };
  }

  async pullRequest(repo: ForgeRepo, number: number): Promise<PullRequestInfo> {
    const call = this.call(repo, `reading pull request #${number}`, 'read:repository');
    const pull = await this.sendFor<GiteaPullDetails>(call, 'GET', `${this.repoPath(repo)}/pulls/${number}`);
    const headRepository = pull.head.repo?.full_name;
    return {
      number: pull.number,
      url: pull.html_url,
      head: pull.head.ref,
      ...(headRepository ? { headRepository } : {}),
      state: pull.state === 'closed' ? 'closed' : 'open',
      merged: pull.merged,
    };
  }

  /** Every review of pull request `number`, oldest first. */
  private async reviews(repo: ForgeRepo, number: number): Promise<GiteaReview[]> {
    const call = this.call(repo, `reading the reviews of #${number}`, 'read:repository');
    return (await this.all<GiteaReview>(call, `${this.repoPath(repo)}/pulls/${number}/reviews`)) ?? [];
  }

  private async commentsOf(repo: ForgeRepo, number: number, reviewId: number): Promise<GiteaReviewComment[]> {
    const call = this.call(
      repo,
      `reading the comments of review ${reviewId} on #${number}`,
      'read:repository',
    );
    return (
      (await this.send<GiteaReviewComment[]>(
        call,
        'GET',
        `${this.repoPath(repo)}/pulls/${number}/reviews/${reviewId}/comments`,
      )) ?? []
    );
  }

  async reviewThread(
    repo: ForgeRepo,
    number: number,
    comment: { id: number; inReplyTo?: number },
  ): Promise<ReviewComment[] | undefined> {
    // Gitea threads a conversation on the diff by file and line, across reviews (a reply is a
    // review of its own): every review's comments are read, and the comment's peers kept.
    const all: GiteaReviewComment[] = [];
    for (const review of await this.reviews(repo, number)) {
      all.push(...(await this.commentsOf(repo, number, review.id)));
    }
    const found = all.find((c) => c.id === comment.id);
    if (!found) return undefined;
    return all
      .filter(
        (c) =>
          c.path === found.path &&
          c.position === found.position &&
          c.original_position === found.original_position,
      )
      .sort((a, b) => a.id - b.id)
      .map(reviewComment);
  }

  async reviewComments(
    repo: ForgeRepo,
    number: number,
    review: { id?: number; author?: string; body?: string },
  ): Promise<ReviewComment[]> {
    const reviews = await this.reviews(repo, number);
    const chosen =
      review.id !== undefined
        ? reviews.find((r) => r.id === review.id)
        : reviews
            .filter(
              (r) => r.user?.login === review.author && (review.body === undefined || r.body === review.body),
            )
            .at(-1);
    if (!chosen) return [];
    return (await this.commentsOf(repo, number, chosen.id)).sort((a, b) => a.id - b.id).map(reviewComment);
  }
}
