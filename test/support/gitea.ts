/**
 * A real Gitea for tests, on loopback in a private temp directory: SQLite, no mail, no SSH, git
 * over HTTP, webhooks allowed to loopback and delivered at once. It comes up with an admin and a
 * bot user (`shepherd-bot`), each with an API token, and offers the few API calls a test of the
 * issue → webhook → pushed branch → pull request → comment flow needs, and of a conversation on
 * it: comments, a review on the diff, closing the pull request. The binary is the pinned
 * one (`npm run setup -- gitea`, or $SHEPHERD_GITEA).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { startDaemon, stopGroup, waitUntilReady } from '../../src/processes/daemon.js';
import { freePorts } from '../../src/processes/ports.js';
import { giteaPath } from '../../src/processes/tools.js';

/** Options for {@link startGitea}. */
export interface GiteaOptions {
  /** The gitea binary. @default the pinned one ({@link giteaPath}) */
  binary?: string;
  /** How long to wait for the server to answer once started. @default 60 s */
  readyTimeoutMs?: number;
}

/** A Gitea user the harness made, with an API token. */
export interface GiteaUser {
  username: string;
  token: string;
}

/** An API request: JSON `body`, sent with the admin's token unless `as` says the bot's. */
export interface GiteaRequest {
  method?: string;
  body?: unknown;
  as?: 'admin' | 'bot';
}

/** The fields of Gitea's API objects the tests read. */
export interface GiteaRepo {
  id: number;
  name: string;
  full_name: string;
  clone_url: string;
  default_branch: string;
}
export interface GiteaIssue {
  id: number;
  number: number;
  title: string;
  body: string;
}
export interface GiteaLabel {
  id: number;
  name: string;
}
export interface GiteaHook {
  id: number;
  events: string[];
}
export interface GiteaPull {
  number: number;
  title: string;
  body: string;
  head: { ref: string };
  base: { ref: string };
  user: { login: string };
  state: 'open' | 'closed';
  html_url: string;
}
export interface GiteaComment {
  id: number;
  body: string;
  user: { login: string };
}
export interface GiteaCommit {
  sha: string;
  commit: { message: string };
}
export interface GiteaReview {
  id: number;
  body: string;
  state: string;
  user: { login: string };
}
/** A comment of a review on the diff: `new_position` is the line in the new file. */
export interface GiteaReviewCommentOption {
  path: string;
  body: string;
  new_position: number;
}

/** A running Gitea. */
export interface Gitea {
  /** Base URL, `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** The site administrator; its password also signs in to the web UI. */
  admin: GiteaUser & { password: string };
  /** `shepherd-bot`: an ordinary user, made a write collaborator of every repo {@link createRepo} makes. */
  bot: GiteaUser;
  /** Calls `/api/v1<path>`; resolves to the parsed JSON (undefined for an empty answer), rejects on a non-2xx. */
  api<T = unknown>(path: string, request?: GiteaRequest): Promise<T>;
  /** Makes a public repository owned by `owner` (a user, e.g. the admin) with the bot as a write collaborator. */
  createRepo(
    owner: string,
    name: string,
    options?: { autoInit?: boolean; defaultBranch?: string },
  ): Promise<GiteaRepo>;
  createIssue(owner: string, repo: string, issue: { title: string; body?: string }): Promise<GiteaIssue>;
  createLabel(owner: string, repo: string, label: { name: string; color?: string }): Promise<GiteaLabel>;
  /** Adds labels to an issue; an `issue_label` webhook fires. */
  addLabels(owner: string, repo: string, issue: number, labelIds: number[]): Promise<GiteaLabel[]>;
  /** A `gitea` webhook with a JSON body, signed with `secret` (`X-Gitea-Signature`). */
  createWebhook(
    owner: string,
    repo: string,
    hook: { url: string; secret: string; events: string[] },
  ): Promise<GiteaHook>;
  /** Pull requests in any state. */
  listPulls(owner: string, repo: string): Promise<GiteaPull[]>;
  listComments(owner: string, repo: string, issue: number): Promise<GiteaComment[]>;
  /** A comment on an issue or pull request, by the admin; an `issue_comment` webhook fires. */
  createComment(owner: string, repo: string, issue: number, body: string): Promise<GiteaComment>;
  /**
   * Submits a review of a pull request by the admin, with comments on the diff; Gitea delivers it
   * as `pull_request_comment` (`COMMENT`), `pull_request_approved` or `pull_request_rejected`.
   */
  createReview(
    owner: string,
    repo: string,
    pull: number,
    review: {
      body: string;
      event?: 'COMMENT' | 'APPROVED' | 'REQUEST_CHANGES';
      comments?: GiteaReviewCommentOption[];
    },
  ): Promise<GiteaReview>;
  /** Closes a pull request without merging it; a `pull_request` webhook (`closed`) fires. */
  closePull(owner: string, repo: string, pull: number): Promise<GiteaPull>;
  /** The commits of a pull request, newest first (as `git log` lists them). */
  listPullCommits(owner: string, repo: string, pull: number): Promise<GiteaCommit[]>;
  /** The names of the files a pull request changes. */
  listPullFiles(owner: string, repo: string, pull: number): Promise<string[]>;
  /** A file's text at `ref` (a branch, tag or commit). */
  readFile(owner: string, repo: string, path: string, ref: string): Promise<string>;
  /** Kills the server's process group and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const ADMIN = 'gitea-admin'; // "admin" is a name Gitea reserves.
const BOT = 'shepherd-bot';
// The bot gets what a session needs: push and open pull requests, comment on issues, read itself.
const BOT_SCOPES = 'write:repository,write:issue,write:user';

const secret = () => randomBytes(32).toString('hex');
// Gitea's JWT secrets are 32 bytes in unpadded base64url; given here, Gitea never rewrites app.ini.
const jwtSecret = () => randomBytes(32).toString('base64url');

/** The app.ini: everything a test needs, nothing that reaches beyond loopback or the directory. */
function appIni(dir: string, port: number, staticRoot: string): string {
  const url = `http://127.0.0.1:${port}/`;
  const runAsRoot = process.getuid?.() === 0;
  return `
APP_NAME = Shepherd test Gitea
RUN_MODE = prod
RUN_USER = ${userInfo().username}
WORK_PATH = ${dir}
${
  // Gitea refuses to run as root; tests here often do (containers). Set in the file rather than
  // the environment, so the git hooks Gitea runs on a push, which read the same file, accept it too.
  runAsRoot ? 'I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true' : ''
}

[server]
PROTOCOL = http
DOMAIN = 127.0.0.1
HTTP_ADDR = 127.0.0.1
HTTP_PORT = ${port}
ROOT_URL = ${url}
APP_DATA_PATH = ${join(dir, 'data')}
; A build from the module proxy reads its templates and options from beside the binary.
STATIC_ROOT_PATH = ${staticRoot}
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
LFS_JWT_SECRET = ${jwtSecret()}

[database]
DB_TYPE = sqlite3
PATH = ${join(dir, 'gitea.db')}
; WAL and a long busy timeout: API calls, webhook deliveries and push hooks write concurrently.
SQLITE_JOURNAL_MODE = WAL
SQLITE_TIMEOUT = 10000

[security]
INSTALL_LOCK = true
SECRET_KEY = ${secret()}
INTERNAL_TOKEN = ${secret()}
PASSWORD_COMPLEXITY = off
; Webhooks go to the test's own loopback server; the default allows only external hosts.
ALLOWED_HOST_LIST = loopback

[oauth2]
JWT_SECRET = ${jwtSecret()}

[repository]
ROOT = ${join(dir, 'repositories')}
DEFAULT_BRANCH = main

[service]
DISABLE_REGISTRATION = true
ENABLE_NOTIFY_MAIL = false
DEFAULT_KEEP_EMAIL_PRIVATE = true

[mailer]
ENABLED = false

[queue]
; In-memory queues hand each job to a worker at once; the default disk queue adds its own
; polling, and webhook deliveries would lag behind the events.
TYPE = channel

[indexer]
; The database instead of a bleve index on disk: nothing to build at start.
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[actions]
ENABLED = false

[packages]
ENABLED = false

[cron.update_checker]
ENABLED = false

[log]
MODE = console
LEVEL = Info
ROOT_PATH = ${join(dir, 'log')}
`;
}

/** Starts Gitea and makes its users; on any failure, stops what it started and removes the directory. */
export async function startGitea(options: GiteaOptions = {}): Promise<Gitea> {
  const binary = options.binary ?? giteaPath();
  if (!existsSync(binary)) throw new Error(`no Gitea at ${binary}; run \`npm run setup -- gitea\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-gitea-'));
  let pid: number | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined) await stopGroup(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [port] = (await freePorts(1)) as [number];
    const config = join(dir, 'app.ini');
    mkdirSync(join(dir, 'log'));
    // Beside the binary itself: the cache may hold only a link to it (SHEPHERD_GITEA at setup).
    writeFileSync(config, appIni(dir, port, dirname(realpathSync(binary))));
    const gitea = async (...args: string[]) =>
      (await execa(binary, ['--work-path', dir, '--config', config, ...args], { cwd: dir })).stdout;

    // The users are made before the server starts: the commands then have the database to
    // themselves, and the server comes up with everything in place.
    await gitea('migrate');
    const createUser = async (username: string, password: string, scopes: string, admin: boolean) => {
      const out = await gitea(
        'admin',
        'user',
        'create',
        ...(admin ? ['--admin'] : []),
        '--username',
        username,
        '--password',
        password,
        '--email',
        `${username}@example.com`,
        '--must-change-password=false',
        '--access-token',
        '--access-token-name',
        'shepherd-tests',
        '--access-token-scopes',
        scopes,
      );
      const token = /Access token was successfully created\.\.\. (\S+)/.exec(out)?.[1];
      if (!token) throw new Error(`gitea admin user create printed no token for ${username}:\n${out}`);
      return token;
    };
    const adminPassword = secret();
    const admin = {
      username: ADMIN,
      password: adminPassword,
      token: await createUser(ADMIN, adminPassword, 'all', true),
    };
    const bot = { username: BOT, token: await createUser(BOT, secret(), BOT_SCOPES, false) };

    const daemon = startDaemon({
      name: 'gitea',
      command: binary,
      args: ['--work-path', dir, '--config', config, 'web'],
      logFile: join(dir, 'log', 'gitea.log'),
      cwd: dir,
    });
    pid = daemon.pid;
    const url = `http://127.0.0.1:${port}`;
    // A cold start on a loaded machine takes seconds (migrations checked, templates parsed).
    await waitUntilReady(
      daemon,
      async () => (await fetch(`${url}/api/healthz`, { signal: AbortSignal.timeout(2_000) })).ok,
      options.readyTimeoutMs ?? 60_000,
    );

    const api = async <T = unknown>(path: string, request: GiteaRequest = {}): Promise<T> => {
      const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `token ${request.as === 'bot' ? bot.token : admin.token}`,
          accept: 'application/json',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`Gitea ${method} ${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    const repoPath = (owner: string, repo: string) =>
      `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;

    return {
      url,
      admin,
      bot,
      api,
      async createRepo(owner, name, { autoInit = true, defaultBranch = 'main' } = {}) {
        const repo = await api<GiteaRepo>(`/admin/users/${encodeURIComponent(owner)}/repos`, {
          body: { name, auto_init: autoInit, default_branch: defaultBranch, private: false },
        });
        if (owner !== BOT) {
          await api(`${repoPath(owner, name)}/collaborators/${BOT}`, {
            method: 'PUT',
            body: { permission: 'write' },
          });
        }
        return repo;
      },
      createIssue: (owner, repo, issue) =>
        api<GiteaIssue>(`${repoPath(owner, repo)}/issues`, {
          body: { title: issue.title, body: issue.body ?? '' },
        }),
      createLabel: (owner, repo, label) =>
        api<GiteaLabel>(`${repoPath(owner, repo)}/labels`, {
          body: { name: label.name, color: label.color ?? '#0075ca' },
        }),
      addLabels: (owner, repo, issue, labelIds) =>
        api<GiteaLabel[]>(`${repoPath(owner, repo)}/issues/${issue}/labels`, { body: { labels: labelIds } }),
      createWebhook: (owner, repo, hook) =>
        api<GiteaHook>(`${repoPath(owner, repo)}/hooks`, {
          body: {
            type: 'gitea',
            active: true,
            events: hook.events,
            config: { url: hook.url, content_type: 'json', secret: hook.secret },
          },
        }),
      listPulls: (owner, repo) => api<GiteaPull[]>(`${repoPath(owner, repo)}/pulls?state=all`),
      listComments: (owner, repo, issue) =>
        api<GiteaComment[]>(`${repoPath(owner, repo)}/issues/${issue}/comments`),
      createComment: (owner, repo, issue, body) =>
        api<GiteaComment>(`${repoPath(owner, repo)}/issues/${issue}/comments`, { body: { body } }),
      createReview: (owner, repo, pull, review) =>
        api<GiteaReview>(`${repoPath(owner, repo)}/pulls/${pull}/reviews`, {
          body: { body: review.body, event: review.event ?? 'COMMENT', comments: review.comments ?? [] },
        }),
      closePull: (owner, repo, pull) =>
        api<GiteaPull>(`${repoPath(owner, repo)}/pulls/${pull}`, {
          method: 'PATCH',
          body: { state: 'closed' },
        }),
      listPullCommits: (owner, repo, pull) =>
        api<GiteaCommit[]>(`${repoPath(owner, repo)}/pulls/${pull}/commits`),
      async listPullFiles(owner, repo, pull) {
        const files = await api<Array<{ filename: string }>>(`${repoPath(owner, repo)}/pulls/${pull}/files`);
        return files.map((f) => f.filename);
      },
      async readFile(owner, repo, path, ref) {
        const file = await api<{ content: string }>(
          `${repoPath(owner, repo)}/contents/${path.split('/').map(encodeURIComponent).join('/')}?ref=${encodeURIComponent(ref)}`,
        );
        return Buffer.from(file.content, 'base64').toString('utf8');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
