/** The runner's environment: what it accepts, and the one-line messages for what it does not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { runnerEnvironment } from '../../src/runner-contract/environment.js';
import { RunnerReposSchema, runnerRepos } from '../../src/runner-contract/repos.js';
import { readRunnerConfig } from '../../src/runner/config.js';
import { PrerequisiteError } from '../../src/runner/errors.js';
import { opencodeKeyVariable } from '../../src/runner/agents/opencode.js';
import { agentEnvironment } from '../../src/runner/agents/agent-env.js';
import { PROMPT, resolvedSession } from './support/session-fixtures.js';

const base = {
  SHEPHERD_AGENT: 'command',
  SHEPHERD_COMMAND: '["make","fix"]',
  SHEPHERD_WORKSPACE: '/workspace',
  SHEPHERD_REPOS: JSON.stringify([
    {
      url: 'https://git.example.com/shop.git',
      dir: '/workspace/shop',
      outputBranch: 'shepherd/x',
      autoPush: true,
      tokenEnv: 'SHEPHERD_GIT_TOKEN_0',
    },
  ]),
};

test('the Job’s environment is read into a config with the default grace period', () => {
  const config = readRunnerConfig({ ...base, SHEPHERD_ATTEMPT: '2', SHEPHERD_MODEL: 'sonnet' });
  assert.deepEqual(config.command, ['make', 'fix']);
  assert.equal(config.attempt, 2);
  assert.equal(config.model, 'sonnet');
  assert.equal(config.graceMs, 20_000);
  assert.equal(config.repos[0]?.tokenEnv, 'SHEPHERD_GIT_TOKEN_0');
});

test('the turn is SHEPHERD_TURN, and 1 when it is absent (a Job of an older worker)', () => {
  assert.equal(readRunnerConfig(base).turn, 1);
  assert.equal(readRunnerConfig({ ...base, SHEPHERD_TURN: '3' }).turn, 3);
});

test('malformed variables are prerequisite failures naming the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ SHEPHERD_AGENT: 'cursor' }, /SHEPHERD_AGENT is "cursor": it must be one of claude, opencode, command/],
    [{ SHEPHERD_COMMAND: 'make fix' }, /SHEPHERD_COMMAND is not valid JSON/],
    [{ SHEPHERD_COMMAND: '[]' }, /SHEPHERD_COMMAND must be a non-empty JSON array of strings/],
    [
      { SHEPHERD_REPOS: '[{"url":"x","dir":"relative","outputBranch":"b"}]' },
      /SHEPHERD_REPOS\[0\]\.dir is "relative"/,
    ],
    [
      { SHEPHERD_REPOS: '[{"url":"x","dir":"/w/x","outputBranch":"b","tokenEnv":"$(id)"}]' },
      /tokenEnv .* is not an environment variable name/,
    ],
    [{ SHEPHERD_GRACE_MS: 'soon' }, /SHEPHERD_GRACE_MS is "soon"/],
    [{ SHEPHERD_TURN: '0' }, /SHEPHERD_TURN is "0": it must be a whole number, at least 1/],
    [{ SHEPHERD_TURN: '2.5' }, /SHEPHERD_TURN is "2\.5"/],
  ];
  for (const [override, message] of cases) {
    assert.throws(
      () => readRunnerConfig({ ...base, ...override }),
      (error: unknown) => {
        assert.ok(error instanceof PrerequisiteError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  }
});

test('agents get the provider token in their own variable and never a git token', () => {
  const config = readRunnerConfig(base);
  const env = { PATH: '/bin', SHEPHERD_PROVIDER_TOKEN: 'sk-provider', SHEPHERD_GIT_TOKEN_0: 'ghp-git' };
  assert.deepEqual(agentEnvironment(env, config, 'ANTHROPIC_API_KEY'), {
    PATH: '/bin',
    ANTHROPIC_API_KEY: 'sk-provider',
  });
  assert.deepEqual(agentEnvironment(env, config, undefined), {
    PATH: '/bin',
    SHEPHERD_PROVIDER_TOKEN: 'sk-provider',
  });
  assert.equal(opencodeKeyVariable(undefined), 'ANTHROPIC_API_KEY');
  assert.equal(opencodeKeyVariable('openai/gpt-5'), 'OPENAI_API_KEY');
  assert.equal(opencodeKeyVariable('acme-ai/large'), 'ACME_AI_API_KEY');
});

test('the runner reads back exactly the environment the worker writes', () => {
  const session = resolvedSession();
  const { plain, secret } = runnerEnvironment(
    session,
    { attempt: 2, workspace: '/workspace', resultFile: '/dev/termination-log' },
    { providerToken: 'sk-token', repoTokens: { [session.repos[0]?.url ?? '']: 'ghp-token' } },
  );
  const written = runnerRepos(session.repos, '/workspace');
  assert.equal(Value.Check(RunnerReposSchema, written), true);
  const config = readRunnerConfig({ ...plain, ...secret });
  assert.deepEqual(config.repos, written);
  assert.equal(config.prompt, PROMPT);
  assert.equal(config.agent, 'claude');
  assert.equal(config.model, 'claude-sonnet-4-5');
  assert.equal(config.attempt, 2);
  assert.equal(config.resultFile, '/dev/termination-log');
});

test('a repository without autoPush is pushed, and properties the runner does not know are dropped', () => {
  const config = readRunnerConfig({
    ...base,
    SHEPHERD_REPOS: JSON.stringify([{ url: 'u', dir: '/workspace/u', outputBranch: 'b', colour: 'blue' }]),
  });
  assert.deepEqual(config.repos, [{ url: 'u', dir: '/workspace/u', outputBranch: 'b', autoPush: true }]);
});

test('malformed repositories name the entry, the field and what it must be', () => {
  const good = { url: 'u', dir: '/workspace/u', outputBranch: 'b' };
  const cases: [unknown, string][] = [
    [{ url: 'u' }, 'SHEPHERD_REPOS must be a JSON array of repositories'],
    [[good, 'shop'], 'SHEPHERD_REPOS[1] is not an object: each repository needs url, dir and outputBranch'],
    [
      [{ dir: '/workspace/u', outputBranch: 'b' }],
      "SHEPHERD_REPOS[0].url is missing: the session's repos[0] needs it",
    ],
    [[{ ...good, autoPush: 'yes' }], 'SHEPHERD_REPOS[0].autoPush is "yes", which is not true or false'],
    [[{ ...good, branch: '' }], 'SHEPHERD_REPOS[0].branch is "", which is not a non-empty branch name'],
    [[{ ...good, url: 42 }], 'SHEPHERD_REPOS[0].url is 42, which is not a non-empty string'],
  ];
  for (const [repos, message] of cases) {
    assert.throws(
      () => readRunnerConfig({ ...base, SHEPHERD_REPOS: JSON.stringify(repos) }),
      (error: unknown) => error instanceof PrerequisiteError && error.message === message,
      message,
    );
  }
});
