/**
 * What both forge adapters share: which failed answers are retried and which are reported, the
 * words of their messages, credentials kept out of them, and why a call got no answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForgeRefusedError, ForgeUnavailableError } from '../../src/forges/forge.js';
import {
  type ForgeCall,
  forgeAnswerError,
  forgeText,
  unansweredReason,
} from '../../src/forges/forge-http.js';

const call: ForgeCall = {
  forge: 'Gitea https://gitea.example.com',
  repo: { owner: 'team', name: 'app' },
  what: 'commenting on #3',
  permission: 'write:issue',
  credentials: 'the token of Secret default/gitea',
  grant: 'by making a new access token with that scope',
  access: "make the token's user a collaborator",
};

describe('forgeAnswerError', () => {
  for (const status of [500, 502, 503, 504, 408, 429]) {
    it(`retries a ${status}`, () => {
      const error = forgeAnswerError(call, { status });
      assert.ok(error instanceof ForgeUnavailableError);
      assert.match(error.message, /; it is retried$/);
    });
  }

  it('retries a rate-limited 403 with the forge’s wait', () => {
    const error = forgeAnswerError(call, { status: 403, rateLimited: true, retryAfterSeconds: 9 });
    assert.ok(error instanceof ForgeUnavailableError);
    assert.equal(error.retryAfterSeconds, 9);
    assert.match(
      error.message,
      /rate limited \(the forge asks to wait 9 s\): the token of Secret default\/gitea made too many calls/,
    );
  });

  for (const [status, fix] of [
    [401, /the token of Secret default\/gitea is not accepted \(wrong, expired or revoked\): replace it$/],
    [
      403,
      /lacks the write:issue permission on team\/app: grant it by making a new access token with that scope$/,
    ],
    [
      404,
      /team\/app does not exist on Gitea https:\/\/gitea.example.com, or the token of Secret default\/gitea cannot see it: check the repository URL, or make the token's user a collaborator$/,
    ],
    [422, /the forge would not take the request as made: see its message$/],
  ] as const) {
    it(`reports a ${status} with its fix, not retried`, () => {
      const error = forgeAnswerError(call, { status, message: 'said so' });
      assert.ok(error instanceof ForgeRefusedError);
      assert.equal(error.name, 'ForgeRefusedError');
      assert.equal(error.status, status);
      assert.match(
        error.message,
        new RegExp(
          `^Gitea https://gitea.example.com: commenting on #3 in team/app failed with HTTP ${status}: said so; `,
        ),
      );
      assert.match(error.message, fix);
    });
  }
});

describe('forgeText', () => {
  it('replaces the credentials it is given and any token-shaped text, on one bounded line', () => {
    const text = forgeText(
      'bad token abcdefghijklmnopqrstuvwxyz012345 from ghs_16C7e42F292c6912E7710c838347Ae178B4a\nand my-own-secret-value\n'.concat(
        'x'.repeat(1000),
      ),
      ['my-own-secret-value'],
    );
    assert.ok(
      !text.includes('abcdefghijklmnop') && !text.includes('ghs_16C7') && !text.includes('my-own-secret'),
    );
    assert.ok(!text.includes('\n'));
    assert.ok(text.length <= 301, String(text.length));
    assert.match(text, /^bad token \[redacted\] from \[redacted\] and \[redacted\] x+…$/);
  });

  it('keeps a forge’s words that only look a little like credentials', () => {
    assert.equal(forgeText('token scope=write:issue', []), 'token scope=write:issue');
  });
});

describe('unansweredReason', () => {
  it('names a timeout, a cancellation, or the innermost cause', () => {
    assert.equal(unansweredReason(new DOMException('x', 'TimeoutError'), 1500), 'no answer within 1.5 s');
    assert.equal(
      unansweredReason(new Error('wrapped', { cause: new DOMException('x', 'AbortError') }), 1),
      'the call was cancelled',
    );
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    assert.equal(
      unansweredReason(new Error('fetch failed', { cause: refused }), 1),
      'connect ECONNREFUSED 127.0.0.1:9',
    );
    const both = new AggregateError([new Error('connect ECONNREFUSED ::1:9'), new Error('v4')], '');
    assert.equal(
      unansweredReason(new TypeError('fetch failed', { cause: both }), 1),
      'connect ECONNREFUSED ::1:9',
    );
    assert.equal(unansweredReason('odd', 1), 'odd');
  });
});
