/**
 * A real agent CLI that refuses to start fails the session as a prerequisite (runner exit 2, not
 * retried) with the CLI's own message in the result, and no model request is made; an agent that
 * started and then failed stays an ordinary, retryable failure (exit 1). Each variant is a real
 * reason the pinned CLIs refuse: Claude Code as root outside a sandbox, Claude Code not installed,
 * Claude Code installed without its native binary, OpenCode with a malformed config, OpenCode
 * asked for a model its config does not have.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { agentToolPaths } from '../../src/processes/tools.js';
import {
  AGENT_RUN_TIMEOUT_MS,
  OPENCODE_MODEL,
  claudeBin,
  opencodeBin,
  opencodeEnv,
} from './support/agent-cli.js';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { startScriptedAnthropic } from './support/scripted-anthropic.js';
import { startScriptedOpenAI } from './support/scripted-openai.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const PROVIDER_TOKEN = 'sk-provider-token-for-refusals-0123456789';
const BRANCH = 'shepherd/fix-readme';
const gitPath = process.env.PATH ?? '/usr/bin:/bin';

/** A workspace with one cloned repository, and the runner's environment for `agent` in it. */
async function session(name: string, agent: string, extra: Record<string, string>) {
  const url = sandbox.bareRepo(name);
  const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
  const env = sandbox.runnerEnv(workspace, runnerRepos, {
    SHEPHERD_AGENT: agent,
    INITIAL_PROMPT: 'Fix the README',
    SHEPHERD_PROVIDER_TOKEN: PROVIDER_TOKEN,
    ...extra,
  });
  return { url, env };
}

/**
 * What every refusal shows: exit 2, the CLI's words in the summary, nothing pushed, no token.
 *
 * @param statuses The repositories' statuses: NotPushed once the work branch was prepared, none
 *   when a prerequisite check stopped the runner before that.
 */
function assertRefused(
  run: Awaited<ReturnType<GitSandbox['runRunner']>>,
  url: string,
  words: RegExp,
  statuses: string[] = ['NotPushed'],
): void {
  assert.equal(run.exitCode, 2, `${run.stdout}\n${run.stderr}`);
  const summary = String(run.result?.summary);
  assert.match(summary, words);
  assert.deepEqual(
    (run.result?.repos as { status: string }[]).map((r) => r.status),
    statuses,
  );
  assert.equal(sandbox.remoteHead(url, BRANCH), undefined, 'nothing was pushed');
  assert.match(run.stderr, /shepherd-runner: /, 'stderr says why too');
  assert.ok(!run.resultText.includes(PROVIDER_TOKEN) && !run.stdout.includes(PROVIDER_TOKEN));
}

describe('an agent CLI that refuses to start', { concurrency: true }, () => {
  it(
    'Claude Code as root outside a sandbox: exit 2 with its refusal and how to fix it, no model request',
    {
      skip:
        process.getuid?.() === 0
          ? false
          : 'Claude Code checks the user id; this test runs as a non-root user',
    },
    async () => {
      const api = await startScriptedAnthropic([]);
      after(() => api.close());
      // IS_SANDBOX=0 from the operator overrides the runner's default in a container, so Claude
      // Code sees what it sees on a bare host.
      const { url, env } = await session('claude-root', 'claude', {
        ANTHROPIC_BASE_URL: api.url,
        IS_SANDBOX: '0',
        PATH: `${claudeBin}:${gitPath}`,
      });
      const run = await sandbox.runRunner(env, AGENT_RUN_TIMEOUT_MS);
      assertRefused(
        run,
        url,
        /^claude refused to start \(exit code 1 before its session began\): --dangerously-skip-permissions cannot be used with root\/sudo privileges for security reasons\n.*set IS_SANDBOX=1/,
      );
      assert.equal(api.turns.length + api.unexpected.length, 0, 'no model request');
    },
  );

  it('Claude Code not installed: exit 2 naming the program and how to install it', async () => {
    const { url, env } = await session('claude-missing', 'claude', { PATH: gitPath });
    const run = await sandbox.runRunner(env);
    assertRefused(
      run,
      url,
      /the agent program "claude" is not on PATH or not executable: .*npm i -g @anthropic-ai\/claude-code/,
      [],
    );
  });

  it('Claude Code installed without its native binary (optional dependencies left out): exit 2 with its message', async () => {
    // The package as `npm install --omit=optional` leaves it: the launcher without the platform package.
    const installed = join(dirname(agentToolPaths().claude), '..', '@anthropic-ai', 'claude-code');
    const pkg = join(sandbox.root, 'broken-claude', 'node_modules', '@anthropic-ai', 'claude-code');
    const bin = join(sandbox.root, 'broken-claude', 'bin');
    mkdirSync(pkg, { recursive: true });
    mkdirSync(bin);
    for (const file of ['cli-wrapper.cjs', 'package.json'])
      copyFileSync(join(installed, file), join(pkg, file));
    chmodSync(join(pkg, 'cli-wrapper.cjs'), 0o755);
    symlinkSync(join(pkg, 'cli-wrapper.cjs'), join(bin, 'claude'));
    const { url, env } = await session('claude-broken', 'claude', { PATH: `${bin}:${gitPath}` });
    const run = await sandbox.runRunner(env, AGENT_RUN_TIMEOUT_MS);
    assertRefused(
      run,
      url,
      /^claude refused to start .*Could not find native binary package "@anthropic-ai\/claude-code-/s,
    );
  });

  it('OpenCode with a malformed config: exit 2 with its parse error, no model request', async () => {
    const api = await startScriptedOpenAI([]);
    after(() => api.close());
    const { url, env } = await session('opencode-config', 'opencode', {
      SHEPHERD_MODEL: OPENCODE_MODEL,
      ...opencodeEnv(api.url),
      OPENCODE_CONFIG_CONTENT: '{"provider": {"scripted": ',
      PATH: `${opencodeBin}:${gitPath}`,
    });
    const run = await sandbox.runRunner(env, AGENT_RUN_TIMEOUT_MS);
    assertRefused(
      run,
      url,
      /^opencode refused to start .*Config file at OPENCODE_CONFIG_CONTENT is not valid JSON/s,
    );
    assert.ok(!String(run.result?.summary).includes('\x1b['), 'no colour codes in the summary');
    assert.equal(api.turns.length + api.unexpected.length, 0, 'no model request');
  });

  it('OpenCode asked for a model its config does not have: exit 2 with its error event, no model request', async () => {
    const api = await startScriptedOpenAI([]);
    after(() => api.close());
    const { url, env } = await session('opencode-model', 'opencode', {
      SHEPHERD_MODEL: 'scripted/no-such-model',
      ...opencodeEnv(api.url),
      PATH: `${opencodeBin}:${gitPath}`,
    });
    const run = await sandbox.runRunner(env, AGENT_RUN_TIMEOUT_MS);
    assertRefused(run, url, /^opencode refused to start \(exit code 1 before its session began\): \S/);
    assert.equal(api.turns.length + api.unexpected.length, 0, 'no model request');
  });
});

describe('an agent CLI that started and then failed', () => {
  it('Claude Code whose API rejects the request: exit 1 (retryable), with the API error in the summary', async () => {
    // Claude Code asks again after a rejected request, so every conversation request is rejected alike.
    const rejected = {
      error: { status: 400, type: 'invalid_request_error', message: 'scripted: this request is invalid' },
    };
    const api = await startScriptedAnthropic(Array.from({ length: 5 }, () => rejected));
    after(() => api.close());
    const { url, env } = await session('claude-api-error', 'claude', {
      ANTHROPIC_BASE_URL: api.url,
      PATH: `${claudeBin}:${gitPath}`,
    });
    const run = await sandbox.runRunner(env, AGENT_RUN_TIMEOUT_MS);
    assert.equal(run.exitCode, 1, `${run.stdout}\n${run.stderr}`);
    assert.ok(api.turns.length >= 1, 'the session began and asked the model');
    // Claude Code also falls back to asking without streaming; those are answered 500 too.
    assert.deepEqual(
      [...new Set(api.unexpected.map((r) => `${r.method} ${r.path}`))].filter(
        (r) => r !== 'POST /v1/messages',
      ),
      [],
      'nothing but the model was asked',
    );
    assert.match(String(run.result?.summary), /^claude exited with code 1\nAPI Error: /);
    assert.equal(sandbox.remoteHead(url, BRANCH), undefined, 'nothing to push');
  });
});
