/**
 * `shepherd run`'s flags become the session a user meant: a repository's branch after the last
 * `@` of its path (not the `@` of `git@host` or of a user in the URL), a shell command for agent
 * command, labels and pod annotations, and flags over a session file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCreateBody, parseSessionFile, splitRepo } from '../../src/cli/session-request.js';
import { assertCelRulesImplemented, loadCrdSpecSchema } from '../../src/api/session-validation.js';

test('--repo url@branch splits only at an @ inside the path', () => {
  assert.deepEqual(splitRepo('https://git.example/app.git@main'), {
    url: 'https://git.example/app.git',
    branch: 'main',
  });
  assert.deepEqual(splitRepo('git@github.com:o/r.git'), { url: 'git@github.com:o/r.git' });
  assert.deepEqual(splitRepo('git@github.com:o/r.git@feature/x'), {
    url: 'git@github.com:o/r.git',
    branch: 'feature/x',
  });
  assert.deepEqual(splitRepo('https://bot@git.example/app.git'), { url: 'https://bot@git.example/app.git' });
  assert.deepEqual(splitRepo('/srv/repos/app.git@dev'), { url: '/srv/repos/app.git', branch: 'dev' });
});

test('flags make a command session, and override a session file', () => {
  const file = parseSessionFile(
    'metadata:\n  name: from-file\n  labels: {team: a}\nspec:\n  agent: claude\n  initialPrompt: old\n  retries: 2\n',
  );
  const body = buildCreateBody(
    { prompt: 'fix the build', retries: '1', label: ['tier=gold'], annotation: ['a=b'] },
    file,
  );
  assert.deepEqual(body.metadata, { name: 'from-file', labels: { team: 'a', tier: 'gold' } });
  assert.equal(body.spec.initialPrompt, 'fix the build');
  assert.equal(body.spec.retries, 1);
  assert.deepEqual(body.spec.podMetadata, { annotations: { a: 'b' } });
  const command = buildCreateBody({ command: 'make fix' });
  assert.equal(command.spec.agent, 'command');
  assert.deepEqual(command.spec.command, ['sh', '-c', 'make fix']);
  assert.match(command.metadata.name, /^command-[0-9a-f]{6}$/);
  assert.deepEqual(buildCreateBody({ argv: ['make', 'fix'] }).spec.command, ['make', 'fix']);
  assert.throws(() => buildCreateBody({ retries: 'many' }), /--retries/);
  assert.throws(() => buildCreateBody({ label: ['nokey'] }), /--label takes key=value/);
});

test('every CEL rule of the AgentSession CRD has a TypeScript counterpart in the API', () => {
  assert.doesNotThrow(() => assertCelRulesImplemented(loadCrdSpecSchema()));
  assert.throws(
    () => assertCelRulesImplemented({ 'x-kubernetes-validations': [{ rule: 'self.size() > 1' }] }),
    /self.size\(\) > 1/,
  );
});
