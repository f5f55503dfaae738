/**
 * The real Claude Code CLI (the pinned version, installed by the test driver) through the real
 * runner, against a scripted Anthropic Messages API on loopback (ANTHROPIC_BASE_URL): the model
 * asks for the Write and Bash tools, Claude Code runs them in the clone, the runner pushes the file
 * and records the usage the API reported. The provider token reaches Claude Code as
 * ANTHROPIC_API_KEY, and no token reaches the result, the session log or the clone's configuration.
 * Running as root in a container, the runner tells Claude Code it is in a sandbox.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AGENT_RUN_TIMEOUT_MS, claudeBin } from './support/agent-cli.js';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { startScriptedAnthropic } from './support/scripted-anthropic.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-ant-api03-provider-token-0123456789';
const GIT_TOKEN = 'ghp_gitTokenForTheRepository9876543210';

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
});
