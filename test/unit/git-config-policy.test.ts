/**
 * What the runner keeps of a clone's .git/config once an agent has had it: a real clone's own
 * configuration is kept whole and reported clean, anything else is dropped and named, origin is
 * put back, and the file written back reads the same in real git.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  alteredNote,
  parseConfigList,
  renderConfig,
  sanitizeRepoConfig,
} from '../../src/runner/git-config-policy.js';
import { bareRepo, git } from '../support/git.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-config-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));

function listed(file: string) {
  return parseConfigList(git(root, 'config', '--file', file, '--null', '--list'));
}

describe('the clone configuration policy', () => {
  it('keeps a fresh clone’s configuration and reports nothing', () => {
    const bare = bareRepo(root);
    const clone = join(root, 'clone');
    git(root, 'clone', '--quiet', bare, clone);
    const entries = listed(join(clone, '.git', 'config'));
    const sanitized = sanitizeRepoConfig(entries, bare);
    assert.deepEqual(sanitized.altered, []);
    assert.deepEqual(new Set(sanitized.entries.map(([key]) => key)), new Set(entries.map(([key]) => key)));
  });

  it('drops every other key, names each, and puts origin back on the session’s URL', () => {
    const { entries, altered } = sanitizeRepoConfig(
      [
        ['core.repositoryformatversion', '0'],
        ['core.bare', 'true'],
        ['core.fsmonitor', '/tmp/x'],
        ['core.sshcommand', 'evil'],
        ['url.http://evil/.insteadof', 'https://git.example.com/'],
        ['remote.origin.url', 'http://evil/x.git'],
        ['remote.origin.pushurl', 'http://evil/x.git'],
        ['include.path', '/tmp/evil'],
        ['includeif.gitdir:/.path', '/tmp/evil'],
        ['filter.lfs.clean', 'evil'],
        ['credential.helper', '!evil'],
        ['branch.main.remote', 'evil'],
        ['user.name', 'Agent'],
        ['user.name', 'Someone Else'],
      ],
      'https://git.example.com/a.git',
    );
    assert.deepEqual(altered, [
      'core.bare (removed)',
      'core.fsmonitor (removed)',
      'core.sshcommand (removed)',
      'url.http://evil/.insteadof (removed)',
      'remote.origin.url (reset)',
      'remote.origin.pushurl (removed)',
      'include.path (removed)',
      'includeif.gitdir:/.path (removed)',
      'filter.lfs.clean (removed)',
      'credential.helper (removed)',
      'branch.main.remote (removed)',
      'user.name (removed)',
      'remote.origin.fetch (reset)',
    ]);
    assert.deepEqual(entries, [
      ['core.repositoryformatversion', '0'],
      ['user.name', 'Agent'],
      ['remote.origin.url', 'https://git.example.com/a.git'],
      ['remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'],
    ]);
  });

  it('writes a file real git reads back entry for entry, odd characters included', () => {
    const entries = [
      ['core.repositoryformatversion', '0'],
      ['user.name', 'A "quoted" \\ name\twith tab'],
      ['branch.we"ird\\name.merge', 'refs/heads/x'],
      ['remote.origin.url', 'https://git.example.com/a b.git'],
    ] as const;
    const file = join(root, 'rendered');
    writeFileSync(file, renderConfig(entries));
    assert.deepEqual(listed(file), entries);
  });

  it('names at most eight alterations in its note', () => {
    const many = Array.from({ length: 20 }, (_, i) => `k${i}.x (removed)`);
    const note = alteredNote(many);
    assert.match(note, /k7\.x \(removed\) and 12 more$/);
    assert.ok(!note.includes('k8.x'));
  });
});
