/**
 * The Gitea adapter against the real pinned Gitea (test/support/gitea.ts), as the bot a session
 * pushes with: the tip of a branch pushed over HTTP, one pull request per branch however often it
 * is ensured (also when Gitea's own 409 says another attempt opened it first), labels by name with
 * a missing one reported, a draft as Gitea's WIP prefix, a comment on an issue, and the errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Forge, ForgeRefusedError, ForgeUnavailableError } from '../../src/forges/forge.js';
import { createForge } from '../../src/forges/forge-registry.js';
import { testGitEnv } from '../support/git.js';
import { type Gitea, startGitea } from '../support/gitea.js';

/** git with the test identity; never prompts, so a refused credential fails instead of hanging. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...testGitEnv, GIT_TERMINAL_PROMPT: '0' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

interface PullState {
  number: number;
  title: string;
  body: string;
  state: string;
  draft: boolean;
  head: { ref: string };
  labels: { name: string }[];
}

let gitea: Gitea;
let forge: Forge;
let owner: string;
let clone: string;
const REPO_NAME = 'forge';
const work = mkdtempSync(join(tmpdir(), 'shepherd-gitea-forge-'));

/** Commits a file on `branch` in the clone and pushes it as the bot; returns the commit. */
function push(branch: string, file: string): string {
  git(clone, 'checkout', '--quiet', '-B', branch, 'origin/main');
  writeFileSync(join(clone, file), `${branch}\n`);
  git(clone, 'add', '.');
  git(clone, 'commit', '--quiet', '-m', `work on ${branch}`);
  git(clone, 'push', '--quiet', '--force', 'origin', branch);
  return git(clone, 'rev-parse', 'HEAD');
}

const openPulls = async (head: string) =>
  (await gitea.api<PullState[]>(`/repos/${owner}/${REPO_NAME}/pulls?state=all&limit=50`)).filter(
    (p) => p.head.ref === head,
  );

before(async () => {
  gitea = await startGitea();
  owner = gitea.admin.username;
  const repo = await gitea.createRepo(owner, REPO_NAME);
  const url = new URL(repo.clone_url);
  url.username = gitea.bot.username;
  url.password = gitea.bot.token;
  clone = join(work, 'clone');
  git(work, 'clone', '--quiet', url.href, clone);
  forge = createForge({
    type: 'gitea',
    url: gitea.url,
    credentials: { token: gitea.bot.token },
    credentialsSource: 'Secret default/gitea',
  });
});

after(async () => {
  await gitea?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('branchCommit', () => {
  it('is the commit the bot pushed, for a branch name with a slash', async () => {
    const sha = push('shepherd/tip', 'tip.md');
    assert.equal(await forge.branchCommit({ owner, name: REPO_NAME }, 'shepherd/tip'), sha);
  });

  it('is undefined for a branch never pushed', async () => {
    assert.equal(await forge.branchCommit({ owner, name: REPO_NAME }, 'shepherd/never'), undefined);
  });

  it('is refused for a repository that does not exist', async () => {
    await assert.rejects(forge.branchCommit({ owner, name: 'no-such-repo' }, 'main'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError, String(error));
      assert.equal(error.status, 404);
      assert.match(error.message, new RegExp(`${owner}/no-such-repo does not exist on Gitea ${gitea.url}`));
      return true;
    });
  });
});

describe('defaultBranch', () => {
  it('is the repository’s default branch', async () => {
    const other = await gitea.createRepo(owner, 'trunk-based', { defaultBranch: 'trunk' });
    assert.equal(other.default_branch, 'trunk');
    assert.equal(await forge.defaultBranch({ owner, name: 'trunk-based' }), 'trunk');
    assert.equal(await forge.defaultBranch({ owner, name: REPO_NAME }), 'main');
  });
});

describe('ensurePullRequest', () => {
  it('opens one pull request and then updates it, never a second; labels by name, a missing one reported', async () => {
    push('shepherd/one', 'one.md');
    await gitea.createLabel(owner, REPO_NAME, { name: 'shepherd' });
    const repo = { owner, name: REPO_NAME };
    const first = await forge.ensurePullRequest({
      repo,
      head: 'shepherd/one',
      base: 'main',
      title: 'First title',
      body: 'first body',
      labels: ['shepherd', 'not-on-gitea'],
    });
    assert.equal(first.created, true);
    assert.deepEqual(first.missingLabels, ['not-on-gitea']);
    assert.equal(first.url, `${gitea.url}/${owner}/${REPO_NAME}/pulls/${first.number}`);
    const second = await forge.ensurePullRequest({
      repo,
      head: 'shepherd/one',
      base: 'main',
      title: 'Second title',
      body: 'second body',
      labels: ['shepherd'],
    });
    assert.deepEqual(
      { number: second.number, created: second.created },
      { number: first.number, created: false },
    );
    assert.equal(second.missingLabels, undefined);
    const pulls = await openPulls('shepherd/one');
    assert.equal(pulls.length, 1);
    assert.deepEqual(
      { title: pulls[0]?.title, body: pulls[0]?.body, labels: pulls[0]?.labels.map((l) => l.name) },
      { title: 'Second title', body: 'second body', labels: ['shepherd'] },
    );
  });

  it('adds a label to the open pull request that it lacks', async () => {
    push('shepherd/relabel', 'relabel.md');
    await gitea.createLabel(owner, REPO_NAME, { name: 'later' });
    const request = {
      repo: { owner, name: REPO_NAME },
      head: 'shepherd/relabel',
      base: 'main',
      title: 'T',
      body: 'B',
    };
    await forge.ensurePullRequest(request);
    await forge.ensurePullRequest({ ...request, labels: ['later'] });
    const pulls = await openPulls('shepherd/relabel');
    assert.deepEqual(
      pulls.map((p) => p.labels.map((l) => l.name)),
      [['later']],
    );
  });

  it('opens a draft as a WIP: title Gitea shows as a draft, and keeps it a draft on update', async () => {
    push('shepherd/draft', 'draft.md');
    const request = { repo: { owner, name: REPO_NAME }, head: 'shepherd/draft', base: 'main', body: 'B' };
    await forge.ensurePullRequest({ ...request, title: 'Try it', draft: true });
    await forge.ensurePullRequest({ ...request, title: 'Try it again' });
    const pulls = await openPulls('shepherd/draft');
    assert.deepEqual(
      pulls.map((p) => [p.title, p.draft]),
      [['WIP: Try it again', true]],
    );
  });

  it('meets the pull request another attempt opened in between (Gitea’s 409) and updates it', async () => {
    push('shepherd/race', 'race.md');
    // The other attempt's pull request, which this attempt's first look does not see.
    await gitea.api(`/repos/${owner}/${REPO_NAME}/pulls`, {
      as: 'bot',
      body: { head: 'shepherd/race', base: 'main', title: 'Theirs', body: '' },
    });
    let hidden = false;
    const racing = createForge({
      type: 'gitea',
      url: gitea.url,
      credentials: { token: gitea.bot.token },
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input.toString());
        if (!hidden && (init?.method ?? 'GET') === 'GET' && url.pathname.endsWith(`/${REPO_NAME}/pulls`)) {
          hidden = true;
          return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } });
        }
        return fetch(input, init);
      },
    });
    const result = await racing.ensurePullRequest({
      repo: { owner, name: REPO_NAME },
      head: 'shepherd/race',
      base: 'main',
      title: 'Mine',
      body: 'mine',
    });
    assert.ok(hidden);
    assert.equal(result.created, false);
    const pulls = await openPulls('shepherd/race');
    assert.deepEqual(
      pulls.map((p) => [p.number, p.title]),
      [[result.number, 'Mine']],
    );
  });

  it('opens a new one when the earlier pull request for the branch was closed', async () => {
    push('shepherd/reopen', 'reopen.md');
    const request = {
      repo: { owner, name: REPO_NAME },
      head: 'shepherd/reopen',
      base: 'main',
      title: 'T',
      body: 'B',
    };
    const first = await forge.ensurePullRequest(request);
    await gitea.api(`/repos/${owner}/${REPO_NAME}/pulls/${first.number}`, {
      method: 'PATCH',
      body: { state: 'closed' },
    });
    const second = await forge.ensurePullRequest(request);
    assert.equal(second.created, true);
    assert.notEqual(second.number, first.number);
  });
});

describe('comment', () => {
  it('comments on an issue as the bot and returns the comment’s page', async () => {
    const issue = await gitea.createIssue(owner, REPO_NAME, { title: 'Please fix', body: 'It is broken.' });
    const { url } = await forge.comment({ owner, name: REPO_NAME }, issue.number, 'Working on it: **now**');
    assert.match(
      url,
      new RegExp(`^${gitea.url}/${owner}/${REPO_NAME}/issues/${issue.number}#issuecomment-\\d+$`),
    );
    const comments = await gitea.listComments(owner, REPO_NAME, issue.number);
    assert.deepEqual(
      comments.map((c) => [c.user.login, c.body]),
      [[gitea.bot.username, 'Working on it: **now**']],
    );
  });
});

describe('errors', () => {
  it('a token Gitea does not accept is refused, and the message does not carry it', async () => {
    const wrong = 'f'.repeat(40);
    const refused = createForge({
      type: 'gitea',
      url: gitea.url,
      credentials: { token: wrong },
      credentialsSource: 'Secret default/gitea',
    });
    await assert.rejects(refused.comment({ owner, name: REPO_NAME }, 1, 'x'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError, String(error));
      assert.equal(error.status, 401);
      assert.match(error.message, /the token of Secret default\/gitea is not accepted/);
      assert.ok(!error.message.includes(wrong));
      return true;
    });
  });

  it('a token without the scope is refused, naming the scope and how to get it', async () => {
    // A token of the admin's that may only read repositories (made with the password: Gitea's rule).
    const basic = Buffer.from(`${gitea.admin.username}:${gitea.admin.password}`).toString('base64');
    const response = await fetch(`${gitea.url}/api/v1/users/${gitea.admin.username}/tokens`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'read-only', scopes: ['read:repository'] }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { sha1: token } = (await response.json()) as { sha1: string };
    const readOnly = createForge({
      type: 'gitea',
      url: gitea.url,
      credentials: { token },
      credentialsSource: 'Secret default/gitea',
    });
    const issue = await gitea.createIssue(owner, REPO_NAME, { title: 'Scopes' });
    await assert.rejects(readOnly.comment({ owner, name: REPO_NAME }, issue.number, 'x'), (error: Error) => {
      assert.ok(error instanceof ForgeRefusedError, String(error));
      assert.equal(error.status, 403);
      assert.match(
        error.message,
        /the token of Secret default\/gitea lacks the write:issue permission on gitea-admin\/forge: grant it by making a new access token with that scope/,
      );
      assert.ok(!error.message.includes(token));
      return true;
    });
  });

  it('a Gitea that does not answer is unavailable', async () => {
    // A port that was free a moment ago (fetch refuses "bad ports" such as 1 before connecting).
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const gone = createForge({
      type: 'gitea',
      url: `http://127.0.0.1:${port}`,
      credentials: { token: gitea.bot.token },
    });
    await assert.rejects(gone.branchCommit({ owner, name: REPO_NAME }, 'main'), (error: Error) => {
      assert.ok(error instanceof ForgeUnavailableError, String(error));
      assert.match(error.message, /got no answer \(.*ECONNREFUSED.*\); it is retried/);
      assert.ok(!error.message.includes(gitea.bot.token));
      return true;
    });
  });
});
