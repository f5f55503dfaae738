/**
 * The Jira client against the loopback Jira (test/support/jira-server.ts), with jira.js checking
 * every response against Jira's schema: search pages through the enhanced JQL endpoint within its
 * bounds, tickets read with their ADF description as text, transitions and assignee applied,
 * comments sent as ADF, refusals and outages classified. And the fake itself refuses what Jira
 * refuses, so a passing client test means the requests were ones Jira takes.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createJiraClient, type JiraClient } from '../../src/triggers/jira/jira-client.js';
import { JiraRefusedError, JiraUnavailableError } from '../../src/triggers/jira/jira-errors.js';
import { type JiraServer, startJiraServer } from '../support/jira-server.js';

const email = 'bot@example.com';
const apiToken = 'tok-3b1f0c';

let jira: JiraServer;
let client: JiraClient;
before(async () => {
  jira = await startJiraServer({
    email,
    apiToken,
    maxPageSize: 2,
    accounts: [
      { accountId: 'shepherd-bot', displayName: 'Shepherd' },
      { accountId: 'ann', displayName: 'Ann' },
    ],
  });
  for (let i = 1; i <= 5; i += 1) jira.addTicket({ key: `ABC-${i}`, labels: ['shepherd'] });
  jira.addTicket({ key: 'OPS-1', status: 'In Progress' });
  jira.addTicket({
    key: 'ABC-9',
    summary: 'Flaky test',
    status: 'Done',
    description: {
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'It fails on Tuesdays.' }] }],
    },
  });
  client = createJiraClient({
    url: jira.url,
    email,
    apiToken,
    credentialsSecret: 'jira',
    onSchemaMismatch: 'throw',
  });
});
after(async () => {
  await jira.close();
});

describe('the Jira client', () => {
  it('searches page by page through the enhanced JQL search, within its bound', async () => {
    const before = jira.calls('POST', '/rest/api/3/search/jql').length;
    const all = await client.search('project = ABC AND status = "To Do"', 50);
    assert.deepEqual(
      all.map((t) => t.key),
      ['ABC-1', 'ABC-2', 'ABC-3', 'ABC-4', 'ABC-5'],
    );
    assert.equal(
      jira.calls('POST', '/rest/api/3/search/jql').length - before,
      3,
      'pages of 2: three requests',
    );
    const [first] = jira.calls('POST', '/rest/api/3/search/jql').slice(before);
    assert.deepEqual(first?.body, {
      jql: 'project = ABC AND status = "To Do"',
      maxResults: 50,
      fields: ['summary', 'description', 'status', 'assignee', 'labels'],
    });
    const some = await client.search('project = ABC AND status = "To Do"', 3);
    assert.deepEqual(
      some.map((t) => t.key),
      ['ABC-1', 'ABC-2', 'ABC-3'],
    );
    assert.deepEqual(some[0], {
      key: 'ABC-1',
      id: jira.ticket('ABC-1').id,
      url: `${jira.url}/browse/ABC-1`,
      summary: 'Ticket ABC-1',
      description: '',
      status: 'To Do',
      labels: ['shepherd'],
    });
  });

  it("passes on Jira's refusal of a JQL, naming the field", async () => {
    await assert.rejects(client.search('summary ~ "flaky"', 10), (error: unknown) => {
      assert.ok(error instanceof JiraRefusedError);
      assert.equal(error.status, 400);
      assert.match(
        error.message,
        /refused searching with the trigger's JQL \(spec\.match\.jql\) \(HTTP 400\): Error in the JQL Query/,
      );
      return true;
    });
  });

  it('reads a ticket with its description as text, and a missing one as undefined', async () => {
    const ticket = await client.getTicket('ABC-9');
    assert.equal(ticket?.description, 'It fails on Tuesdays.');
    assert.equal(ticket?.status, 'Done');
    assert.equal(await client.getTicket('ABC-404'), undefined);
  });

  it('applies a transition by target status, then knows it is there, and lists what is offered', async () => {
    assert.deepEqual(await client.transition('ABC-5', 'In Progress'), { outcome: 'applied' });
    const [post] = jira.calls('POST', '/rest/api/3/issue/ABC-5/transitions');
    assert.deepEqual(post?.body, { transition: { id: '11' } });
    assert.equal(jira.ticket('ABC-5').status, 'In Progress');
    assert.deepEqual(await client.transition('ABC-5', 'in progress'), { outcome: 'already' });
    assert.deepEqual(await client.transition('ABC-5', 'Done'), {
      outcome: 'unavailable',
      status: 'In Progress',
      available: ['Stop Progress', 'Review'],
    });
    assert.deepEqual(
      await client.transition('ABC-5', 'Review'),
      { outcome: 'applied' },
      'by transition name',
    );
    assert.equal(jira.ticket('ABC-5').status, 'In Review');
  });

  it('assigns a ticket', async () => {
    await client.assign('ABC-4', 'ann');
    assert.deepEqual(jira.calls('PUT', '/rest/api/3/issue/ABC-4/assignee')[0]?.body, { accountId: 'ann' });
    assert.equal(jira.ticket('ABC-4').assignee, 'ann');
    await assert.rejects(client.assign('ABC-4', 'nobody'), (error: unknown) => {
      assert.ok(error instanceof JiraRefusedError);
      assert.match(error.message, /assignee: User 'nobody' cannot be assigned issues/);
      return true;
    });
  });

  it('comments in ADF, with links', async () => {
    await client.comment(
      'ABC-3',
      'Session started: https://shepherd.example/s/1\nWatch it live.\n\nMore later.',
    );
    assert.deepEqual(jira.comments('ABC-3'), [
      {
        type: 'doc',
        version: 1,
        content: [
          {
            type: 'paragraph',
            content: [
              { type: 'text', text: 'Session started: ' },
              {
                type: 'text',
                text: 'https://shepherd.example/s/1',
                marks: [{ type: 'link', attrs: { href: 'https://shepherd.example/s/1' } }],
              },
              { type: 'hardBreak' },
              { type: 'text', text: 'Watch it live.' },
            ],
          },
          { type: 'paragraph', content: [{ type: 'text', text: 'More later.' }] },
        ],
      },
    ]);
    assert.equal(
      jira.calls('POST', /\/rest\/api\/2\//).length,
      0,
      'the v3 endpoint, not the wiki-markup one',
    );
  });

  it('never puts anything but a ticket key into a path', async () => {
    await assert.rejects(client.comment('ABC-1/../../myself', 'x'), /is not a Jira ticket key/);
  });

  it('says which Secret Jira refused, and never the token', async () => {
    const wrong = createJiraClient({
      url: jira.url,
      email,
      apiToken: 'wrong-token',
      credentialsSecret: 'jira-creds',
    });
    await assert.rejects(wrong.getTicket('ABC-1'), (error: unknown) => {
      assert.ok(error instanceof JiraRefusedError);
      assert.equal(error.status, 401);
      assert.match(error.message, /check the email and apiToken in Secret jira-creds/);
      assert.ok(!error.message.includes('wrong-token') && !error.message.includes(apiToken));
      return true;
    });
  });

  it('gives up on a Jira that does not answer, and on one that is not there, as retryable', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = createJiraClient({
        url: `http://127.0.0.1:${port}`,
        email,
        apiToken,
        credentialsSecret: 'jira',
        timeoutMs: 300,
      });
      const started = Date.now();
      await assert.rejects(slow.getTicket('ABC-1'), (error: unknown) => {
        assert.ok(error instanceof JiraUnavailableError);
        assert.match(error.message, /did not answer reading ticket ABC-1 within 300 ms; it is retried/);
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    const gone = createJiraClient({
      url: `http://127.0.0.1:${port}`,
      email,
      apiToken,
      credentialsSecret: 'jira',
    });
    await assert.rejects(gone.getTicket('ABC-1'), JiraUnavailableError);
  });

  it('sent only requests Jira takes, but for the refusals asked for above', () => {
    assert.deepEqual(
      jira.refusals().map((r) => `${r.status} ${r.method} ${r.path}`),
      [
        '400 POST /rest/api/3/search/jql',
        '404 GET /rest/api/3/issue/ABC-404',
        '400 PUT /rest/api/3/issue/ABC-4/assignee',
        '401 GET /rest/api/3/issue/ABC-1',
      ],
    );
  });
});

describe('the loopback Jira refuses what Jira refuses', () => {
  const auth = { authorization: `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const send = async (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${jira.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('refuses requests without the account', async () => {
    assert.equal((await send('GET', '/rest/api/3/myself', {})).status, 401);
    assert.equal((await send('GET', '/rest/api/3/myself', auth)).status, 200);
  });

  it('refuses other methods, paths and media types', async () => {
    assert.equal((await send('GET', '/rest/api/3/search/jql?jql=x', auth)).status, 405);
    assert.equal((await send('DELETE', '/rest/api/3/issue/ABC-1', auth)).status, 405);
    assert.equal((await send('POST', '/rest/api/2/issue/ABC-1/comment', json, { body: 'x' })).status, 404);
    assert.equal(
      (await send('POST', '/rest/api/3/issue/ABC-1/comment', { ...auth, 'content-type': 'text/plain' }, '{}'))
        .status,
      415,
    );
    assert.equal((await send('POST', '/rest/api/3/issue/ABC-1/comment', json, '{not json')).status, 400);
  });

  it('refuses bodies without the required fields or with fields the endpoint lacks', async () => {
    const refused = async (method: string, path: string, body: unknown) => {
      const response = await send(method, path, json, body);
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    };
    await refused('POST', '/rest/api/3/search/jql', { jql: '' });
    await refused('POST', '/rest/api/3/search/jql', { jql: 'project = ABC', startAt: 0 });
    await refused('POST', '/rest/api/3/search/jql', { jql: 'project = ABC', maxResults: 0 });
    await refused('POST', '/rest/api/3/issue/ABC-1/transitions', {});
    await refused('POST', '/rest/api/3/issue/ABC-1/transitions', { transition: { name: 'Start Progress' } });
    await refused('POST', '/rest/api/3/issue/ABC-1/transitions', { transition: { id: '41' } });
    await refused('PUT', '/rest/api/3/issue/ABC-1/assignee', { name: 'ann' });
    await refused('POST', '/rest/api/3/issue/ABC-1/comment', { body: 'plain text is the v2 API' });
    await refused('POST', '/rest/api/3/issue/ABC-1/comment', {
      body: {
        type: 'doc',
        version: 1,
        content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }],
      },
    });
    await refused('POST', '/rest/api/3/issue/ABC-1/comment', {
      body: { type: 'doc', version: 1, content: [] },
      author: 'me',
    });
    assert.equal((await send('GET', '/rest/api/3/issue/NOPE-1', auth)).status, 404);
  });
});
