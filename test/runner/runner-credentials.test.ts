/**
 * A private repository: the clone step and the runner authenticate with the repository's token
 * through a credential helper that reads it from the environment, so the push works while the
 * token stays out of .git/config, the result and the session log.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitSandbox, repo } from './support/git-sandbox.js';
import { type GitHttpServer, startGitHttpServer } from './support/git-http-server.js';

const TOKEN = 'ghp_privateRepositoryToken0123456789';
const sandbox = new GitSandbox();
let server: GitHttpServer;

before(async () => {
  server = await startGitHttpServer(sandbox.root, TOKEN);
});
after(async () => {
  await server.close();
  sandbox.remove();
});

describe('a repository behind a token', () => {
  it('is cloned, checked for an earlier output branch and pushed with the token from its variable, which is written nowhere', async () => {
    sandbox.bareRepo('private');
    const url = server.url('private.git');
    const spec = repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } });
    const { workspace, runnerRepos } = await sandbox.workspace([spec], { SHEPHERD_GIT_TOKEN_0: TOKEN });
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', 'echo secret work > WORK.md']),
        SHEPHERD_GIT_TOKEN_0: TOKEN,
      }),
    );

    assert.equal(run.exitCode, 0, run.stderr);
    const bare = join(sandbox.root, 'private.git');
    assert.equal(sandbox.remoteFile(bare, 'shepherd/fix-readme', 'WORK.md'), 'secret work');
    const repos = run.result?.repos as { status: string; commit: string }[];
    assert.equal(repos[0]?.status, 'Pushed');
    assert.equal(repos[0]?.commit, sandbox.remoteHead(bare, 'shepherd/fix-readme'));
    assert.ok(server.refused > 0, 'the server did demand the token');

    const gitConfig = readFileSync(join(workspace, 'repo', '.git', 'config'), 'utf8');
    assert.ok(!gitConfig.includes(TOKEN), 'not in .git/config');
    assert.ok(!run.resultText.includes(TOKEN), 'not in the result');
    assert.ok(!run.stdout.includes(TOKEN) && !run.stderr.includes(TOKEN), 'not in the session log');
  });

  it('with a revoked token the run fails with exit 1 and git’s reason, without showing the token', async () => {
    sandbox.bareRepo('private2');
    const url = server.url('private2.git');
    const { workspace, runnerRepos } = await sandbox.workspace(
      [repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } })],
      { SHEPHERD_GIT_TOKEN_0: TOKEN },
    );
    const wrong = 'ghp_revokedToken_abcdefghijklmnop';
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: '["true"]',
        SHEPHERD_GIT_TOKEN_0: wrong,
      }),
    );

    assert.equal(run.exitCode, 1);
    assert.match(
      String(run.result?.summary),
      /could not prepare shepherd\/fix-readme .*Authentication failed/,
    );
    for (const text of [run.resultText, run.stdout, run.stderr]) assert.ok(!text.includes(wrong));
  });
});
