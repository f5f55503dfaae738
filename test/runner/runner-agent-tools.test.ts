/**
 * The NamespacePolicy's tool lists, enforced by the real agent CLIs (the pinned versions) through
 * the real runner, against scripted model APIs on loopback: the model asks to run a command the
 * policy denies (or leaves out of its allow list), and the CLI refuses it, so the file the command
 * would have written does not exist and the tool result the model gets back says so.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  AGENT_RUN_TIMEOUT_MS,
  claudeBin,
  OPENCODE_MODEL,
  opencodeBin,
  opencodeEnv,
} from './support/agent-cli.js';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { startScriptedAnthropic } from './support/scripted-anthropic.js';
import { startScriptedOpenAI } from './support/scripted-openai.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-scripted-provider-token-0123456789';
const USAGE = { input_tokens: 10, output_tokens: 5 };

/**
 * The messages of a request to the Messages API since the one before (the tool results, and any
 * note Claude Code adds), as one text to search.
 */
function lastMessage(body: Record<string, unknown> | undefined): string {
  const messages = Array.isArray(body?.messages) ? (body.messages as { role?: string }[]) : [];
  const lastAssistant = messages.map((message) => message.role).lastIndexOf('assistant');
  return JSON.stringify(messages.slice(lastAssistant + 1));
}

/** A Bash call that leaves `file` behind when it runs. */
function touch(file: string) {
  return {
    type: 'tool_use' as const,
    name: 'Bash',
    input: { command: `touch ${file}`, description: 'Touch' },
  };
}

describe('the policy’s tool lists (real Claude Code)', () => {
  it('a denied Bash is not run: Claude Code tells the model the tool is not available', async () => {
    const url = sandbox.bareRepo('claude-denied');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const marker = join(workspace, 'bash-ran');
    const api = await startScriptedAnthropic([
      { content: [touch(marker)], usage: USAGE },
      { content: [{ type: 'text', text: 'Bash is not available.' }], usage: USAGE },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        INITIAL_PROMPT: 'Touch a file',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        SHEPHERD_DENIED_TOOLS: JSON.stringify(['Bash', 'WebFetch']),
        SHEPHERD_MAX_BUDGET_USD: '5',
        ANTHROPIC_BASE_URL: api.url,
        PATH: `${claudeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(api.unexpected, []);
    assert.equal(api.turns.length, 2);
    const offered = (api.turns[0]?.body?.tools as { name: string }[] | undefined)?.map((tool) => tool.name);
    assert.ok(offered?.includes('Write'), 'the other tools are offered');
    assert.equal(offered?.includes('Bash'), false, 'Bash is not offered to the model');
    assert.match(lastMessage(api.turns[1]?.body), /No such tool available: Bash/);
    // Claude Code tells the model what is left of the budget it was given.
    assert.match(lastMessage(api.turns[1]?.body), /USD budget: \$[0-9.]+\/\$5; /);
    assert.equal(existsSync(marker), false, 'the command did not run');
    assert.equal(run.result?.summary, 'Bash is not available.');
  });

  it('an allow list refuses every other tool: git runs, another command and Write do not', async () => {
    const url = sandbox.bareRepo('claude-allowed');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const clone = join(workspace, 'repo');
    const marker = join(workspace, 'bash-ran');
    const api = await startScriptedAnthropic([
      { content: [touch(marker)], usage: USAGE },
      {
        content: [
          { type: 'tool_use', name: 'Write', input: { file_path: join(clone, 'FIX.md'), content: 'x\n' } },
        ],
        usage: USAGE,
      },
      {
        content: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: { command: 'git rev-parse --is-inside-work-tree', description: 'Git' },
          },
        ],
        usage: USAGE,
      },
      { content: [{ type: 'text', text: 'Only git may run.' }], usage: USAGE },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        INITIAL_PROMPT: 'Touch a file',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        // A pattern with a space: one JSON entry, one argument.
        SHEPHERD_ALLOWED_TOOLS: JSON.stringify(['Bash(git rev-parse *)']),
        ANTHROPIC_BASE_URL: api.url,
        PATH: `${claudeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(api.unexpected, []);
    assert.equal(api.turns.length, 4);
    assert.match(lastMessage(api.turns[1]?.body), /Permission to use Bash has been denied/);
    assert.match(lastMessage(api.turns[2]?.body), /Permission to use Write has been denied/);
    assert.match(lastMessage(api.turns[3]?.body), /true/, 'the allowed git command ran');
    assert.equal(existsSync(marker), false, 'the other command did not run');
    assert.equal(existsSync(join(clone, 'FIX.md')), false, 'Write did not run');
  });
});

describe('the policy’s tool lists (real OpenCode)', () => {
  it('a denied bash is not run: OpenCode does not even offer it, and refuses the call', async () => {
    const url = sandbox.bareRepo('opencode-denied');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const marker = join(workspace, 'bash-ran');
    const api = await startScriptedOpenAI([
      {
        parts: [
          {
            type: 'tool_call',
            name: 'bash',
            arguments: { command: `touch ${marker}`, description: 'Touch' },
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      },
      {
        parts: [{ type: 'text', text: 'bash is not available.' }],
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      },
    ]);
    after(() => api.close());

    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'opencode',
        SHEPHERD_MODEL: OPENCODE_MODEL,
        INITIAL_PROMPT: 'Touch a file',
        SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
        SHEPHERD_DENIED_TOOLS: JSON.stringify(['Bash', 'WebFetch(domain:example.com)']),
        ...opencodeEnv(api.url),
        PATH: `${opencodeBin}:${process.env.PATH ?? ''}`,
      }),
      AGENT_RUN_TIMEOUT_MS,
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(api.unexpected, []);
    const offered = JSON.stringify(api.turns[0]?.body?.tools ?? []);
    assert.match(offered, /"write"/, 'the other tools are offered');
    assert.doesNotMatch(offered, /"bash"/, 'bash is not offered to the model');
    assert.equal(existsSync(marker), false, 'the command did not run');
    assert.match(
      run.stdout,
      /opencode: tools\.denied "WebFetch\(domain:example\.com\)": .*denies webfetch altogether/,
    );
  });
});
