/**
 * The NamespacePolicy's tool lists and per-session budget on their way to the agent: the Job and
 * the local runner get them in SHEPHERD_ALLOWED_TOOLS / SHEPHERD_DENIED_TOOLS (JSON arrays) and
 * SHEPHERD_MAX_BUDGET_USD, the runner reads them with one-line errors, Claude Code gets its own
 * flags and OpenCode its `permission` configuration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runnerPlainEnvironment } from '../../src/runner-contract/environment.js';
import { buildSessionJob } from '../../src/runtime/kubernetes/builders/session-job.js';
import { readRunnerConfig, type RunnerConfig } from '../../src/runner/config.js';
import { claudeAgent, claudePolicyArgs } from '../../src/runner/agents/claude.js';
import { commandAgent } from '../../src/runner/agents/command.js';
import { opencodeAgent } from '../../src/runner/agents/opencode.js';
import { opencodeTools } from '../../src/runner/agents/opencode-permission.js';
import { PrerequisiteError } from '../../src/runner/errors.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { resolvedSession } from './support/session-fixtures.js';

const LAUNCH = { attempt: 1, workspace: '/workspace', resultFile: '/dev/termination-log' };
const CONTEXT = {
  cwd: '/workspace/shop',
  resume: { kind: 'new' } as const,
  instructions: 'Ask by QUESTION:',
};

const withPolicy = (policy: ResolvedSession['policy']): ResolvedSession => resolvedSession({ policy });

function config(overrides: Partial<RunnerConfig> = {}): RunnerConfig {
  return {
    agent: 'claude',
    prompt: 'Fix it',
    workspace: '/workspace',
    repos: [],
    turn: 1,
    graceMs: 20_000,
    ...overrides,
  };
}

describe('the policy in the runner environment', () => {
  it('passes the lists as JSON arrays and the per-session budget, in the Job and to the local runner alike', () => {
    const session = withPolicy({
      tools: { allowed: ['Bash(git diff:*)', 'Edit'], denied: ['WebFetch', 'Bash(rm -rf, anything)'] },
      budget: { perSessionUsd: 2.5, monthlyUsd: 100 },
    });
    const plain = runnerPlainEnvironment(session, LAUNCH);
    assert.deepEqual(JSON.parse(plain.SHEPHERD_ALLOWED_TOOLS ?? ''), ['Bash(git diff:*)', 'Edit']);
    assert.deepEqual(JSON.parse(plain.SHEPHERD_DENIED_TOOLS ?? ''), ['WebFetch', 'Bash(rm -rf, anything)']);
    assert.equal(plain.SHEPHERD_MAX_BUDGET_USD, '2.5');
    // The Job lists the same plain variables (the local runtime sets them on its process as they are).
    const env = buildSessionJob(session, 1).spec?.template.spec?.containers[0]?.env ?? [];
    for (const name of ['SHEPHERD_ALLOWED_TOOLS', 'SHEPHERD_DENIED_TOOLS', 'SHEPHERD_MAX_BUDGET_USD']) {
      assert.equal(env.find((variable) => variable.name === name)?.value, plain[name], name);
    }
    // What the Job says is what the runner reads.
    const read = readRunnerConfig({ SHEPHERD_AGENT: 'claude', SHEPHERD_WORKSPACE: '/workspace', ...plain });
    assert.deepEqual(read.allowedTools, ['Bash(git diff:*)', 'Edit']);
    assert.deepEqual(read.deniedTools, ['WebFetch', 'Bash(rm -rf, anything)']);
    assert.equal(read.maxBudgetUsd, 2.5);
  });

  it('passes nothing without a policy, and an empty allow list as one (it allows none)', () => {
    const none = runnerPlainEnvironment(resolvedSession(), LAUNCH);
    assert.equal(
      Object.keys(none).some((name) => /TOOLS|BUDGET/.test(name)),
      false,
    );
    const empty = runnerPlainEnvironment(
      withPolicy({ tools: { allowed: [], denied: [] }, budget: {} }),
      LAUNCH,
    );
    assert.equal(empty.SHEPHERD_ALLOWED_TOOLS, '[]');
    assert.equal(empty.SHEPHERD_DENIED_TOOLS, undefined);
    assert.equal(empty.SHEPHERD_MAX_BUDGET_USD, undefined);
  });
});

describe('the runner reading the policy variables', () => {
  const base = { SHEPHERD_AGENT: 'claude', SHEPHERD_WORKSPACE: '/workspace' };
  const refuses = (env: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => readRunnerConfig({ ...base, ...env }),
      (error: unknown) => error instanceof PrerequisiteError && message.test(error.message),
    );

  it('leaves them out when absent', () => {
    const read = readRunnerConfig(base);
    assert.equal('allowedTools' in read || 'deniedTools' in read || 'maxBudgetUsd' in read, false);
    assert.deepEqual(readRunnerConfig({ ...base, SHEPHERD_ALLOWED_TOOLS: '[]' }).allowedTools, []);
  });

  it('refuses malformed lists and budgets with what is wrong', () => {
    refuses(
      { SHEPHERD_DENIED_TOOLS: 'Bash,Edit' },
      /^SHEPHERD_DENIED_TOOLS is not valid JSON .*spec\.tools$/,
    );
    refuses(
      { SHEPHERD_ALLOWED_TOOLS: '{"Bash":true}' },
      /^SHEPHERD_ALLOWED_TOOLS must be a JSON array of strings/,
    );
    refuses({ SHEPHERD_ALLOWED_TOOLS: '["Edit",1]' }, /must be a JSON array of strings/);
    refuses(
      { SHEPHERD_DENIED_TOOLS: '["--settings"]' },
      /holds "--settings", which is not a tool name or pattern/,
    );
    refuses({ SHEPHERD_DENIED_TOOLS: '[" "]' }, /holds " ", which is not a tool name/);
    refuses(
      { SHEPHERD_MAX_BUDGET_USD: 'ten' },
      /^SHEPHERD_MAX_BUDGET_USD is "ten": it must be a number of US dollars/,
    );
    refuses({ SHEPHERD_MAX_BUDGET_USD: '-1' }, /it must be a number of US dollars above 0/);
    refuses(
      { SHEPHERD_MAX_BUDGET_USD: '0' },
      /is 0: the NamespacePolicy's budget\.perSessionUsd leaves the session nothing/,
    );
  });
});

describe('Claude Code’s policy flags', () => {
  it('skips permissions without an allow list; deny rules and the budget hold in that mode too', () => {
    assert.deepEqual(claudePolicyArgs({}), ['--dangerously-skip-permissions']);
    assert.deepEqual(
      claudePolicyArgs({ deniedTools: ['Bash(git push:*)', 'WebFetch'], maxBudgetUsd: 1.25 }),
      [
        '--dangerously-skip-permissions',
        '--disallowedTools',
        'Bash(git push:*)',
        'WebFetch',
        '--max-budget-usd',
        '1.25',
      ],
    );
  });

  it('refuses what an allow list leaves out (dontAsk) instead of skipping permissions', () => {
    assert.deepEqual(claudePolicyArgs({ allowedTools: ['Bash(git diff:*)', 'Edit'] }), [
      '--permission-mode',
      'dontAsk',
      '--allowedTools',
      'Bash(git diff:*)',
      'Edit',
    ]);
    assert.deepEqual(claudePolicyArgs({ allowedTools: [] }), ['--permission-mode', 'dontAsk']);
  });

  it('puts the variadic lists where an option follows them, so they never swallow another argument', () => {
    const { argv } = claudeAgent.launch(
      config({ allowedTools: ['Edit'], deniedTools: ['Bash'], model: 'sonnet' }),
      { SHEPHERD_PROVIDER_TOKEN: 'sk-x' },
      CONTEXT,
    );
    const denied = argv.indexOf('--disallowedTools');
    assert.deepEqual(argv.slice(denied, denied + 3), ['--disallowedTools', 'Bash', '--append-system-prompt']);
    assert.equal(argv.includes('--dangerously-skip-permissions'), false);
    assert.equal(argv[2], 'Fix it', 'the prompt stays right after -p');
  });
});

describe('OpenCode’s permission configuration', () => {
  it('is nothing without lists', () => {
    assert.deepEqual(opencodeTools(undefined, []), { notes: [] });
  });

  it('maps a deny list onto the OpenCode permissions, Bash prefixes onto command patterns', () => {
    const { permission, notes } = opencodeTools(undefined, ['Bash(git push:*)', 'Write', 'WebSearch', 'lsp']);
    assert.deepEqual(permission, {
      bash: { 'git push': 'deny', 'git push *': 'deny' },
      edit: { '*': 'deny' },
      websearch: { '*': 'deny' },
      lsp: { '*': 'deny' },
    });
    assert.deepEqual(notes, []);
  });

  it('denies everything but the allow list and what only reads, and lets the deny list win', () => {
    const { permission } = opencodeTools(['Bash(git *)', 'Edit', 'Read'], ['Bash(git push *)', 'Read']);
    assert.deepEqual(permission, {
      '*': { '*': 'deny' },
      read: { '*': 'deny' },
      glob: { '*': 'allow' },
      grep: { '*': 'allow' },
      list: { '*': 'allow' },
      bash: { 'git *': 'allow', 'git push *': 'deny' },
      edit: { '*': 'allow' },
    });
    // OpenCode takes the last matching rule: key order is what makes "*" come first.
    assert.deepEqual(Object.keys(permission ?? {})[0], '*');
  });

  it('fails closed where OpenCode cannot say the same, and says so', () => {
    const { permission, notes } = opencodeTools(
      ['WebFetch(domain:example.com)', 'mcp__github__create_pr'],
      ['Edit(src/**)', 'CronCreate', 'Bash(ls)'],
    );
    assert.equal(permission?.webfetch, undefined, 'an allowed pattern it cannot express allows nothing');
    assert.deepEqual(permission?.edit, { '*': 'deny' }, 'a denied pattern it cannot express denies the tool');
    assert.deepEqual(permission?.bash, { ls: 'deny' });
    assert.deepEqual(notes, [
      'tools.allowed "WebFetch(domain:example.com)": OpenCode cannot express "WebFetch(domain:example.com)" (only Bash takes a pattern); OpenCode does not allow it',
      'tools.allowed "mcp__github__create_pr": mcp__github__create_pr is Claude Code\'s name of an MCP tool; name OpenCode\'s (such as github_*) too; OpenCode does not allow it',
      'tools.denied "Edit(src/**)": OpenCode cannot express "Edit(src/**)" (only Bash takes a pattern); OpenCode denies edit altogether',
      'tools.denied "CronCreate": OpenCode has no counterpart to Claude Code\'s CronCreate; nothing to deny in OpenCode',
    ]);
  });

  it('reaches OpenCode in OPENCODE_PERMISSION, with the notes for the log; the budget does not', () => {
    const launch = opencodeAgent.launch(
      config({ agent: 'opencode', deniedTools: ['Bash', 'CronCreate'], maxBudgetUsd: 3 }),
      { SHEPHERD_PROVIDER_TOKEN: 'sk-x', OPENCODE_PERMISSION: '{"bash":"allow"}' },
      CONTEXT,
    );
    assert.deepEqual(JSON.parse(launch.env.OPENCODE_PERMISSION ?? ''), { bash: { '*': 'deny' } });
    assert.equal(launch.notes?.length, 1);
    assert.equal(
      launch.argv.some((arg) => /budget/.test(arg)),
      false,
    );
    const free = opencodeAgent.launch(
      config({ agent: 'opencode' }),
      { OPENCODE_PERMISSION: '{"bash":"ask"}' },
      CONTEXT,
    );
    assert.equal(free.env.OPENCODE_PERMISSION, '{"bash":"ask"}', 'without a policy the provider’s own stays');
  });
});

describe('a command agent', () => {
  it('gets the policy variables in its environment, and nothing else of them', () => {
    const env = {
      SHEPHERD_ALLOWED_TOOLS: '["Edit"]',
      SHEPHERD_DENIED_TOOLS: '["Bash"]',
      SHEPHERD_MAX_BUDGET_USD: '2',
    };
    const launch = commandAgent.launch(config({ agent: 'command', command: ['make'] }), env, CONTEXT);
    assert.deepEqual(launch.argv, ['make']);
    for (const [name, value] of Object.entries(env)) assert.equal(launch.env[name], value);
  });
});
