/**
 * The one git credential helper, as the runner's git configures it: git gets the token from the
 * named variable for the repository's own scheme and host, and for nothing else it is asked about.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { credentialTarget, gitCredentialConfig } from '../../src/runner-contract/git-credentials.js';
import { configEnv, runnerGitConfig } from '../../src/runner/git.js';
import { testGitEnv } from '../support/git.js';

const TOKEN = "tok'en\\n$HOME";

/** `git credential fill` for `request` with the runner's configuration for `url`. */
function fill(url: string, request: string): { status: number | null; stdout: string } {
  const result = spawnSync('git', ['credential', 'fill'], {
    env: {
      ...testGitEnv,
      ...configEnv(runnerGitConfig({ tokenEnv: 'REPO_TOKEN', url })),
      REPO_TOKEN: TOKEN,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
    },
    input: `${request}\n\n`,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout };
}

describe('the credential helper', () => {
  it('answers a request for the repository’s scheme and host with the token in the named variable', () => {
    const { stdout } = fill('https://git.example.com/team/app.git', 'protocol=https\nhost=git.example.com');
    assert.match(stdout, /^username=x-access-token$/m);
    assert.match(stdout, /^password=tok'en\\n\$HOME$/m);
  });

  it('answers for a host with a port only on that port', () => {
    const url = 'http://127.0.0.1:8418/app.git';
    assert.match(fill(url, 'protocol=http\nhost=127.0.0.1:8418').stdout, /^password=/m);
    for (const request of ['protocol=http\nhost=127.0.0.1:8419', 'protocol=http\nhost=127.0.0.1']) {
      const result = fill(url, request);
      assert.notEqual(result.status, 0, request);
      assert.ok(!result.stdout.includes('tok'), request);
    }
  });

  for (const [what, request] of [
    ['another host', 'protocol=https\nhost=attacker.example'],
    ['a host that only starts like it', 'protocol=https\nhost=git.example.com.attacker.example'],
    ['plain http to the same host', 'protocol=http\nhost=git.example.com'],
  ] as const) {
    it(`gives nothing for ${what}`, () => {
      const result = fill('https://git.example.com/team/app.git', request);
      assert.notEqual(result.status, 0, 'git found no credential');
      assert.ok(!result.stdout.includes('tok'), 'the token is not in git’s answer');
    });
  }

  it('reads the scheme and host as git does: user part dropped, port kept; none for ssh or a path', () => {
    assert.deepEqual(credentialTarget('https://user:pw@git.example.com:8443/a.git'), {
      protocol: 'https',
      host: 'git.example.com:8443',
    });
    assert.equal(credentialTarget('git@github.com:team/app.git'), undefined);
    assert.equal(credentialTarget('ssh://git@github.com/team/app.git'), undefined);
    assert.equal(credentialTarget('/srv/git/app.git'), undefined);
    // Nothing that is not a host name reaches the helper's shell code.
    assert.equal(credentialTarget("https://a'$(id)'/x.git"), undefined);
    assert.deepEqual(gitCredentialConfig('T', 'file:///srv/git/app.git'), [['credential.helper', '']]);
  });

  it('refuses a variable name that is not one before it reaches the helper', () => {
    assert.throws(
      () => gitCredentialConfig('$(id)', 'https://git.example.com/a.git'),
      /not an environment variable name: \$\(id\)/,
    );
  });
});
