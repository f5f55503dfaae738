/**
 * Prerequisites: a session that cannot run ends at once with exit code 2 (never retried), one
 * line on stderr naming what is missing and how to fix it, the same line as the result's summary,
 * and nothing pushed.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitSandbox, type RunnerRun, repo } from './support/git-sandbox.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

/** A directory holding a `claude` that would succeed, so only the missing prerequisite can fail. */
const fakeBin = join(sandbox.root, 'bin');
mkdirSync(fakeBin);
writeFileSync(join(fakeBin, 'claude'), '#!/bin/sh\necho {}\n');
chmodSync(join(fakeBin, 'claude'), 0o755);

function assertPrerequisiteFailure(run: RunnerRun, pattern: RegExp): void {
  assert.equal(run.exitCode, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assert.match(lines[0] ?? '', pattern);
  assert.deepEqual(run.result, { summary: (lines[0] ?? '').replace(/^shepherd-runner: /, ''), repos: [] });
}

describe('a runner missing a prerequisite exits 2', () => {
  it('claude without a prompt names INITIAL_PROMPT and spec.initialPrompt', async () => {
    const url = sandbox.bareRepo('noprompt');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const env = sandbox.runnerEnv(workspace, runnerRepos, {
      SHEPHERD_AGENT: 'claude',
      SHEPHERD_PROVIDER_TOKEN: 'sk-ant-test-0123456789',
      PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
    });
    const run = await sandbox.runRunner(env);
    assertPrerequisiteFailure(run, /INITIAL_PROMPT is empty: .*set spec.initialPrompt/);
    assert.equal(sandbox.remoteHead(url, 'shepherd/fix-readme'), undefined);
  });

  it('a repository that was never cloned names the repository and the clone step', async () => {
    const url = sandbox.bareRepo('noclone');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    rmSync(join(workspace, 'repo'), { recursive: true });
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: '["true"]',
      }),
    );
    assertPrerequisiteFailure(
      run,
      new RegExp(`the repository ${url} is not cloned at ${workspace}/repo: the clone step`),
    );
  });

  it('a missing agent program is named with how to get it', async () => {
    const url = sandbox.bareRepo('noagent');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: '["no-such-agent-xyz","--fix"]',
      }),
    );
    assertPrerequisiteFailure(run, /the agent program "no-such-agent-xyz" is not on PATH .*spec.image/);
  });

  it('claude without any credentials names the provider token and ANTHROPIC_API_KEY', async () => {
    const url = sandbox.bareRepo('nokey');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        SHEPHERD_AGENT: 'claude',
        INITIAL_PROMPT: 'fix it',
        PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
      }),
    );
    assertPrerequisiteFailure(run, /no credentials for claude: .*ANTHROPIC_API_KEY/);
  });

  it('a repository with credentials whose token variable is empty names the variable', async () => {
    const url = sandbox.bareRepo('notoken');
    const { workspace, runnerRepos } = await sandbox.workspace([
      repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } }),
    ]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, { SHEPHERD_AGENT: 'command', SHEPHERD_COMMAND: '["true"]' }),
    );
    assertPrerequisiteFailure(run, /the git token for .* is missing \(SHEPHERD_GIT_TOKEN_0 is empty\)/);
  });

  it('a missing workspace is named, and a base commit the clone lacks is a prerequisite too', async () => {
    const url = sandbox.bareRepo('nobase');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const noWorkspace = await sandbox.runRunner({
      ...sandbox.runnerEnv(join(workspace, 'gone'), [], {
        SHEPHERD_AGENT: 'command',
        SHEPHERD_COMMAND: '["true"]',
      }),
      SHEPHERD_RESULT_FILE: join(sandbox.root, 'gone-result.json'),
    });
    assertPrerequisiteFailure(noWorkspace, /the workspace .*gone does not exist: set SHEPHERD_WORKSPACE/);

    const repos = runnerRepos.map((r) => ({ ...r, branch: 'release-9' }));
    const noBase = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, repos, { SHEPHERD_AGENT: 'command', SHEPHERD_COMMAND: '["true"]' }),
    );
    assertPrerequisiteFailure(noBase, /has no branch release-9: check the session's repos/);
  });
});
