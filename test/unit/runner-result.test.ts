/**
 * The runner's result: it always fits the 4 KiB the kubelet keeps of a termination message, and
 * the worker reads back what the runner wrote, keeping the good parts of a result partly wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { MAX_RESULT_BYTES, parseRunnerResult, RunnerResultSchema } from '../../src/runner-contract/result.js';
import { serializeResult } from '../../src/runner/result.js';

const repo = {
  url: 'https://git.example.com/team-a/shop.git',
  branch: 'shepherd/fix-flaky-test',
  commit: 'a'.repeat(40),
  status: 'Pushed' as const,
};

test('a long summary is cut first, keeping every repository and the usage intact', () => {
  const summary = `${'Fixed the flaky test. '.repeat(400)}ünïcödé 🎉`;
  const text = serializeResult({ summary, repos: [repo], usage: { inputTokens: 10, costUsd: 0.5 } });

  assert.ok(Buffer.byteLength(text) <= MAX_RESULT_BYTES);
  const parsed = parseRunnerResult(text);
  assert.deepEqual(parsed?.repos, [repo]);
  assert.deepEqual(parsed?.usage, { inputTokens: 10, costUsd: 0.5 });
  assert.ok(parsed?.summary?.startsWith('Fixed the flaky test.'));
  assert.ok(parsed?.summary?.endsWith('…'));
  assert.ok(Buffer.byteLength(text) > MAX_RESULT_BYTES - 64, 'the summary keeps as much as fits');
});

test('a result that fits is written unchanged', () => {
  const result = { summary: 'done', repos: [repo] };
  assert.equal(serializeResult(result), JSON.stringify(result));
});

test('with very many repositories, messages go before repositories, and the first repositories stay', () => {
  const repos = Array.from({ length: 40 }, (_, i) => ({
    ...repo,
    url: `https://git.example.com/team-a/service-${i}.git`,
    status: 'Failed' as const,
    message: `git push failed: ${'remote rejected '.repeat(20)}`,
  }));
  const text = serializeResult({ summary: 'many', repos });
  assert.ok(Buffer.byteLength(text) <= MAX_RESULT_BYTES);
  const parsed = parseRunnerResult(text);
  assert.equal(parsed?.repos[0]?.url, repos[0]?.url);
  assert.equal(parsed?.repos[0]?.message, undefined);
});

test('what the runner writes matches the schema and is read back unchanged', () => {
  const result = { summary: 'done', repos: [repo], usage: { inputTokens: 10, costUsd: 0.5 } };
  const text = serializeResult(result);
  assert.equal(Value.Check(RunnerResultSchema, JSON.parse(text)), true);
  assert.deepEqual(parseRunnerResult(text), result);
});

test('the good parts of a result that is partly wrong are kept, the rest dropped', () => {
  const text = JSON.stringify({
    summary: 7,
    repos: [
      { branch: 'no-url' },
      'not an object',
      { ...repo, status: 'Merged', message: '' },
      { url: 'https://git.example.com/team-a/docs.git', commit: 42 },
    ],
    usage: { inputTokens: 10, outputTokens: -1, costUsd: 'free' },
  });
  assert.deepEqual(parseRunnerResult(text), {
    repos: [
      { url: repo.url, branch: repo.branch, commit: repo.commit },
      { url: 'https://git.example.com/team-a/docs.git' },
    ],
    usage: { inputTokens: 10 },
  });
});

test('a usage with no good field is dropped; what is not a result at all is undefined', () => {
  assert.deepEqual(parseRunnerResult('{"repos":[],"usage":{"costUsd":"free"}}'), { repos: [] });
  assert.deepEqual(parseRunnerResult('{"summary":"x"}'), { summary: 'x', repos: [] });
  for (const message of [undefined, '', 'Error: out of memory', '{not json', 'null']) {
    assert.equal(parseRunnerResult(message), undefined, String(message));
  }
});

test('warnings are read back line by line: a bad line is dropped, a result without them has none', () => {
  const text = JSON.stringify({ repos: [repo], warnings: ['~/.gitconfig was ignored', '', 42, 'hooks'] });
  assert.deepEqual(parseRunnerResult(text)?.warnings, ['~/.gitconfig was ignored', 'hooks']);
  assert.equal(parseRunnerResult(JSON.stringify({ repos: [repo], warnings: 'not a list' }))?.warnings, undefined);
  assert.equal(parseRunnerResult(JSON.stringify({ repos: [repo] }))?.warnings, undefined);
});
