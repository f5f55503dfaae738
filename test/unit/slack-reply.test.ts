/**
 * The Slack thread reply against a loopback server that speaks Slack's Web API as documented for
 * chat.postMessage (docs.slack.dev/reference/methods/chat.postMessage): a POST to
 * `<api>/chat.postMessage`, the bot token in the Authorization header, a form body whose fields are
 * the method's documented arguments with `channel` required, and `{ok, channel, ts}` or
 * `{ok: false, error}` back. The server refuses any field the method does not document.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { postSlackReply, SlackReplyError } from '../../src/triggers/slack/slack-reply.js';

/** chat.postMessage's documented arguments. */
const DOCUMENTED = new Set([
  'token',
  'channel',
  'as_user',
  'attachments',
  'blocks',
  'icon_emoji',
  'icon_url',
  'link_names',
  'markdown_text',
  'metadata',
  'mrkdwn',
  'parse',
  'reply_broadcast',
  'text',
  'thread_ts',
  'unfurl_links',
  'unfurl_media',
  'username',
]);
const TOKEN = 'xoxb-test-token-1234';

interface Seen {
  path: string;
  authorization?: string;
  contentType?: string;
  fields: Record<string, string>;
}
const seen: Seen[] = [];
/** What the server answers next, in order; then `{ok: true}`. */
let script: Array<(res: ServerResponse) => void> = [];
let url = '';

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    seen.push({
      path: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
      fields,
    });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const undocumented = Object.keys(fields).filter((key) => !DOCUMENTED.has(key));
    if (req.method !== 'POST' || req.url !== '/api/chat.postMessage')
      return json(404, { ok: false, error: 'unknown_method' });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(200, { ok: false, error: 'not_authed' });
    if (undocumented.length > 0 || !fields.channel)
      return json(200, { ok: false, error: 'invalid_arguments' });
    const next = script.shift();
    if (next) return next(res);
    json(200, {
      ok: true,
      channel: fields.channel,
      ts: '1503435956.000247',
      message: { text: fields.text, type: 'message', ts: '1503435956.000247', thread_ts: fields.thread_ts },
    });
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const options = () => ({ token: TOKEN, slackApiUrl: url, minBackoffMs: 10 });

test('a reply is a documented chat.postMessage in the thread, with the token in the header', async () => {
  seen.length = 0;
  const posted = await postSlackReply(options(), {
    channel: 'C0LAN2Q65',
    threadTs: '1515449438.000011',
    text: 'Shepherd started *fix-flaky-test*',
  });
  assert.deepEqual(posted, { channel: 'C0LAN2Q65', ts: '1503435956.000247' });
  assert.equal(seen.length, 1);
  const [request] = seen;
  assert.equal(request!.path, '/api/chat.postMessage');
  assert.equal(request!.authorization, `Bearer ${TOKEN}`);
  assert.match(request!.contentType ?? '', /^application\/x-www-form-urlencoded/);
  assert.deepEqual(request!.fields, {
    channel: 'C0LAN2Q65',
    thread_ts: '1515449438.000011',
    text: 'Shepherd started *fix-flaky-test*',
    unfurl_links: 'false',
  });
});

test('a server error is retried, boundedly; a refusal is final and says what to do', async () => {
  seen.length = 0;
  script = [(res) => res.writeHead(503).end(), (res) => res.writeHead(502).end()];
  const posted = await postSlackReply(options(), { channel: 'C1', text: 'done' });
  assert.equal(posted.ts, '1503435956.000247');
  assert.equal(seen.length, 3, 'two failures, then the reply');

  seen.length = 0;
  script = Array.from({ length: 10 }, () => (res: ServerResponse) => res.writeHead(500).end());
  await assert.rejects(
    postSlackReply({ ...options(), retries: 2 }, { channel: 'C1', text: 'done' }),
    (error) => {
      assert.ok(error instanceof SlackReplyError);
      assert.equal(error.retryable, true);
      return true;
    },
  );
  assert.equal(seen.length, 3, 'the first try and two retries');
  script = [];

  seen.length = 0;
  script = [
    (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'not_in_channel' }));
    },
  ];
  await assert.rejects(postSlackReply(options(), { channel: 'C2', text: 'done' }), (error) => {
    assert.ok(error instanceof SlackReplyError);
    assert.equal(error.code, 'not_in_channel');
    assert.equal(error.retryable, false);
    assert.match(error.message, /invite the app to the channel/);
    assert.ok(!error.message.includes(TOKEN));
    return true;
  });
  assert.equal(seen.length, 1, 'a refusal is not retried');
});

test("a rate limit is reported with Slack's Retry-After, not waited out", async () => {
  seen.length = 0;
  script = [
    (res) => {
      res.writeHead(429, { 'retry-after': '30', 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    },
  ];
  const started = Date.now();
  await assert.rejects(postSlackReply(options(), { channel: 'C3', text: 'done' }), (error) => {
    assert.ok(error instanceof SlackReplyError);
    assert.equal(error.code, 'ratelimited');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterSeconds, 30);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
  assert.equal(seen.length, 1);
});
