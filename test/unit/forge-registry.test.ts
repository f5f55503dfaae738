/**
 * The forge registry: the worker's SHEPHERD_FORGES, the repository a clone URL names on a forge,
 * which forge a session's repository is on (the session's own forge only on the repository's
 * host), the API base per forge type, and the adapter per type.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ForgeRefusedError } from '../../src/forges/forge.js';
import {
  GITHUB_COM,
  apiUrlOf,
  createForge,
  forgeFor,
  forgeRepoOf,
  parseForgesConfig,
} from '../../src/forges/forge-registry.js';

describe('parseForgesConfig', () => {
  it('knows github.com when nothing is configured', () => {
    assert.deepEqual(parseForgesConfig(undefined), [GITHUB_COM]);
    assert.deepEqual(parseForgesConfig('  '), [GITHUB_COM]);
  });

  it('reads entries, normalizes their URLs and adds github.com', () => {
    assert.deepEqual(
      parseForgesConfig(
        '[{"type":"gitea","url":"https://Gitea.Example.com/git/"},{"type":"github","url":"https://ghe.example.com","apiUrl":"https://ghe-api.example.com/api/v3/"}]',
      ),
      [
        { type: 'gitea', url: 'https://gitea.example.com/git' },
        { type: 'github', url: 'https://ghe.example.com', apiUrl: 'https://ghe-api.example.com/api/v3' },
        GITHUB_COM,
      ],
    );
  });

  it('lets an entry for github.com replace the default (e.g. an API proxy)', () => {
    assert.deepEqual(
      parseForgesConfig('[{"type":"github","url":"https://github.com","apiUrl":"http://proxy:8080"}]'),
      [{ type: 'github', url: 'https://github.com', apiUrl: 'http://proxy:8080' }],
    );
  });

  for (const [value, message] of [
    ['{', /^SHEPHERD_FORGES is not JSON \(.*\): set it to an array such as \[/],
    ['{"type":"gitea"}', /^SHEPHERD_FORGES must be a JSON array/],
    ['["gitea"]', /^SHEPHERD_FORGES\[0\] must be an object/],
    [
      '[{"type":"gitlab","url":"https://x"}]',
      /^SHEPHERD_FORGES\[0\]\.type must be "github" or "gitea", not "gitlab"/,
    ],
    ['[{"type":"gitea"}]', /^SHEPHERD_FORGES\[0\]\.url must be an http\(s\) URL/],
    [
      '[{"type":"gitea","url":"ftp://x"}]',
      /^SHEPHERD_FORGES\[0\]\.url must be an http\(s\) URL, not "ftp:\/\/x"/,
    ],
    ['[{"type":"gitea","url":"https://bot:tok@x"}]', /^SHEPHERD_FORGES\[0\]\.url must not hold credentials/],
    ['[{"type":"gitea","url":"https://x?a=1"}]', /^SHEPHERD_FORGES\[0\]\.url must have no query or fragment/],
    [
      '[{"type":"gitea","url":"https://x","apiUrl":"nope"}]',
      /^SHEPHERD_FORGES\[0\]\.apiUrl must be an http\(s\) URL, not "nope"/,
    ],
    [
      '[{"type":"gitea","url":"https://x","apiURL":"https://x"}]',
      /^SHEPHERD_FORGES\[0\] has an unknown field "apiURL"/,
    ],
    [
      '[{"type":"gitea","url":"https://x"},{"type":"gitea","url":"https://x/"}]',
      /^SHEPHERD_FORGES\[1\]\.url repeats SHEPHERD_FORGES\[0\]\.url/,
    ],
  ] as const) {
    it(`refuses ${value}, naming the entry and field`, () => {
      assert.throws(() => parseForgesConfig(value), { message });
    });
  }
});

describe('forgeRepoOf', () => {
  it('reads owner and name, with or without .git or a trailing slash', () => {
    for (const url of [
      'https://github.com/acme/app',
      'https://github.com/acme/app.git',
      'https://github.com/acme/app/',
    ]) {
      assert.deepEqual(forgeRepoOf('https://github.com', url), { owner: 'acme', name: 'app' }, url);
    }
  });

  it('compares hosts case-insensitively, and ports exactly', () => {
    assert.deepEqual(forgeRepoOf('https://github.com', 'https://GitHub.com/acme/app'), {
      owner: 'acme',
      name: 'app',
    });
    assert.deepEqual(forgeRepoOf('http://127.0.0.1:3000', 'http://127.0.0.1:3000/o/r.git'), {
      owner: 'o',
      name: 'r',
    });
    assert.equal(forgeRepoOf('http://127.0.0.1:3000', 'http://127.0.0.1:3001/o/r.git'), undefined);
    assert.deepEqual(forgeRepoOf('https://git.example.com:443', 'https://git.example.com/o/r'), {
      owner: 'o',
      name: 'r',
    });
  });

  it('takes the forge’s path prefix into account', () => {
    assert.deepEqual(forgeRepoOf('https://example.com/gitea/', 'https://example.com/gitea/o/r.git'), {
      owner: 'o',
      name: 'r',
    });
    assert.equal(forgeRepoOf('https://example.com/gitea', 'https://example.com/o/r.git'), undefined);
    assert.equal(forgeRepoOf('https://example.com/gitea', 'https://example.com/giteax/o/r.git'), undefined);
  });

  it('decodes percent-encoded parts', () => {
    assert.deepEqual(forgeRepoOf('https://gitea.example.com', 'https://gitea.example.com/team%20a/r'), {
      owner: 'team a',
      name: 'r',
    });
  });

  for (const [what, url] of [
    ['another host', 'https://github.com.attacker.example/acme/app'],
    ['a clone URL with credentials', 'https://x-access-token:secret@github.com/acme/app.git'],
    ['a clone URL with a user', 'https://bot@github.com/acme/app.git'],
    ['an ssh URL', 'ssh://git@github.com/acme/app.git'],
    ['an scp-like address', 'git@github.com:acme/app.git'],
    ['a file URL', 'file:///srv/git/app.git'],
    ['a path with one segment', 'https://github.com/acme'],
    ['a path with three segments', 'https://github.com/acme/app/tree'],
    ['a query', 'https://github.com/acme/app?x=1'],
    ['an empty name', 'https://github.com/acme/.git'],
    ['a broken escape', 'https://github.com/acme/%E0%A4%A'],
  ] as const) {
    it(`is undefined for ${what}`, () => {
      assert.equal(forgeRepoOf('https://github.com', url), undefined);
    });
  }
});

describe('forgeFor', () => {
  const configured = parseForgesConfig(
    '[{"type":"gitea","url":"https://code.example.com"},{"type":"gitea","url":"https://code.example.com/team","apiUrl":"https://api.example.com/v1"}]',
  );

  it('finds the configured forge of the repository’s URL, the longest prefix first', () => {
    assert.deepEqual(forgeFor('https://github.com/acme/app.git', undefined, configured), GITHUB_COM);
    assert.deepEqual(forgeFor('https://code.example.com/o/r.git', undefined, configured), {
      type: 'gitea',
      url: 'https://code.example.com',
    });
    assert.deepEqual(forgeFor('https://code.example.com/team/o/r.git', undefined, configured), {
      type: 'gitea',
      url: 'https://code.example.com/team',
      apiUrl: 'https://api.example.com/v1',
    });
  });

  it('is undefined for a repository on no known forge', () => {
    assert.equal(forgeFor('https://elsewhere.example/o/r.git', undefined, configured), undefined);
    assert.equal(forgeFor('/srv/git/app', undefined, configured), undefined);
  });

  it('takes the session’s forge on the repository’s own host, with the configured apiUrl when it is the same forge', () => {
    assert.deepEqual(
      forgeFor(
        'https://git.corp.example/o/r.git',
        { type: 'gitea', url: 'https://git.corp.example/' },
        configured,
      ),
      { type: 'gitea', url: 'https://git.corp.example' },
    );
    assert.deepEqual(
      forgeFor(
        'https://code.example.com/team/o/r',
        { type: 'gitea', url: 'https://code.example.com/team' },
        configured,
      ),
      { type: 'gitea', url: 'https://code.example.com/team', apiUrl: 'https://api.example.com/v1' },
    );
  });

  it('ignores a session’s forge on another host: the token would go there', () => {
    assert.deepEqual(
      forgeFor(
        'https://github.com/acme/app.git',
        { type: 'github', url: 'https://attacker.example' },
        configured,
      ),
      GITHUB_COM,
    );
    assert.equal(
      forgeFor(
        'https://elsewhere.example/o/r.git',
        { type: 'gitea', url: 'https://attacker.example' },
        configured,
      ),
      undefined,
    );
  });
});

describe('apiUrlOf and createForge', () => {
  it('puts the API where each forge type has it', () => {
    assert.equal(apiUrlOf({ type: 'github', url: 'https://github.com' }), 'https://api.github.com');
    assert.equal(
      apiUrlOf({ type: 'github', url: 'https://ghe.example.com' }),
      'https://ghe.example.com/api/v3',
    );
    assert.equal(
      apiUrlOf({ type: 'gitea', url: 'https://example.com/gitea' }),
      'https://example.com/gitea/api/v1',
    );
    assert.equal(
      apiUrlOf({ type: 'gitea', url: 'https://x', apiUrl: 'https://y/api/v1' }),
      'https://y/api/v1',
    );
  });

  it('builds the adapter of the forge’s type', () => {
    const github = createForge({ type: 'github', url: 'https://github.com', credentials: { token: 't' } });
    assert.deepEqual([github.type, github.url], ['github', 'https://github.com']);
    const gitea = createForge({
      type: 'gitea',
      url: 'https://gitea.example.com',
      credentials: { token: 't' },
    });
    assert.deepEqual([gitea.type, gitea.url], ['gitea', 'https://gitea.example.com']);
  });

  it('refuses GitHub App credentials for a Gitea, naming the Secret', () => {
    assert.throws(
      () =>
        createForge({
          type: 'gitea',
          url: 'https://gitea.example.com',
          credentials: { appId: 1, privateKey: 'k' },
          credentialsSource: 'Secret default/forge',
        }),
      (error: Error) =>
        error instanceof ForgeRefusedError &&
        /Gitea https:\/\/gitea.example.com has no GitHub Apps: Secret default\/forge must hold a key token/.test(
          error.message,
        ),
    );
  });
});
