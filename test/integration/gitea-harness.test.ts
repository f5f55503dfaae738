/**
 * The Gitea harness against the real pinned Gitea: the bot clones and pushes over HTTP with its
 * token and opens a pull request, and labelling an issue delivers a signed webhook to a loopback
 * server — the pieces an issue-to-pull-request test is made of.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { testGitEnv } from '../support/git.js';
import { type Gitea, type GiteaPull, startGitea } from '../support/gitea.js';

/** git with the test identity; never prompts, so a refused credential fails instead of hanging. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...testGitEnv, GIT_TERMINAL_PROMPT: '0' },
    encoding: 'utf8',
    // The server's "create a pull request" hints on a push would clutter the report; a failure
    // still carries stderr in its error.
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

interface Delivery {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback HTTP server that records every request, raw body included (the signature covers the bytes). */
async function webhookReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, deliveries, server };
}

/** Polls until `find` returns something; the bound only keeps a broken delivery from hanging the test. */
async function eventually<T>(what: string, find: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

let gitea: Gitea;
const work = mkdtempSync(join(tmpdir(), 'shepherd-gitea-test-'));

before(async () => {
  gitea = await startGitea();
});

after(async () => {
  await gitea?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the bot clones and pushes over HTTP with its token, and opens a pull request', async () => {
  const owner = gitea.admin.username;
  const repo = await gitea.createRepo(owner, 'pushed');
  assert.equal(repo.default_branch, 'main');
  const cloneUrl = new URL(repo.clone_url);
  cloneUrl.username = gitea.bot.username;
  cloneUrl.password = gitea.bot.token;

  const clone = join(work, 'pushed');
  git(work, 'clone', '--quiet', cloneUrl.href, clone);
  git(clone, 'checkout', '--quiet', '-b', 'shepherd/change');
  writeFileSync(join(clone, 'CHANGE.md'), 'changed by the bot\n');
  git(clone, 'add', '.');
  git(clone, 'commit', '--quiet', '-m', 'a change');
  git(clone, 'push', '--quiet', 'origin', 'shepherd/change');

  const branch = await gitea.api<{ commit: { id: string } }>(
    `/repos/${owner}/pushed/branches/${encodeURIComponent('shepherd/change')}`,
  );
  assert.equal(branch.commit.id, git(clone, 'rev-parse', 'HEAD'));

  await gitea.api<GiteaPull>(`/repos/${owner}/pushed/pulls`, {
    as: 'bot',
    body: { head: 'shepherd/change', base: 'main', title: 'A change', body: 'Made by the bot.' },
  });
  const pulls = await gitea.listPulls(owner, 'pushed');
  assert.equal(pulls.length, 1);
  assert.equal(pulls[0]?.user.login, gitea.bot.username);
  assert.equal(pulls[0]?.head.ref, 'shepherd/change');
  assert.equal(pulls[0]?.base.ref, 'main');
});

test('labelling an issue delivers a signed webhook to a loopback server, and the bot comments', async (t) => {
  const receiver = await webhookReceiver();
  t.after(() => new Promise((resolve) => receiver.server.close(resolve)));
  const owner = gitea.admin.username;
  const secret = 'webhook-secret';
  await gitea.createRepo(owner, 'hooked');
  const label = await gitea.createLabel(owner, 'hooked', { name: 'shepherd' });
  await gitea.createWebhook(owner, 'hooked', { url: receiver.url, secret, events: ['issue_label'] });
  const issue = await gitea.createIssue(owner, 'hooked', { title: 'Do a thing', body: 'Please.' });
  const labels = await gitea.addLabels(owner, 'hooked', issue.number, [label.id]);
  assert.deepEqual(
    labels.map((l) => l.name),
    ['shepherd'],
  );

  const delivery = await eventually('issue_label delivery', () =>
    receiver.deliveries.find((d) => d.headers['x-gitea-event-type'] === 'issue_label'),
  );
  assert.ok(delivery.headers['x-gitea-delivery'], 'X-Gitea-Delivery is set');
  const signature = delivery.headers['x-gitea-signature'];
  assert.equal(typeof signature, 'string');
  const expected = createHmac('sha256', secret).update(delivery.body).digest();
  assert.ok(timingSafeEqual(Buffer.from(signature as string, 'hex'), expected), 'the signature verifies');
  const payload = JSON.parse(delivery.body.toString('utf8')) as {
    action: string;
    issue: { number: number; labels: { name: string }[] };
  };
  assert.equal(payload.issue.number, issue.number);
  assert.deepEqual(
    payload.issue.labels.map((l) => l.name),
    ['shepherd'],
  );

  await gitea.api(`/repos/${owner}/hooked/issues/${issue.number}/comments`, {
    as: 'bot',
    body: { body: 'Working on it.' },
  });
  const comments = await gitea.listComments(owner, 'hooked', issue.number);
  assert.deepEqual(
    comments.map((c) => [c.user.login, c.body]),
    [[gitea.bot.username, 'Working on it.']],
  );
});
