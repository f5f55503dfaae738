/**
 * The runner's result: it always fits the 4 KiB the kubelet keeps of a termination message, and
 * the worker reads back what the runner wrote, keeping the good parts of a result partly wrong,
 * and whatever a hostile runner writes, what comes back fits the AgentSession status schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parse } from 'yaml';
import {
  MAX_PARSED_CHARS,
  MAX_RESULT_BYTES,
  parseRunnerResult,
  parseRunnerResultReport,
  REPO_FIELDS,
  isText,
  USAGE_FIELDS,
} from '../../src/runner-contract/result.js';
import {
  RunnerResultRepoSchema,
  RunnerResultSchema,
  RunnerUsageSchema,
} from '../../src/runner-contract/result-schema.js';
import { RESULT_LIMITS, TRIM_MARKER } from '../../src/runner-contract/result-limits.js';
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

test('a question outlasts the summary, the messages and the warnings; when it alone is too long, its end is cut', () => {
  const question = `Which of the two checkout flows should the fix keep? ${'Details. '.repeat(100)}`.trim();
  const text = serializeResult({
    summary: 'Looked at both flows. '.repeat(200),
    repos: [{ ...repo, message: 'pushed '.repeat(100) }],
    usage: { inputTokens: 10 },
    warnings: ['a warning '.repeat(50)],
    question,
  });
  assert.ok(Buffer.byteLength(text) <= MAX_RESULT_BYTES);
  const parsed = parseRunnerResult(text);
  assert.equal(parsed?.question, question);
  assert.deepEqual(parsed?.usage, { inputTokens: 10 });
  assert.equal(parsed?.repos[0]?.commit, repo.commit);

  const long = 'Which one? '.repeat(600);
  const cut = parseRunnerResult(
    serializeResult({ repos: [repo], usage: { inputTokens: 10 }, question: long }),
  );
  assert.ok(cut?.question?.startsWith('Which one? Which one?'));
  assert.ok(cut?.question?.endsWith('…'));
  assert.deepEqual(cut?.usage, { inputTokens: 10 }, 'the usage is kept');
  assert.deepEqual(cut?.repos, [repo]);
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

test('the parser’s field checks accept exactly what the schema accepts, field by field', () => {
  const values: unknown[] = [
    null,
    '',
    ' ',
    'x',
    'Pushed',
    'Merged',
    'NoChanges',
    0,
    -0,
    1,
    -1,
    1.5,
    -0.5,
    2 ** 60,
    true,
    false,
    [],
    ['x'],
    {},
    { url: 'x' },
  ];
  const repoSchemas: Record<string, TSchema> = RunnerResultRepoSchema.properties;
  const usageSchemas: Record<string, TSchema> = RunnerUsageSchema.properties;
  const pairs: Array<readonly [string, (value: unknown) => boolean, TSchema | undefined]> = [
    ...Object.entries(REPO_FIELDS).map(([key, check]) => [`repo.${key}`, check, repoSchemas[key]] as const),
    ...Object.entries(USAGE_FIELDS).map(
      ([key, check]) => [`usage.${key}`, check, usageSchemas[key]] as const,
    ),
    ['summary', isText, RunnerResultSchema.properties.summary],
    ['question', isText, RunnerResultSchema.properties.question],
  ];
  // Every property of the schemas has its check, and no check is for a property they lack.
  assert.deepEqual(Object.keys(REPO_FIELDS).sort(), Object.keys(RunnerResultRepoSchema.properties).sort());
  assert.deepEqual(Object.keys(USAGE_FIELDS).sort(), Object.keys(RunnerUsageSchema.properties).sort());
  for (const [field, check, schema] of pairs) {
    assert.ok(schema, `${field} has no schema`);
    for (const value of values) {
      assert.equal(check(value), Value.Check(schema, value), `${field} = ${JSON.stringify(value)}`);
    }
  }
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
  assert.equal(
    parseRunnerResult(JSON.stringify({ repos: [repo], warnings: 'not a list' }))?.warnings,
    undefined,
  );
  assert.equal(parseRunnerResult(JSON.stringify({ repos: [repo] }))?.warnings, undefined);
});

interface StatusSchema {
  type?: string;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  format?: string;
  properties?: Record<string, StatusSchema>;
  items?: StatusSchema;
}

/** The AgentSession status schema, as the API server enforces it. */
const statusSchema: StatusSchema = (() => {
  const crd = parse(
    readFileSync(new URL('../../charts/shepherd/files/crds/agentsessions.yaml', import.meta.url), 'utf8'),
  ) as { spec: { versions: Array<{ schema: { openAPIV3Schema: StatusSchema } }> } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.status!;
})();

/** Every violation of `schema` by `value`, as the API server would name the field. */
function violations(schema: StatusSchema, value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (schema.type === 'string') {
    if (typeof value !== 'string') return [`${path}: not a string`];
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) return [`${path}: too long`];
    if (/[\ud800-\udfff]/.test(value.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
      return [`${path}: lone surrogate`];
    return [];
  }
  if (schema.type === 'integer') {
    return Number.isSafeInteger(value) &&
      (schema.minimum === undefined || (value as number) >= schema.minimum)
      ? []
      : [`${path}: not an integer in range`];
  }
  if (schema.type === 'number') {
    return typeof value === 'number' &&
      Number.isFinite(value) &&
      (schema.minimum === undefined || value >= schema.minimum)
      ? []
      : [`${path}: not a number in range`];
  }
  if (schema.type === 'array') {
    if (!Array.isArray(value)) return [`${path}: not an array`];
    const own =
      schema.maxItems !== undefined && value.length > schema.maxItems ? [`${path}: too many items`] : [];
    return [...own, ...value.flatMap((item, i) => violations(schema.items!, item, `${path}[${i}]`))];
  }
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null) return [`${path}: not an object`];
    return Object.entries(value).flatMap(([key, item]) =>
      schema.properties?.[key]
        ? violations(schema.properties[key], item, `${path}.${key}`)
        : [`${path}.${key}: unknown`],
    );
  }
  return [];
}

/** What the workflow writes into the status from a result (see resultRecorded in session-status.ts). */
function statusViolations(message: string): string[] {
  const result = parseRunnerResult(message);
  if (!result) return [];
  const props = statusSchema.properties!;
  return [
    ...violations(props.result!, result.summary, 'status.result'),
    ...violations(props.reconciledRepos!, result.repos, 'status.reconciledRepos'),
    ...violations(props.usage!, result.usage, 'status.usage'),
  ];
}

test('the limits the parser fits results into are the status schema of the CRD', () => {
  const props = statusSchema.properties!;
  const repoProps = props.reconciledRepos!.items!.properties!;
  assert.equal(RESULT_LIMITS.summary, props.result!.maxLength);
  assert.equal(RESULT_LIMITS.repos, props.reconciledRepos!.maxItems);
  for (const key of ['url', 'branch', 'commit', 'pullRequestUrl', 'message'] as const) {
    assert.equal(RESULT_LIMITS[key], repoProps[key]!.maxLength, key);
  }
});

test('a huge summary is cut to the status limit with a marker, and the cut is reported', () => {
  const text = JSON.stringify({ summary: `${'x'.repeat(40_000)}🎉`, repos: [] });
  const report = parseRunnerResultReport(text);
  assert.equal(report?.result.summary?.length, RESULT_LIMITS.summary);
  assert.ok(report?.result.summary?.endsWith(TRIM_MARKER));
  assert.deepEqual(report?.trimmed, ['summary']);
  assert.deepEqual(statusViolations(text), []);
  // A cut that would fall inside a surrogate pair drops the whole character.
  const emoji = JSON.stringify({ summary: '🎉'.repeat(20_000), repos: [] });
  const summary = parseRunnerResult(emoji)?.summary ?? '';
  assert.ok(summary.length <= RESULT_LIMITS.summary);
  assert.ok(summary.replace(TRIM_MARKER, '').match(/^(🎉)+$/u), 'only whole characters are kept');
});

test('10,000 repository entries are capped at the schema maximum, and the cap is reported', () => {
  const repos = Array.from({ length: 10_000 }, (_, i) => ({ url: `https://git.example.com/r${i}.git` }));
  const report = parseRunnerResultReport(JSON.stringify({ repos }));
  assert.equal(report?.result.repos.length, RESULT_LIMITS.repos);
  assert.deepEqual(report?.result.repos[0], repos[0]);
  assert.deepEqual(report?.trimmed, [`repos (10000 entries, ${RESULT_LIMITS.repos} kept)`]);
  assert.deepEqual(statusViolations(JSON.stringify({ repos })), []);
});

test('over-long repository fields: a URL drops the entry, a commit or PR URL drops the field, a branch or message is cut', () => {
  const long = (n: number) => 'a'.repeat(n);
  const text = JSON.stringify({
    repos: [
      { url: `https://x/${long(3000)}` },
      {
        url: 'https://git.example.com/ok.git',
        commit: long(65),
        pullRequestUrl: `https://x/${long(3000)}`,
        branch: long(300),
        message: long(5000),
        status: 'Failed',
      },
    ],
  });
  const report = parseRunnerResultReport(text);
  assert.equal(report?.result.repos.length, 1);
  const [fitted] = report.result.repos;
  assert.equal(fitted?.url, 'https://git.example.com/ok.git');
  assert.equal(fitted?.commit, undefined);
  assert.equal(fitted?.pullRequestUrl, undefined);
  assert.equal(fitted?.branch?.length, RESULT_LIMITS.branch);
  assert.ok(fitted?.message?.endsWith(TRIM_MARKER));
  assert.equal(fitted?.status, 'Failed');
  assert.deepEqual(report?.trimmed, [
    'repos[0] (url over 2048 characters, dropped)',
    'repos[1].commit',
    'repos[1].pullRequestUrl',
    'repos[1].branch',
    'repos[1].message',
  ]);
  assert.deepEqual(statusViolations(text), []);
});

test('values of the wrong type or outside the int64 counts are dropped, never written', () => {
  const text = JSON.stringify({
    summary: { nested: true },
    repos: { url: 'not an array' },
    usage: {
      inputTokens: 1.5,
      outputTokens: 2 ** 60,
      cacheReadTokens: 3,
      costUsd: -0.1,
      cacheWriteTokens: '4',
    },
  });
  const report = parseRunnerResultReport(text);
  assert.deepEqual(report?.result, { repos: [], usage: { cacheReadTokens: 3 } });
  assert.deepEqual(report?.trimmed, ['usage.inputTokens', 'usage.outputTokens']);
  assert.deepEqual(statusViolations(text), []);
});

test('broken text (lone surrogates, bytes that were not UTF-8) becomes U+FFFD, not an unwritable status', () => {
  const text =
    '{"summary":"half \\ud83d of an emoji","repos":[{"url":"https://x/\\udc00.git","message":"ok"}]}';
  const result = parseRunnerResult(text);
  assert.equal(result?.summary, 'half \ufffd of an emoji');
  assert.equal(result?.repos[0]?.url, 'https://x/\ufffd.git');
  const notUtf8 = Buffer.from([
    0x7b, 0x22, 0x73, 0x75, 0x6d, 0x6d, 0x61, 0x72, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d,
  ]);
  assert.equal(parseRunnerResult(notUtf8.toString('utf8'))?.summary, '\ufffd\ufffd');
  assert.deepEqual(statusViolations(text), []);
});

test('deeply nested values are dropped and oversized messages are not results, and neither throws', () => {
  const deep = `{"summary":"x","repos":[],"usage":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
  assert.deepEqual(parseRunnerResult(deep), { summary: 'x', repos: [] }, 'the nested usage is dropped');
  const nested = `{"summary":"x","repos":[${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}]}`;
  assert.deepEqual(parseRunnerResult(nested), { summary: 'x', repos: [] });
  assert.equal(parseRunnerResult(`{"summary":"${'x'.repeat(MAX_PARSED_CHARS)}"}`), undefined);
  assert.equal(parseRunnerResult('[{"url":"x"}]'), undefined);
});
