/**
 * Claude Code through the runner, with a stand-in `claude` on PATH that speaks its stream-json
 * protocol: the runner launches it headless with the prompt and model, hands it the provider token
 * as ANTHROPIC_API_KEY, records the usage and cost of its final event, and no token ever reaches
 * the result, the session log or the clone's configuration.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitSandbox, repo } from './support/git-sandbox.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-ant-api03-provider-token-0123456789';
const GIT_TOKEN = 'ghp_gitTokenForTheRepository9876543210';

const events = [
  { type: 'system', subtype: 'init', model: 'claude-sonnet-4-5', session_id: 's1' },
  { type: 'assistant', message: { content: [{ type: 'text', text: 'Reading the README.' }] } },
  {
    type: 'assistant',
    message: { content: [{ type: 'tool_use', id: 't1', name: 'Write', input: { file_path: 'FIX.md' } }] },
  },
  {
    type: 'user',
    message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: 'File written' }] },
  },
  {
    type: 'result',
    subtype: 'success',
    is_error: false,
    num_turns: 3,
    result: 'Added FIX.md explaining the fix.',
    total_cost_usd: 0.0421,
    usage: {
      input_tokens: 1200,
      output_tokens: 340,
      cache_read_input_tokens: 5000,
      cache_creation_input_tokens: 800,
    },
  },
];

/** A `claude` that records how it was started, edits the repository and prints stream-json. */
function fakeClaude(dir: string, record: string): string {
  mkdirSync(dir);
  const lines = events.map((event) => `echo '${JSON.stringify(event)}'`).join('\n');
  writeFileSync(
    join(dir, 'claude'),
    `#!/bin/sh
printf '%s\\n' "$@" > ${record}/argv
echo "key=$ANTHROPIC_API_KEY provider=\${SHEPHERD_PROVIDER_TOKEN:-unset} git=\${SHEPHERD_GIT_TOKEN_0:-unset}" > ${record}/env
echo "fixed" > FIX.md
# An agent echoing its key must not put it in the session log.
echo '{"type":"assistant","message":{"content":[{"type":"text","text":"my key is '"$ANTHROPIC_API_KEY"'"}]}}'
${lines}
`,
  );
  chmodSync(join(dir, 'claude'), 0o755);
  return dir;
}

describe('the claude agent', () => {
  it('records usage and cost from the final stream-json event, and never leaks a token', async () => {
    const url = sandbox.bareRepo('claude');
    const record = join(sandbox.root, 'record');
    mkdirSync(record);
    const bin = fakeClaude(join(sandbox.root, 'bin'), record);
    const { workspace, runnerRepos } = await sandbox.workspace([
      repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } }),
    ]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        SHEPHERD_MODEL: 'claude-sonnet-4-5',
        INITIAL_PROMPT: 'Explain the fix in FIX.md',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        SHEPHERD_GIT_TOKEN_0: GIT_TOKEN,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
      }),
    );

    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(run.result?.usage, {
      inputTokens: 1200,
      outputTokens: 340,
      cacheReadTokens: 5000,
      cacheWriteTokens: 800,
      costUsd: 0.0421,
    });
    assert.equal(run.result?.summary, 'Added FIX.md explaining the fix.');
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'FIX.md'), 'fixed');

    const argv = readFileSync(join(record, 'argv'), 'utf8').trim().split('\n');
    assert.deepEqual(argv.slice(0, 5), [
      '-p',
      'Explain the fix in FIX.md',
      '--output-format',
      'stream-json',
      '--verbose',
    ]);
    assert.deepEqual(argv.slice(argv.indexOf('--model'), argv.indexOf('--model') + 2), [
      '--model',
      'claude-sonnet-4-5',
    ]);
    assert.equal(
      readFileSync(join(record, 'env'), 'utf8').trim(),
      `key=${PROVIDER_TOKEN} provider=unset git=unset`,
      'claude gets the provider token as ANTHROPIC_API_KEY, and no git token',
    );

    // Progress is readable in the session log.
    assert.match(run.stdout, /claude: started \(model claude-sonnet-4-5\)/);
    assert.match(run.stdout, /→ Write \{"file_path":"FIX.md"\}/);
    assert.match(
      run.stdout,
      /claude: finished \(success, 3 turns, 1200 input tokens, 340 output tokens, \$0\.0421\)/,
    );
    assert.match(run.stdout, /my key is \[redacted\]/);

    const gitConfig = readFileSync(join(workspace, 'repo', '.git', 'config'), 'utf8');
    for (const token of [PROVIDER_TOKEN, GIT_TOKEN]) {
      assert.ok(!run.resultText.includes(token), 'not in the result');
      assert.ok(!run.stdout.includes(token), 'not in stdout');
      assert.ok(!run.stderr.includes(token), 'not in stderr');
      assert.ok(!gitConfig.includes(token), 'not in .git/config');
    }
  });
});
