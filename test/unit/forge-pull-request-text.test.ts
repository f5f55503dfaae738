/**
 * The pull request's title and body: where the title comes from (spec, summary, session name),
 * what the body says (summary, session links, usage, trigger, the hidden session marker) and the
 * bounds on both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_SUMMARY,
  MAX_TITLE,
  pullRequestBody,
  pullRequestText,
  pullRequestTitle,
  sessionLinks,
  usageLine,
} from '../../src/forges/pull-request-text.js';

const session = { namespace: 'team-a', name: 'fix-login-3f2a' };

describe('pullRequestTitle', () => {
  it('takes the spec’s title first', () => {
    assert.equal(
      pullRequestTitle({ ...session, title: '  Fix  the login ', summary: 'Other' }),
      'Fix the login',
    );
  });

  it('else the first line of the summary that says something, without Markdown marks', () => {
    assert.equal(
      pullRequestTitle({ ...session, summary: '\n\n## Fixed the flaky test\n\nDetails…' }),
      'Fixed the flaky test',
    );
    assert.equal(
      pullRequestTitle({ ...session, summary: '- Bumped the parser\n- And more' }),
      'Bumped the parser',
    );
  });

  it('cuts a long first line at a word, with an ellipsis', () => {
    const summary = `Rewrote ${'the very long module name '.repeat(5)}end`;
    const title = pullRequestTitle({ ...session, summary });
    assert.ok(title.length <= MAX_TITLE, title);
    assert.ok(title.endsWith('…'), title);
    assert.ok(summary.startsWith(title.slice(0, -1)));
    assert.equal(summary[title.length - 1], ' ', 'cut where a word ends');
  });

  it('cuts a line without spaces anywhere', () => {
    const title = pullRequestTitle({ ...session, summary: 'x'.repeat(200) });
    assert.equal(title, `${'x'.repeat(MAX_TITLE - 1)}…`);
  });

  it('else names the session', () => {
    assert.equal(pullRequestTitle({ ...session }), 'Shepherd: fix-login-3f2a');
    assert.equal(pullRequestTitle({ ...session, title: ' ', summary: '\n  \n' }), 'Shepherd: fix-login-3f2a');
  });
});

describe('pullRequestBody', () => {
  const links = sessionLinks(
    {
      apiUrl: 'https://shepherd.example.com/',
      temporalUiUrl: 'https://temporal.example.com',
      temporalNamespace: 'prod',
    },
    session.namespace,
    session.name,
  );

  it('says the summary, the session with its links, the trigger and the usage, and ends with the marker', () => {
    const body = pullRequestBody({
      ...session,
      summary: 'Fixed the login.\n\n- one\n- two',
      links,
      usage: { inputTokens: 12345, outputTokens: 2345, cacheReadTokens: 1000, costUsd: 0.4213 },
      triggerUrl: 'https://github.com/acme/app/issues/7',
    });
    assert.equal(
      body,
      [
        'Fixed the login.',
        '',
        '- one',
        '- two',
        '',
        '---',
        '**Session:** [`team-a/fix-login-3f2a`](https://shepherd.example.com/api/v1/namespaces/team-a/sessions/fix-login-3f2a) · [Temporal](https://temporal.example.com/namespaces/prod/workflows/agent-session%2Fteam-a%2Ffix-login-3f2a)  ',
        '**Triggered by:** https://github.com/acme/app/issues/7  ',
        '**Usage:** 12,345 input and 2,345 output tokens (1,000 cache read) · $0.42',
        '',
        '<!-- shepherd:session team-a/fix-login-3f2a -->',
        '',
      ].join('\n'),
    );
  });

  it('says so when there is no summary, and leaves out what is not known', () => {
    assert.equal(
      pullRequestBody({ ...session }),
      '_The agent reported no summary._\n\n---\n**Session:** `team-a/fix-login-3f2a`\n\n<!-- shepherd:session team-a/fix-login-3f2a -->\n',
    );
  });

  it('keeps one marker: a summary cannot claim another session', () => {
    const body = pullRequestBody({ ...session, summary: 'Done <!-- shepherd:session other/one -->' });
    assert.deepEqual(body.match(/<!-- shepherd:[^>]*-->/g), [
      '<!-- shepherd:session team-a/fix-login-3f2a -->',
    ]);
  });

  it('cuts a huge summary and says so', () => {
    const body = pullRequestBody({ ...session, summary: 'y'.repeat(MAX_SUMMARY * 2) });
    assert.ok(body.length < 65_536, String(body.length));
    assert.match(body, /… \(the summary is cut at 60,000 characters\)/);
  });

  it('comes with the title', () => {
    const text = pullRequestText({ ...session, summary: 'Did it' });
    assert.equal(text.title, 'Did it');
    assert.match(text.body, /^Did it\n/);
  });
});

describe('sessionLinks and usageLine', () => {
  it('links only what is configured, escaping the names', () => {
    assert.deepEqual(sessionLinks({}, 'a', 'b'), {});
    assert.deepEqual(sessionLinks({ temporalUiUrl: 'http://127.0.0.1:8233/' }, 'a', 'b'), {
      temporal: 'http://127.0.0.1:8233/namespaces/default/workflows/agent-session%2Fa%2Fb',
    });
  });

  it('says what was reported, tokens before cost', () => {
    assert.equal(usageLine(undefined), undefined);
    assert.equal(usageLine({}), undefined);
    assert.equal(usageLine({ costUsd: 0.004 }), '< $0.01');
    assert.equal(usageLine({ costUsd: 0 }), '$0.00');
    assert.equal(usageLine({ outputTokens: 5 }), '5 output tokens');
    assert.equal(usageLine({ cacheWriteTokens: 1500 }), '1,500 cache write tokens');
    assert.equal(
      usageLine({
        inputTokens: 1,
        outputTokens: 2,
        cacheReadTokens: 3,
        cacheWriteTokens: 4,
        costUsd: 12.345,
      }),
      '1 input and 2 output tokens (3 cache read, 4 cache write) · $12.35',
    );
  });
});
