/** The runner's environment: what it accepts, and the one-line messages for what it does not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRunnerConfig } from '../../src/runner/config.js';
import { PrerequisiteError } from '../../src/runner/errors.js';
import { opencodeKeyVariable } from '../../src/runner/agents/opencode.js';
import { agentEnvironment } from '../../src/runner/agents/agent-env.js';

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
