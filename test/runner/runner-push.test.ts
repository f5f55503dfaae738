/**
 * The runner's happy path and its retries, with real git: the agent's edits end up on the output
 * branch of the remote, a rerun continues from what an earlier run pushed, and a failing agent's
 * work is pushed all the same.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitSandbox, repo } from './support/git-sandbox.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const command = (script: string) => ({
  SHEPHERD_AGENT: 'command',
  SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', script]),
});

describe('the runner pushes the agent’s work', () => {
  it('a successful command agent’s edit is pushed to outputBranch, and the result names the commit the remote has', async () => {
    const url = sandbox.bareRepo('success');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        ...command('echo hi > NOTES.md; echo "wrote NOTES.md for: $INITIAL_PROMPT"'),
        INITIAL_PROMPT: 'add notes',
      }),
    );

    assert.equal(run.exitCode, 0, run.stderr);
    const pushed = sandbox.remoteHead(url, 'shepherd/fix-readme');
    assert.ok(pushed, 'the output branch exists on the remote');
    assert.deepEqual(run.result, {
      summary: 'wrote NOTES.md for: add notes',
      repos: [{ url, branch: 'shepherd/fix-readme', commit: pushed, status: 'Pushed' }],
    });
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'NOTES.md'), 'hi');
    // No identity is configured for the runner, so its commit is Shepherd's; main is untouched.
    assert.equal(
      sandbox.git(url, 'log', '-1', '--format=%an <%ae>', 'shepherd/fix-readme'),
      'Shepherd <shepherd@localhost>',
    );
    assert.equal(sandbox.remoteLog(url, 'main').length, 1);
    assert.match(run.stdout, /wrote NOTES.md for: add notes/, 'the agent’s output is in the session log');
  });

  it('a rerun whose outputBranch already exists on the remote continues from it, keeping the earlier commit', async () => {
    const url = sandbox.bareRepo('rerun');
    const first = await sandbox.workspace([repo(url)]);
    const run1 = await sandbox.runRunner(
      sandbox.runnerEnv(first.workspace, first.runnerRepos, command('echo one > ONE.md')),
    );
    assert.equal(run1.exitCode, 0, run1.stderr);

    // A new pod on a fresh workspace: the clone starts at main, the runner finds the pushed branch.
    const second = await sandbox.workspace([repo(url)]);
    const run2 = await sandbox.runRunner(
      sandbox.runnerEnv(second.workspace, second.runnerRepos, {
        ...command('test -f ONE.md && echo two > TWO.md'),
        SHEPHERD_ATTEMPT: '2',
      }),
    );
    assert.equal(run2.exitCode, 0, run2.stderr);
    assert.match(run2.stdout, /continuing on shepherd\/fix-readme from the remote/);
    assert.deepEqual(sandbox.remoteLog(url, 'shepherd/fix-readme'), [
      'session fix-readme (attempt 2): changes the agent left uncommitted',
      'session fix-readme (attempt 1): changes the agent left uncommitted',
      'first',
    ]);
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'ONE.md'), 'one');
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'TWO.md'), 'two');
  });

  it('a command exiting 3 makes the runner exit 1, with the work it did still pushed', async () => {
    const url = sandbox.bareRepo('failing');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(
        workspace,
        runnerRepos,
        command('echo half > HALF.md; echo "tests fail" >&2; exit 3'),
      ),
    );

    assert.equal(run.exitCode, 1);
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'HALF.md'), 'half');
    const repos = run.result?.repos as { status: string; commit: string }[];
    assert.equal(repos[0]?.status, 'Pushed');
    assert.equal(repos[0]?.commit, sandbox.remoteHead(url, 'shepherd/fix-readme'));
    assert.match(String(run.result?.summary), /^command exited with code 3/);
    assert.match(run.stderr, /tests fail/, 'the agent’s stderr is in the session log');
  });

  it('an agent that changes nothing reports NoChanges and pushes no branch', async () => {
    const url = sandbox.bareRepo('nochanges');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, command('echo looked around')),
    );

    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(sandbox.remoteHead(url, 'shepherd/fix-readme'), undefined);
    const repos = run.result?.repos as { status: string; commit: string }[];
    assert.equal(repos[0]?.status, 'NoChanges');
    assert.equal(repos[0]?.commit, sandbox.remoteHead(url, 'main'));
  });

  it('with autoPush false the work is committed in the workspace and reported NotPushed', async () => {
    const url = sandbox.bareRepo('nopush');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url, { autoPush: false })]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, command('echo local > LOCAL.md')),
    );

    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(sandbox.remoteHead(url, 'shepherd/fix-readme'), undefined);
    const repos = run.result?.repos as { status: string; commit: string }[];
    assert.equal(repos[0]?.status, 'NotPushed');
    const dir = join(workspace, 'repo');
    assert.equal(repos[0]?.commit, sandbox.git(dir, 'rev-parse', 'shepherd/fix-readme'));
    assert.equal(readFileSync(join(dir, 'LOCAL.md'), 'utf8'), 'local\n');
  });

  it('a push the remote refuses is reported Failed with git’s reason, and the runner exits 1', async () => {
    const url = sandbox.bareRepo('refused');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    // Someone else pushes to the output branch while the agent works: the runner must not overwrite it.
    const other = join(sandbox.root, 'refused-other');
    const script = `echo mine > MINE.md; git clone --quiet ${url} ${other} && cd ${other} && echo theirs > THEIRS.md && git add . && git -c user.name=x -c user.email=x@x commit --quiet -m theirs && git push --quiet origin HEAD:refs/heads/shepherd/fix-readme`;
    const run = await sandbox.runRunner(sandbox.runnerEnv(workspace, runnerRepos, command(script)));

    assert.equal(run.exitCode, 1);
    const repos = run.result?.repos as { status: string; message: string }[];
    assert.equal(repos[0]?.status, 'Failed');
    assert.match(repos[0]?.message ?? '', /git push failed: .*rejected/);
    assert.deepEqual(sandbox.remoteLog(url, 'shepherd/fix-readme'), ['theirs', 'first']);
  });
});
