/**
 * The real OpenCode CLI (the pinned version, installed by the test driver) through the real
 * runner, against a scripted OpenAI-compatible chat completions API on loopback, configured as a
 * custom provider: the model calls OpenCode's write tool, OpenCode writes the file in the clone,
 * the runner pushes it and records the tokens the API reported. The provider token reaches
 * OpenCode as the key of the model's provider, and no token reaches the result or the log.
 * On the next turn OpenCode resumes its session, so the model is sent the earlier turn's messages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AGENT_RUN_TIMEOUT_MS, OPENCODE_MODEL, opencodeBin, opencodeEnv } from './support/agent-cli.js';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { startScriptedOpenAI } from './support/scripted-openai.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-scripted-provider-token-0123456789';
const GIT_TOKEN = 'ghp_gitTokenForTheRepository9876543210';

describe('the opencode agent (real OpenCode)', () => {
  it('writes a file with its write tool; the runner pushes it and records the usage the API reported', async () => {
    const url = sandbox.bareRepo('opencode');
    const { workspace, runnerRepos } = await sandbox.workspace([
      repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } }),
    ]);
    const clone = join(workspace, 'repo');
    const api = await startScriptedOpenAI([
      {
        parts: [
          { type: 'text', text: 'Writing FIX.md.' },
          {
            type: 'tool_call',
            name: 'write',
            arguments: { filePath: join(clone, 'FIX.md'), content: 'fixed\n' },
          },
        ],
        usage: { prompt_tokens: 1200, completion_tokens: 40, cached_tokens: 200 },
      },
      {
        parts: [{ type: 'text', text: 'Added FIX.md explaining the fix.' }],
        usage: { prompt_tokens: 1500, completion_tokens: 30 },
      },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'opencode',
        SHEPHERD_MODEL: OPENCODE_MODEL,
        INITIAL_PROMPT: '-Explain the fix in FIX.md',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        SHEPHERD_GIT_TOKEN_0: GIT_TOKEN,
        ...opencodeEnv(api.url),
        PATH: `${opencodeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(api.unexpected, [], 'OpenCode made no request outside the conversation');
    assert.equal(api.turns.length, 2);
    assert.equal(api.turns[0]?.body?.model, 'coder-1', 'the session model is asked for');
    assert.equal(api.turns[0]?.headers.authorization, `Bearer ${PROVIDER_TOKEN}`);
    assert.match(
      JSON.stringify(api.turns[0]?.body?.messages),
      /-Explain the fix in FIX\.md/,
      'the prompt, as given',
    );
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'FIX.md'), 'fixed');
    assert.equal(run.result?.summary, 'Added FIX.md explaining the fix.');
    // OpenCode counts cached prompt tokens apart from the rest of the input.
    assert.deepEqual(run.result?.usage, {
      inputTokens: 1000 + 1500,
      outputTokens: 70,
      cacheReadTokens: 200,
      cacheWriteTokens: 0,
    });
    assert.match(run.stdout, /→ write /);
    assert.match(run.stdout, /opencode: finished \(stop, 2 steps/);
    for (const token of [PROVIDER_TOKEN, GIT_TOKEN]) {
      assert.ok(!run.resultText.includes(token), 'not in the result');
      assert.ok(!run.stdout.includes(token), 'not in stdout');
      assert.ok(!run.stderr.includes(token), 'not in stderr');
    }
  });

  it('resumes its session on turn 2: the model gets turn 1’s messages, and the question turn 1 ended with', async () => {
    const url = sandbox.bareRepo('opencode-conversation');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const api = await startScriptedOpenAI([
      {
        parts: [{ type: 'text', text: 'The fix is in FIX.md.\n\nQUESTION: Cover the cache too?' }],
        usage: { prompt_tokens: 100, completion_tokens: 10 },
      },
      {
        parts: [{ type: 'text', text: 'Covered the cache.' }],
        usage: { prompt_tokens: 200, completion_tokens: 10 },
      },
    ]);
    after(() => api.close());
    const env = (turn: number, prompt: string) =>
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'opencode',
        SHEPHERD_MODEL: OPENCODE_MODEL,
        SHEPHERD_TURN: String(turn),
        INITIAL_PROMPT: prompt,
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        ...opencodeEnv(api.url),
        PATH: `${opencodeBin}:${process.env.PATH ?? ''}`,
      });

    const asked = await sandbox.runRunner(env(1, 'Explain the fix'), AGENT_RUN_TIMEOUT_MS);
    assert.equal(asked.exitCode, 0, `${asked.stdout}\n${asked.stderr}`);
    assert.equal(asked.result?.question, 'Cover the cache too?');
    assert.equal(asked.result?.summary, 'The fix is in FIX.md.');
    assert.match(
      JSON.stringify(api.turns[0]?.body?.messages),
      /begins with \\+"QUESTION:/,
      'told how to ask',
    );

    const answered = await sandbox.runRunner(env(2, 'Yes, the cache too'), AGENT_RUN_TIMEOUT_MS);
    assert.equal(answered.exitCode, 0, `${answered.stdout}\n${answered.stderr}`);
    assert.deepEqual(api.unexpected, []);
    assert.match(answered.stdout, /starting opencode .*, resuming its conversation ses_/);
    const messages = JSON.stringify(api.turns[1]?.body?.messages);
    for (const earlier of ['Explain the fix', 'Cover the cache too?', 'Yes, the cache too'])
      assert.ok(messages.includes(earlier), `turn 2's request carries "${earlier}"`);
    assert.equal(answered.result?.summary, 'Covered the cache.');
    assert.equal(answered.result?.question, undefined);
    assert.equal(answered.result?.warnings, undefined);
  });
});
