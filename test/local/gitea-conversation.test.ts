/**
 * A conversation driven from a real Gitea, in local mode: one session, one output branch, one pull
 * request, five turns from everywhere a prompt can come from. An issue labelled `shepherd` starts
 * the session (turn 1 opens the pull request); turn 2 comes over the API, turn 3 from the
 * `shepherd send` CLI, turn 4 from a review on the pull request with a comment on its diff, in
 * which the agent asks a question; the bot posts the question on the issue and the answer, an
 * issue comment that mentions the bot, is turn 5. Every turn pushes to the same branch, the pull
 * request gets each commit, the bot says on the issue what each turn changed, and closing the pull
 * request on Gitea ends the idle session. This is what a user of a forge sees of a conversation:
 * the unit and integration tests cover each piece, only this shows they fit on Gitea's own
 * webhooks and API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { localAuthenticator } from '../../src/api/auth.js';
import { createApiMetrics } from '../../src/api/metrics.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import type { ApiSession, PromptResult } from '../../src/api/session-backend.js';
import { repoRoot } from '../../src/processes/tools.js';
import { localBackend } from '../../src/runtime/local/local-backend.js';
import { localFollowUps } from '../../src/triggers/conversations/runtime-follow-ups.js';
import { startLocalTriggerCatalog } from '../../src/triggers/local-trigger-catalog.js';
import type { TriggerCatalog } from '../../src/triggers/trigger-catalog.js';
import { type Gitea, type GiteaComment, startGitea } from '../support/gitea.js';
import { envVar, eventually, randomSuffix } from '../support/kube.js';
import { localRuntimeEnv, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-gitea-talk-'));
const namespace = `talk-${randomSuffix()}`;
const WEBHOOK_SECRET = `hook-${randomSuffix()}-${randomSuffix()}`;
const QUESTION = 'Which colour should the checkout button be?';
/**
 * The agent: each turn appends one line with its number and its prompt (newlines flattened) to
 * NOTES.md, so every turn is a commit whose content shows what the agent was told. A prompt that
 * says "ask me" makes it ask instead of finishing (the runner still pushes the line).
 */
const AGENT = [
  `printf 'turn %s: %s\\n' "$SHEPHERD_TURN" "$(printf '%s' "$INITIAL_PROMPT" | tr '\\n' ' ')" >> NOTES.md`,
  `case "$INITIAL_PROMPT" in *"ask me"*) printf '%s\\n' '${QUESTION}' > "$SHEPHERD_QUESTION_FILE";; esac`,
].join('\n');

let gitea: Gitea;
let worker: WorkerProcess;
let connection: Connection;
let catalog: TriggerCatalog;
let app: FastifyInstance;
let server: RunningServer;

before(async () => {
  gitea = await startGitea();
  const triggersFile = join(root, 'triggers.yaml');
  // No `conversation.stopOnTurnFinished`: a triggered session stays open, Idle after each turn.
  // `mention` is the bot's login: a comment that mentions it is a follow-up (no command word, so
  // no comment starts a session of its own).
  writeFileSync(
    triggersFile,
    `apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: shop-issues, namespace: ${namespace}}
spec:
  source: gitea
  match: {label: shepherd, mention: ${gitea.bot.username}}
  forge: {url: "${gitea.url}", credentialsSecretRef: {name: gitea-bot}}
  webhookSecretRef: {name: gitea-webhook}
  sessionTemplate:
    agent: command
    command: [sh, -c, ${JSON.stringify(AGENT)}]
    timeout: 5m
---
apiVersion: v1
kind: Secret
metadata: {name: gitea-bot, namespace: ${namespace}}
stringData: {token: ${gitea.bot.token}}
---
apiVersion: v1
kind: Secret
metadata: {name: gitea-webhook, namespace: ${namespace}}
stringData: {secret: ${WEBHOOK_SECRET}}
`,
  );
  connection = await Connection.connect({ address: envVar('TEMPORAL_ADDRESS') });
  const client = new Client({ connection });
  const logger = pino({ level: 'silent' });
  catalog = startLocalTriggerCatalog({ file: triggersFile, logger });
  await catalog.ready();
  const dataDir = join(root, 'data');
  const forges = [{ type: 'gitea' as const, url: gitea.url }];
  worker = await startWorkerProcess({
    ...localRuntimeEnv(dataDir),
    SHEPHERD_TRIGGERS_FILE: triggersFile,
    SHEPHERD_FORGES: JSON.stringify(forges),
  });
  const backend = localBackend({ client, taskQueue: worker.taskQueue, dataDir });
  // As `npm run api` builds it in local mode: follow-ups find sessions through the local backend.
  app = await buildApp({
    backend,
    auth: localAuthenticator(undefined),
    metrics: createApiMetrics(false),
    webhooks: {
      catalog,
      followUps: localFollowUps({ backend, triggersFile, client, forges, logger }),
    },
  });
  server = await startServer(app, { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await server?.close();
  await catalog?.stop();
  await worker?.stop();
  await connection?.close();
  await gitea?.stop();
  rmSync(root, { recursive: true, force: true });
});

const sessionsPath = `/api/v1/namespaces/${namespace}/sessions`;

async function getSession(name: string): Promise<ApiSession> {
  const response = await app.inject({ url: `${sessionsPath}/${name}` });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<ApiSession>();
}

/** The session once it is in `phase` with `turns` turns recorded, the last one finished. */
function settled(name: string, phase: string, turns: number, timeoutMs = 180_000): Promise<ApiSession> {
  return eventually(
    `session ${name} to be ${phase} after turn ${turns}`,
    () => getSession(name),
    (s) =>
      s.status.phase === phase &&
      s.status.turns?.length === turns &&
      s.status.turns.at(-1)?.result !== undefined,
    timeoutMs,
  );
}

/** `shepherd send` and friends as a user runs them: a child process against the API's URL. */
function cli(args: string[]) {
  return execa(process.execPath, [join(repoRoot, 'bin', 'shepherd.js'), ...args], {
    reject: false,
    // The config directory is the test's own, so a developer's ~/.config/shepherd is not read.
    env: { SHEPHERD_API_URL: server.url, SHEPHERD_NAMESPACE: namespace, XDG_CONFIG_HOME: root },
  });
}

test('a conversation on Gitea: turns from the issue, the API, the CLI and a review, a question answered on the issue, ended by closing the pull request', async () => {
  const owner = gitea.admin.username;
  const bot = gitea.bot.username;
  await gitea.createRepo(owner, 'shop');
  const label = await gitea.createLabel(owner, 'shop', { name: 'shepherd' });
  // Gitea's names for the events in a hook's options: `pull_request_review` subscribes to the
  // submitted reviews (delivered as `pull_request_comment`, `_approved`, `_rejected`),
  // `pull_request_comment` to comments on a pull request (delivered as `issue_comment`).
  await gitea.createWebhook(owner, 'shop', {
    url: `${server.url}/api/v1/webhooks/gitea`,
    secret: WEBHOOK_SECRET,
    events: [
      'issues',
      'issue_label',
      'issue_comment',
      'pull_request',
      'pull_request_comment',
      'pull_request_review',
    ],
  });
  const issue = await gitea.createIssue(owner, 'shop', {
    title: 'Keep notes of the checkout work',
    body: 'Write what you did in NOTES.md.',
  });
  await gitea.addLabels(owner, 'shop', issue.number, [label.id]);

  // Turn 1: the labelled issue. Its session is found by listing (a triggered session's name is
  // the trigger's to choose), and its pull request appears on Gitea.
  const { items } = await eventually(
    'the labelled issue to start a session',
    async () => (await app.inject({ url: sessionsPath })).json<{ items: ApiSession[] }>(),
    (list) => list.items.length > 0,
    60_000,
  );
  const name = items[0]?.metadata.name ?? '';
  assert.ok(name, 'the session has a name');
  const branch = `shepherd/${name}`;
  await settled(name, 'Idle', 1, 240_000);
  const pulls = await gitea.listPulls(owner, 'shop');
  assert.equal(pulls.length, 1, 'turn 1 opened the pull request');
  const pull = pulls[0]!;
  assert.equal(pull.head.ref, branch);
  assert.equal(pull.state, 'open');
  assert.equal(pull.user.login, bot);

  // Turn 2: over the API, as any HTTP client sends it.
  const viaApi = await fetch(`${server.url}${sessionsPath}/${name}/prompts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'second: the API says hello' }),
  });
  assert.equal(viaApi.status, 202, await viaApi.clone().text());
  assert.equal(((await viaApi.json()) as PromptResult).turn, 2);
  await settled(name, 'Idle', 2);

  // Turn 3: from the CLI.
  const sent = await cli(['send', name, 'third: the CLI says hello']);
  assert.equal(sent.exitCode, 0, sent.stderr);
  assert.equal(sent.stdout.trim(), 'turn 3');
  await settled(name, 'Idle', 3);

  // Turn 4: a review on the pull request (Gitea delivers a submitted review, not a lone comment
  // on the diff: its API makes diff comments only inside a review), mentioning the bot, with a
  // comment on line 1 of NOTES.md. The prompt carries both, and makes the agent ask.
  const review = await gitea.createReview(owner, 'shop', pull.number, {
    body: `@${bot} fourth: the review says hello, and ask me about the colour`,
    comments: [{ path: 'NOTES.md', body: 'the first note is on this line', new_position: 1 }],
  });
  assert.ok(review.id > 0);
  const waiting = await settled(name, 'WaitingForInput', 4);
  assert.equal(waiting.status.question?.text, QUESTION);
  assert.equal(waiting.status.question?.turn, 4);
  const asked = await eventually(
    'the question on the issue',
    () => gitea.listComments(owner, 'shop', issue.number),
    (list) => list.some((c) => c.user.login === bot && c.body.includes(`has a question (turn 4)`)),
    60_000,
  );
  assert.ok(
    asked.some((c) => c.user.login === bot && c.body.includes(`> ${QUESTION}`)),
    'the bot quotes the question',
  );

  // Turn 5: the answer, an issue comment that mentions the bot.
  await gitea.createComment(owner, 'shop', issue.number, `@${bot} blue, like the sky`);
  const idle = await settled(name, 'Idle', 5);
  assert.equal(idle.status.question, undefined, 'the question was answered');

  // What the agent was told, turn by turn, as pushed to the one branch.
  const notes = (await gitea.readFile(owner, 'shop', 'NOTES.md', branch)).trimEnd().split('\n');
  assert.equal(notes.length, 5, notes.join('\n'));
  assert.match(notes[0]!, /^turn 1: .*Keep notes of the checkout work.*Write what you did in NOTES\.md/);
  assert.equal(notes[1], 'turn 2: second: the API says hello');
  assert.equal(notes[2], 'turn 3: third: the CLI says hello');
  assert.match(
    notes[3]!,
    new RegExp(`^turn 4: A review \\(commenting\\) from ${owner} on pull request #${pull.number}`),
  );
  assert.match(notes[3]!, /fourth: the review says hello/);
  assert.match(
    notes[3]!,
    /On NOTES\.md, line 1.*the first note is on this line/,
    'the comment on the diff, with its line',
  );
  assert.match(
    notes[4]!,
    new RegExp(`^turn 5: A comment from ${owner} on issue #${issue.number}.*blue, like the sky`),
  );

  // The one pull request has every turn's commit, and still only NOTES.md.
  const turns = idle.status.turns ?? [];
  const commits = (await gitea.listPullCommits(owner, 'shop', pull.number)).map((c) => c.sha).reverse();
  assert.deepEqual(
    commits,
    turns.map((t) => t.commit),
    'each turn pushed one commit to the pull request',
  );
  assert.deepEqual(await gitea.listPullFiles(owner, 'shop', pull.number), ['NOTES.md']);
  assert.equal((await gitea.listPulls(owner, 'shop')).length, 1, 'one pull request');

  // On the issue, the bot said what each finished turn changed: the branch at its commit. The
  // workflow shows the session Idle before it sends the last turn's comment, so that one is awaited.
  const comments = await eventually(
    'the comment for turn 5 on the issue',
    () => gitea.listComments(owner, 'shop', issue.number),
    (list) => list.some((c) => c.user.login === bot && c.body.includes('finished turn 5.')),
    60_000,
  );
  const byBot = comments.filter((c) => c.user.login === bot);
  const turnComment = (n: number): GiteaComment | undefined =>
    byBot.find((c) => c.body.includes(`finished turn ${n}.`));
  for (const turn of turns.filter((t) => t.result === 'Succeeded')) {
    const comment = turnComment(turn.number);
    assert.ok(comment, `a comment for turn ${turn.number}`);
    assert.ok(
      comment.body.includes(`\`${branch}\` at \`${turn.commit?.slice(0, 12)}\``),
      `turn ${turn.number}'s comment names its commit: ${comment.body}`,
    );
    assert.ok(comment.body.includes(pull.html_url), 'and the pull request');
    assert.ok(comment.body.includes(`mentions @${bot}`), 'and says how to send the next prompt');
  }
  assert.equal(turnComment(4), undefined, 'turn 4 asked instead of finishing');

  // Closing the pull request on Gitea ends the idle session.
  await gitea.closePull(owner, 'shop', pull.number);
  const ended = await eventually(
    'the session to end once its pull request is closed',
    () => getSession(name),
    (s) => s.status.phase === 'Succeeded',
    120_000,
  );
  const completed = ended.status.conditions?.find((c) => c.type === 'Completed');
  assert.equal(completed?.reason, 'PullRequestClosed', JSON.stringify(completed));
  assert.deepEqual(
    ended.status.turns?.map((t) => [t.number, t.source, t.author, t.result]),
    [
      // Turn 1's prompt is the one the trigger rendered from the labelled issue.
      [1, 'gitea', undefined, 'Succeeded'],
      // A local API serves one user it knows by no name.
      [2, 'api', undefined, 'Succeeded'],
      [3, 'cli', undefined, 'Succeeded'],
      [4, 'gitea', owner, 'Question'],
      [5, 'gitea', owner, 'Succeeded'],
    ],
  );
  const final = await eventually(
    'the end comment on the issue',
    () => gitea.listComments(owner, 'shop', issue.number),
    (list) => list.some((c) => c.user.login === bot && c.body.includes(`${name}\` succeeded`)),
    60_000,
  );
  assert.ok(
    final.some((c) => c.body.includes(`${name}\` succeeded`) && c.body.includes(pull.html_url)),
    'the end comment links the pull request',
  );
  // Every follow-up was taken once: no delivery was passed on twice and refused.
  const onPull = await gitea.listComments(owner, 'shop', pull.number);
  for (const comment of [...final, ...onPull]) {
    assert.doesNotMatch(comment.body, /could not pass this on/, comment.body);
  }
  assert.equal((await app.inject({ url: sessionsPath })).json<{ items: unknown[] }>().items.length, 1);
});
