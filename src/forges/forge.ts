/**
 * The forge port: what the session workflow's activities ask of GitHub or Gitea after the runner
 * pushed — is the reported commit really at the tip of the output branch, open (or update) the
 * pull request for that branch, comment on the issue that started the session — what a follow-up
 * comment needs read (the pull request's head branch, a review's thread and its position in the
 * diff), and the two errors every adapter throws, so the activities retry an outage (bounded) and
 * report a refusal without retrying it.
 *
 * Both error classes set `name`: Temporal's ApplicationFailure type is the error's name, which is
 * how the workflow tells the retryable from the non-retryable. Messages name the forge, the
 * repository, the call and the fix, and never a credential (src/forges/forge-http.ts builds them).
 */
import type { ForgeType } from '../resources/types.js';

/** A repository on a forge. */
export interface ForgeRepo {
  owner: string;
  name: string;
}

/** A pull request to open, or to bring up to date when one is already open. */
export interface PullRequestRequest {
  repo: ForgeRepo;
  /** The branch with the work (in `repo`). */
  head: string;
  /** The branch it should be merged into. */
  base: string;
  title: string;
  /** Markdown. */
  body: string;
  /** Only when opening it: an open pull request keeps the state people gave it. */
  draft?: boolean;
  /** Added to the pull request's labels (never removed). */
  labels?: string[];
}

/** The pull request after {@link Forge.ensurePullRequest}. */
export interface PullRequestResult {
  /** Its web page. */
  url: string;
  number: number;
  /** True when this call opened it, false when it updated the open one. */
  created: boolean;
  /** Labels of the request the forge does not have (Gitea only adds existing labels). */
  missingLabels?: string[];
}

/** A pull request as a follow-up reads it. */
export interface PullRequestInfo {
  number: number;
  /** Its web page. */
  url: string;
  /** The head branch. */
  head: string;
  /** `owner/name` of the head branch's repository (another one for a fork); unknown when deleted. */
  headRepository?: string;
  state: 'open' | 'closed';
  merged: boolean;
}

/** A comment on a line of a pull request's diff. */
export interface ReviewComment {
  id: number;
  /** The login of who wrote it. */
  author?: string;
  body: string;
  /** Its web page. */
  url?: string;
  /** The file, the line and the diff hunk up to it. */
  path?: string;
  line?: number;
  diffHunk?: string;
}

/** One forge (github.com, a GitHub Enterprise Server, a Gitea or Forgejo) with one set of credentials. */
export interface Forge {
  readonly type: ForgeType;
  /** Its web address, e.g. https://github.com. */
  readonly url: string;
  /** The commit at the tip of `branch` on the forge, or undefined when there is no such branch. */
  branchCommit(repo: ForgeRepo, branch: string): Promise<string | undefined>;
  /** The repository's default branch: the base of a pull request whose repository names none. */
  defaultBranch(repo: ForgeRepo): Promise<string>;
  /** Opens a pull request head→base, or updates (title, body, labels) the OPEN one with the same head and base: never a second. */
  ensurePullRequest(request: PullRequestRequest): Promise<PullRequestResult>;
  /** Comments on an issue or pull request; returns the comment's web URL. */
  comment(repo: ForgeRepo, issueNumber: number, body: string): Promise<{ url: string }>;
  /** The pull request `number` (ForgeRefusedError with status 404 when there is none). */
  pullRequest(repo: ForgeRepo, number: number): Promise<PullRequestInfo>;
  /**
   * The thread on the diff that comment `comment.id` of pull request `number` is in, oldest first;
   * undefined when it is no comment on the diff (a comment on the conversation). `inReplyTo` is
   * the thread's first comment when the webhook named it.
   */
  reviewThread(
    repo: ForgeRepo,
    number: number,
    comment: { id: number; inReplyTo?: number },
  ): Promise<ReviewComment[] | undefined>;
  /**
   * The comments on the diff of a review of pull request `number`: the review `id`, or where the
   * webhook names none (Gitea) the latest review by `author` with that `body`.
   */
  reviewComments(
    repo: ForgeRepo,
    number: number,
    review: { id?: number; author?: string; body?: string },
  ): Promise<ReviewComment[]>;
}

/**
 * The forge could not be reached or could not answer now: a network error or timeout, a 5xx, a
 * 429 or a rate limit. Retrying later can succeed; `retryAfterSeconds` is the forge's own hint
 * (Retry-After, or the rate limit's reset) when it gave one.
 */
export class ForgeUnavailableError extends Error {
  override readonly name = 'ForgeUnavailableError';

  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * The forge refused the call, or it cannot be made as configured: bad or missing credentials
 * (401), a permission the credentials lack (403), a repository or branch it does not know (404),
 * a request it will not take (422), an App credential on a forge that has no Apps. The same call
 * would be refused again: the message says what to change. `status` is the forge's HTTP status
 * when there was one.
 */
export class ForgeRefusedError extends Error {
  override readonly name = 'ForgeRefusedError';

  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
