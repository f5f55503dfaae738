/**
 * What a source is told about a session: the start note with its links, and the end report with
 * the result, pull requests, usage, and for a failure the reason and the runner log's tail — in
 * the markup of each destination (Markdown for forges, Slack's mrkdwn, plain text for Jira).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEEDBACK_MARKER } from '../../src/triggers/trigger-match.js';
import {
  endedText,
  type FeedbackSession,
  questionText,
  startedText,
  turnText,
} from '../../src/session-outcome/feedback-text.js';

const session: FeedbackSession = {
  namespace: 'team-a',
  name: 'shop-issues-1a2b3c',
  agent: 'claude',
  links: {
    api: 'https://shepherd.example.com/api/v1/namespaces/team-a/sessions/shop-issues-1a2b3c',
    temporal:
      'https://temporal.example.com/namespaces/default/workflows/agent-session%2Fteam-a%2Fshop-issues-1a2b3c',
  },
};

describe('feedback text', () => {
  it('the start note names the session and links it in each markup', () => {
    const markdown = startedText('markdown', session);
    assert.match(markdown, /started session `team-a\/shop-issues-1a2b3c` \(agent claude\)/);
    assert.match(markdown, /\[Session in the Shepherd API\]\(https:\/\/shepherd\.example\.com\/api\/v1\//);
    assert.match(
      startedText('slack', session),
      /<https:\/\/temporal\.example\.com\/[^|]+\|Workflow in the Temporal Web UI>/,
    );
    assert.doesNotMatch(startedText('plain', session), /[`[\]]/);
    assert.ok(markdown.endsWith(FEEDBACK_MARKER), 'forge comments carry the marker the webhooks ignore');
  });

  it('a success reports the result, the pull requests and the cost, and no log', () => {
    const text = endedText('markdown', session, {
      phase: 'Succeeded',
      result: 'Added FIXED.md',
      usage: { inputTokens: 12345, outputTokens: 678, costUsd: 0.4213 },
      repos: [
        {
          url: 'https://gitea.example.com/acme/shop.git',
          status: 'Pushed',
          pullRequestUrl: 'https://gitea.example.com/acme/shop/pulls/7',
        },
      ],
      logTail: 'should not appear',
    });
    assert.match(text, /succeeded\./);
    assert.match(text, /Added FIXED\.md/);
    assert.match(
      text,
      /\[https:\/\/gitea\.example\.com\/acme\/shop\.git\]\(https:\/\/gitea\.example\.com\/acme\/shop\/pulls\/7\)/,
    );
    assert.match(text, /12,345 input/);
    assert.match(text, /\$0\.42/);
    assert.doesNotMatch(text, /should not appear/);
  });

  it('a conversation that ended well says why it ended then; a plain success carries no message', () => {
    const closed = endedText('markdown', session, {
      phase: 'Succeeded',
      reason: 'PullRequestClosed',
      message:
        'pull request https://gitea.example.com/acme/shop/pulls/7 was merged, so the conversation ended',
    });
    assert.match(closed, /succeeded\.\n\npull request \S+ was merged, so the conversation ended/);
    const inactive = endedText('plain', session, {
      phase: 'Succeeded',
      reason: 'Inactive',
      message: 'no prompt came within 24h of turn 3, so the conversation ended',
    });
    assert.match(inactive, /no prompt came within 24h of turn 3/);
    const plain = endedText('plain', session, { phase: 'Succeeded', reason: 'Succeeded', message: 'exit 0' });
    assert.doesNotMatch(plain, /exit 0/);
  });

  it('a failure reports the reason, the message and the end of the log in a code block', () => {
    const text = endedText('markdown', session, {
      phase: 'Failed',
      reason: 'RunnerExit',
      message: 'the runner exited 1 on attempt 2 of 2',
      logTail: 'npm ERR! test failed\n```\nexit 1',
    });
    assert.match(text, /failed \(RunnerExit\)\./);
    assert.match(text, /the runner exited 1 on attempt 2 of 2/);
    assert.match(text, /Last lines of the runner log:\n```\nnpm ERR! test failed\n'''\nexit 1\n```/);
  });

  it('a session that changed nothing says no pull request was opened', () => {
    const text = endedText('plain', session, {
      phase: 'Succeeded',
      repos: [{ url: 'https://gitea.example.com/acme/shop.git', status: 'NoChanges' }],
    });
    assert.match(text, /No changes: no pull request was opened\./);
  });

  it('a long result is cut, keeping its end', () => {
    const text = endedText('plain', session, { phase: 'Succeeded', result: `${'a'.repeat(10_000)}THE END` });
    assert.ok(text.length < 7_000);
    assert.match(text, /…a+THE END/);
  });

  it('a finished turn says what changed, how long the session waits, and how to send the next prompt', () => {
    const turn = {
      turn: 2,
      result: 'Renamed the checkout test',
      usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.05 },
      inactivityTimeoutMs: 24 * 3_600_000,
      repos: [
        {
          url: 'https://github.com/acme/shop.git',
          branch: 'shepherd/shop-issues-1a2b3c',
          commit: '3f786850e387550fdab836ed7e6dc881de23001b',
          status: 'Pushed' as const,
          pullRequestUrl: 'https://github.com/acme/shop/pull/7',
        },
      ],
    };
    const address = { source: 'github' as const, command: '/shepherd', mention: 'shepherd-bot' };
    const markdown = turnText('markdown', session, turn, address);
    assert.match(markdown, /session `team-a\/shop-issues-1a2b3c` finished turn 2\./);
    assert.match(markdown, /Renamed the checkout test/);
    assert.match(
      markdown,
      /- https:\/\/github\.com\/acme\/shop\.git `shepherd\/shop-issues-1a2b3c` at `3f786850e387`: \[pull request\]\(https:\/\/github\.com\/acme\/shop\/pull\/7\)/,
    );
    assert.match(markdown, /Usage: 1,000 input and 200 output tokens · \$0\.05/);
    assert.match(markdown, /waits 24h for the next prompt, then ends\./);
    assert.match(
      markdown,
      /comment here or on the pull request that starts with `\/shepherd` or mentions @shepherd-bot/,
    );
    assert.match(markdown, /`shepherd send shop-issues-1a2b3c -n team-a "…"`/);
    assert.ok(markdown.endsWith(FEEDBACK_MARKER));
    const slack = turnText('slack', session, { turn: 3 }, { source: 'slack' });
    assert.match(slack, /No changes in this turn\./);
    assert.match(slack, /Reply in this thread/);
    assert.ok(
      !slack.includes(FEEDBACK_MARKER),
      'Slack shows no HTML comment; its bot messages are ignored by bot_id',
    );
    const jira = turnText('plain', session, { turn: 2 }, { source: 'jira' });
    assert.match(
      jira,
      /Run shepherd send shop-issues-1a2b3c -n team-a "…", or send it through the Shepherd API\./,
    );
  });

  it('a question is quoted, with how to answer it', () => {
    const asked = { turn: 1, question: 'Which database?\nPostgres or SQLite?' };
    const markdown = questionText('markdown', session, asked, { source: 'gitea', mention: 'shepherd-bot' });
    assert.match(markdown, /has a question \(turn 1\):\n\n> Which database\?\n> Postgres or SQLite\?/);
    assert.match(
      markdown,
      /the answer is the next turn's prompt\. Reply with a comment here or on the pull request that mentions @shepherd-bot/,
    );
    assert.ok(markdown.endsWith(FEEDBACK_MARKER));
    assert.match(
      questionText('plain', session, asked, { source: 'jira' }),
      /\n\nWhich database\?\nPostgres or SQLite\?\n\n/,
    );
  });
});
