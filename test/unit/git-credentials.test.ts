/**
 * The one git credential helper, as the runner's git configures it: git gets the token from the
 * named variable, and nothing else that could run code reaches the helper.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { gitCredentialConfig } from '../../src/runner-contract/git-credentials.js';
import { credentialHelperEnv } from '../../src/runner/git.js';
import { testGitEnv } from '../support/git.js';

test('git answers a credential request with the token in the named variable', () => {
  const output = execFileSync('git', ['credential', 'fill'], {
    env: {
      ...testGitEnv,
      ...credentialHelperEnv('REPO_TOKEN'),
      REPO_TOKEN: "tok'en\\n$HOME",
      GIT_TERMINAL_PROMPT: '0',
    },
    input: 'protocol=https\nhost=git.example.com\n\n',
    encoding: 'utf8',
  });
  assert.match(output, /^username=x-access-token$/m);
  assert.match(output, /^password=tok'en\\n\$HOME$/m);
});

test('a variable name that is not one is refused before it reaches the helper', () => {
  assert.throws(() => gitCredentialConfig('$(id)'), /not an environment variable name: \$\(id\)/);
});
