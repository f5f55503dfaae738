/**
 * The Job's clone step, run for real with git against bare repositories on disk: the workspace the
 * agent starts in, and what a retry on the same workspace finds.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCloneScript } from '../../src/runner-contract/clone-script.js';
import { shellQuote } from '../../src/runner-contract/shell.js';
import type { ResolvedRepo } from '../../src/session/resolved-session.js';
import { git, testGitEnv } from '../support/git.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-clone-'));
const gitEnv = testGitEnv;

/** Makes a bare repository with a `main` and a `develop` branch; returns the first commit. */
function makeBareRepo(name: string): string {
  const work = join(root, `${name}-src`);
  git(root, 'init', '--quiet', '--initial-branch=main', work);
  writeFileSync(join(work, 'README.md'), 'first\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'first');
  const first = git(work, 'rev-parse', 'HEAD');
  writeFileSync(join(work, 'README.md'), 'second\n');
  git(work, 'commit', '--quiet', '-am', 'second');
  git(work, 'branch', 'develop', first);
  git(root, 'clone', '--quiet', '--bare', work, join(root, `${name}.git`));
  return first;
}

function runScript(repos: ResolvedRepo[], workspace: string): string {
  return execFileSync('sh', ['-c', buildCloneScript(repos, workspace)], {
    env: { ...gitEnv, HOME: join(workspace, '.home') },
    encoding: 'utf8',
  });
}

let firstCommit = '';

describe('the clone step', () => {
  before(() => {
    firstCommit = makeBareRepo('shop');
    makeBareRepo('docs');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('clones every repository into its directory, at the requested branch or commit', () => {
    const workspace = join(root, 'ws1');
    runScript(
      [
        { url: `file://${root}/shop.git`, outputBranch: 'shepherd/s', autoPush: true, dir: 'shop' },
        {
          url: `${root}/docs.git`,
          branch: 'develop',
          outputBranch: 'shepherd/s',
          autoPush: true,
          dir: 'docs',
        },
        {
          url: `file://${root}/shop.git`,
          commit: firstCommit,
          outputBranch: 'shepherd/s',
          autoPush: true,
          dir: 'shop-2',
        },
      ],
      workspace,
    );
    assert.equal(readFileSync(join(workspace, 'shop', 'README.md'), 'utf8'), 'second\n');
    assert.equal(readFileSync(join(workspace, 'docs', 'README.md'), 'utf8'), 'first\n');
    assert.equal(git(join(workspace, 'docs'), 'rev-parse', '--abbrev-ref', 'HEAD'), 'develop');
    assert.equal(git(join(workspace, 'shop-2'), 'rev-parse', 'HEAD'), firstCommit);
    assert.equal(existsSync(join(workspace, '.home')), true);
  });

  it("a retry on the same workspace keeps the agent's earlier work instead of cloning again", () => {
    const workspace = join(root, 'ws2');
    const repos: ResolvedRepo[] = [
      { url: `file://${root}/shop.git`, outputBranch: 'shepherd/s', autoPush: true, dir: 'shop' },
    ];
    runScript(repos, workspace);
    writeFileSync(join(workspace, 'shop', 'work-in-progress.txt'), 'agent output\n');
    const output = runScript(repos, workspace);
    assert.match(output, /keeping .*shop from an earlier attempt/);
    assert.equal(readFileSync(join(workspace, 'shop', 'work-in-progress.txt'), 'utf8'), 'agent output\n');
  });

  it('a clone that fails makes the step fail, leaving no half-cloned directory behind', () => {
    const workspace = join(root, 'ws3');
    assert.throws(() => {
      execFileSync(
        'sh',
        [
          '-c',
          buildCloneScript(
            [{ url: `file://${root}/missing.git`, outputBranch: 'x', autoPush: true, dir: 'missing' }],
            workspace,
          ),
        ],
        {
          env: { ...gitEnv, HOME: join(workspace, '.home') },
          stdio: 'pipe',
        },
      );
    });
    assert.equal(existsSync(join(workspace, 'missing')), false);
  });

  it('never writes a token into the script; it names the variable that holds it', () => {
    const script = buildCloneScript(
      [
        {
          url: 'https://git.example.com/a.git',
          outputBranch: 'x',
          autoPush: true,
          dir: 'a',
          credentialsSecretRef: { name: 'creds', key: 'token' },
        },
      ],
      '/workspace',
    );
    assert.match(
      script,
      /clone_repo 'https:\/\/git\.example\.com\/a\.git' '\/workspace\/a' '' '' 'SHEPHERD_GIT_TOKEN_0'/,
    );
  });

  it('quotes values with quotes in them so they stay one shell word', () => {
    assert.equal(
      execFileSync('sh', ['-c', `printf %s ${shellQuote("it's $HOME")}`], { encoding: 'utf8' }),
      "it's $HOME",
    );
  });

  it('a repository that does not exist fails the step with exit 2 and a message naming it', () => {
    const workspace = mkdtempSync(join(root, 'ws-missing-'));
    const url = join(root, 'no-such-repo.git');
    const run = spawnSync(
      'sh',
      ['-c', buildCloneScript([{ url, outputBranch: 'shepherd/x', autoPush: true, dir: 'gone' }], workspace)],
      {
        env: { ...gitEnv, HOME: join(workspace, '.home') },
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 2);
    assert.match(run.stderr, new RegExp(`cannot clone ${url}`));
    assert.equal(existsSync(join(workspace, 'gone')), false);
  });
});
