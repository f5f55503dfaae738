/**
 * The real Claude Code CLI (the pinned version, installed by the test driver) through the real
 * runner, against a scripted Anthropic Messages API on loopback (ANTHROPIC_BASE_URL): the model
 * asks for the Write and Bash tools, Claude Code runs them in the clone, the runner pushes the file
 * and records the usage the API reported. The provider token reaches Claude Code as
 * ANTHROPIC_API_KEY, and no token reaches the result, the session log or the clone's configuration.
 * Running as root in a container, the runner tells Claude Code it is in a sandbox.
 *
 * Conversations: a final message ending in a `QUESTION:` paragraph is the result's question (the
 * work so far pushed), the next turn resumes Claude Code's conversation so the model is sent the
 * earlier turn's messages, and a conversation Claude Code has no transcript of gives way to a new
 * one with a warning instead of a failed turn.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AGENT_RUN_TIMEOUT_MS, claudeBin } from './support/agent-cli.js';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { startScriptedAnthropic } from './support/scripted-anthropic.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-ant-api03-provider-token-0123456789';
const GIT_TOKEN = 'ghp_gitTokenForTheRepository9876543210';

/** A request's messages and system prompt, as one text to search. */
function conversationText(body: Record<string, unknown> | undefined): { messages: string; system: string } {
  return { messages: JSON.stringify(body?.messages ?? []), system: JSON.stringify(body?.system ?? '') };
}

/** The text of the tool results Claude Code sent back to the model in a request. */
function toolResults(body: Record<string, unknown> | undefined): string {
  const messages = Array.isArray(body?.messages) ? (body.messages as { content?: unknown }[]) : [];
  return JSON.stringify(messages.at(-1)?.content ?? '');
}

describe('the claude agent (real Claude Code)', () => {
  it('writes a file with its Write tool; the runner pushes it and records the usage the API reported', async () => {
    const url = sandbox.bareRepo('claude');
    const { workspace, runnerRepos } = await sandbox.workspace([
      repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } }),
    ]);
    const clone = join(workspace, 'repo');
    const api = await startScriptedAnthropic([
      {
        content: [
          { type: 'text', text: 'Writing FIX.md.' },
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: join(clone, 'FIX.md'), content: 'fixed\n' },
          },
        ],
        usage: {
          input_tokens: 1200,
          output_tokens: 40,
          cache_read_input_tokens: 5000,
          cache_creation_input_tokens: 800,
        },
      },
      {
        content: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: {
              command: 'printf "key=%s git=%s" "$ANTHROPIC_API_KEY" "${SHEPHERD_GIT_TOKEN_0:-unset}"',
              description: 'Show the credentials the agent was given',
            },
          },
        ],
        usage: { input_tokens: 300, output_tokens: 20 },
      },
      {
        content: [{ type: 'text', text: 'Added FIX.md explaining the fix.' }],
        usage: { input_tokens: 400, output_tokens: 30 },
      },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        SHEPHERD_MODEL: 'claude-sonnet-4-5',
        INITIAL_PROMPT: 'Explain the fix in FIX.md',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        SHEPHERD_GIT_TOKEN_0: GIT_TOKEN,
        // As a provider's environment would set it.
        ANTHROPIC_BASE_URL: api.url,
        PATH: `${claudeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(api.unexpected, [], 'Claude Code made no request outside the conversation');
    assert.equal(api.turns.length, 3);
    assert.equal(api.turns[0]?.body?.model, 'claude-sonnet-4-5', 'the session model is asked for');
    assert.equal(api.turns[0]?.headers['x-api-key'], PROVIDER_TOKEN, 'the provider token is the API key');
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'FIX.md'), 'fixed');
    assert.equal(run.result?.summary, 'Added FIX.md explaining the fix.');
    const usage = run.result?.usage as Record<string, number> | undefined;
    assert.deepEqual(
      { ...usage, costUsd: undefined },
      {
        inputTokens: 1900,
        outputTokens: 90,
        cacheReadTokens: 5000,
        cacheWriteTokens: 800,
        costUsd: undefined,
      },
      'the tokens are the sum of what the API reported',
    );
    assert.ok((usage?.costUsd ?? 0) > 0, 'Claude Code priced the tokens');

    // What the agent's Bash tool saw: the key, and no git token.
    assert.match(toolResults(api.turns[2]?.body), new RegExp(`key=${PROVIDER_TOKEN} git=unset`));
    assert.match(run.stdout, /claude: started \(model claude-sonnet-4-5\)/);
    assert.match(run.stdout, /→ Write \{"file_path":"[^"]*FIX\.md"/);
    assert.match(run.stdout, /key=\[redacted\] git=unset/, 'the key the tool printed is redacted in the log');

    const gitConfig = readFileSync(join(clone, '.git', 'config'), 'utf8');
    for (const token of [PROVIDER_TOKEN, GIT_TOKEN]) {
      assert.ok(!run.resultText.includes(token), 'not in the result');
      assert.ok(!run.stdout.includes(token), 'not in stdout');
      assert.ok(!run.stderr.includes(token), 'not in stderr');
      assert.ok(!gitConfig.includes(token), 'not in .git/config');
    }
  });

  it('asks a question in its final message, then resumes its conversation on the answer: the model gets turn 1’s messages', async () => {
    const url = sandbox.bareRepo('claude-conversation');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const clone = join(workspace, 'repo');
    const api = await startScriptedAnthropic([
      {
        content: [
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: join(clone, 'FIX.md'), content: 'fixed\n' },
          },
        ],
        usage: { input_tokens: 100, output_tokens: 10 },
      },
      {
        content: [
          { type: 'text', text: 'I wrote a first FIX.md.\n\nQUESTION: Should FIX.md cover the cache too?' },
        ],
        usage: { input_tokens: 100, output_tokens: 10 },
      },
      {
        content: [
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: join(clone, 'FIX.md'), content: 'fixed, cache too\n' },
          },
        ],
        usage: { input_tokens: 100, output_tokens: 10 },
      },
      {
        content: [{ type: 'text', text: 'FIX.md covers the cache now.' }],
        usage: { input_tokens: 100, output_tokens: 10 },
      },
    ]);
    after(() => api.close());
    const env = (turn: number, prompt: string) =>
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        SHEPHERD_TURN: String(turn),
        INITIAL_PROMPT: prompt,
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        ANTHROPIC_BASE_URL: api.url,
        PATH: `${claudeBin}:${process.env.PATH ?? ''}`,
      });

    const asked = await sandbox.runRunner(env(1, 'Explain the fix in FIX.md'), AGENT_RUN_TIMEOUT_MS);
    assert.equal(asked.exitCode, 0, `${asked.stdout}\n${asked.stderr}`);
    assert.equal(asked.result?.question, 'Should FIX.md cover the cache too?');
    assert.equal(asked.result?.summary, 'I wrote a first FIX.md.');
    assert.equal(
      sandbox.remoteFile(url, 'shepherd/fix-readme', 'FIX.md'),
      'fixed',
      'the work so far is pushed',
    );
    assert.match(
      conversationText(api.turns[0]?.body).system,
      /end your final message with a paragraph that begins with \\"QUESTION:\\"/,
      'Claude Code was told how to ask',
    );

    const answered = await sandbox.runRunner(env(2, 'Yes, the cache too'), AGENT_RUN_TIMEOUT_MS);
    assert.equal(answered.exitCode, 0, `${answered.stdout}\n${answered.stderr}`);
    assert.deepEqual(api.unexpected, []);
    assert.equal(api.turns.length, 4);
    assert.match(answered.stdout, /starting claude .*, resuming its conversation [0-9a-f-]{36}/);
    const { messages } = conversationText(api.turns[2]?.body);
    for (const earlier of [
      'Explain the fix in FIX.md',
      'Should FIX.md cover the cache too?',
      'Yes, the cache too',
    ])
      assert.ok(messages.includes(earlier), `turn 2's first request carries "${earlier}"`);
    assert.ok(
      messages.indexOf('Explain the fix in FIX.md') < messages.indexOf('Yes, the cache too'),
      'turn 1 comes first',
    );
    assert.equal(answered.result?.question, undefined);
    assert.equal(answered.result?.warnings, undefined);
    assert.equal(answered.result?.summary, 'FIX.md covers the cache now.');
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'FIX.md'), 'fixed, cache too');
    assert.equal(sandbox.remoteLog(url, 'shepherd/fix-readme').length, 3, 'both turns on one branch');
  });

  it('a conversation Claude Code has no transcript of: the turn goes on in a new one, told so, and the result warns', async () => {
    const url = sandbox.bareRepo('claude-lost');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    // What a turn 1 saved, whose transcript is gone (another HOME, a deleted ~/.claude).
    mkdirSync(join(workspace, '.shepherd'));
    writeFileSync(
      join(workspace, '.shepherd', 'claude-conversation.json'),
      JSON.stringify({ id: '00000000-0000-4000-8000-000000000000' }),
    );
    const api = await startScriptedAnthropic([
      { content: [{ type: 'text', text: 'Looked again.' }], usage: { input_tokens: 10, output_tokens: 5 } },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        SHEPHERD_TURN: '2',
        INITIAL_PROMPT: 'Look again',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        ANTHROPIC_BASE_URL: api.url,
        PATH: `${claudeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(api.turns.length, 1);
    const warnings = (run.result?.warnings ?? []) as string[];
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(
      warnings[0] ?? '',
      /^turn 2: claude could not resume its conversation 00000000-0000-4000-8000-000000000000 \(.*No conversation found.*\); it began a new one/,
    );
    assert.match(String(run.result?.summary), /could not resume its conversation/, 'the summary says so too');
    assert.match(conversationText(api.turns[0]?.body).system, /earlier messages could not be restored/);
    const saved = JSON.parse(
      readFileSync(join(workspace, '.shepherd', 'claude-conversation.json'), 'utf8'),
    ) as {
      id: string;
    };
    assert.notEqual(
      saved.id,
      '00000000-0000-4000-8000-000000000000',
      'the next turn resumes the new conversation',
    );
  });
});
