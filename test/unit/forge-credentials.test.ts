/**
 * Forge credentials from a Secret's keys, read through the local secret source (the same port the
 * Kubernetes one implements): a token, a GitHub App, and errors that name the Secret and the key
 * but never a value.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { ForgeRefusedError } from '../../src/forges/forge.js';
import { describeCredentials, readForgeCredentials } from '../../src/forges/forge-credentials.js';
import { CredentialsNotFoundError } from '../../src/runtime/errors.js';
import { localSecretSource } from '../../src/triggers/secret-source.js';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();

/** A secret source holding one Secret `forge` in `default` with `data`, and no environment. */
function secrets(data: Record<string, string>) {
  return localSecretSource(
    () => ({
      triggers: [],
      secrets: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'forge', namespace: 'default' },
          stringData: data,
        },
      ],
    }),
    {},
  );
}

describe('readForgeCredentials', () => {
  it('reads a token, trimmed', async () => {
    assert.deepEqual(await readForgeCredentials(secrets({ token: ' ghp_abc\n' }), 'default', 'forge'), {
      token: 'ghp_abc',
    });
  });

  it('prefers the token when the Secret has both', async () => {
    const read = await readForgeCredentials(
      secrets({ token: 't', appId: '1', privateKey: pem }),
      'default',
      'forge',
    );
    assert.deepEqual(read, { token: 't' });
  });

  it('reads a GitHub App, with or without its installation', async () => {
    assert.deepEqual(
      await readForgeCredentials(secrets({ appId: '123', privateKey: pem }), 'default', 'forge'),
      {
        appId: 123,
        privateKey: pem.trim(),
      },
    );
    assert.deepEqual(
      await readForgeCredentials(
        secrets({ appId: '123', privateKey: pem, installationId: '456' }),
        'default',
        'forge',
      ),
      { appId: 123, privateKey: pem.trim(), installationId: 456 },
    );
  });

  it('takes a key whose newlines arrived as \\n', async () => {
    const escaped = pem.trim().replaceAll('\n', '\\n');
    const read = await readForgeCredentials(secrets({ appId: '1', privateKey: escaped }), 'default', 'forge');
    assert.equal('privateKey' in read && read.privateKey, pem.trim());
  });

  for (const [what, data, type, message] of [
    [
      'nothing',
      {},
      CredentialsNotFoundError,
      /^Secret default\/forge has no key token \(a forge token\), nor appId and privateKey/,
    ],
    [
      'a key without an app id',
      { privateKey: pem },
      CredentialsNotFoundError,
      /^Secret default\/forge has privateKey but no key appId/,
    ],
    [
      'an app id without a key',
      { appId: '1' },
      CredentialsNotFoundError,
      /^Secret default\/forge has appId but no key privateKey/,
    ],
    [
      'an app id that is not a number',
      { appId: 'my-app', privateKey: pem },
      ForgeRefusedError,
      /^Secret default\/forge key appId must be a positive integer/,
    ],
    [
      'an installation id that is not a number',
      { appId: '1', privateKey: pem, installationId: '-3' },
      ForgeRefusedError,
      /^Secret default\/forge key installationId must be a positive integer/,
    ],
    [
      'a private key that is not one',
      { appId: '1', privateKey: 'SECRET-VALUE-NOT-A-KEY' },
      ForgeRefusedError,
      /^Secret default\/forge key privateKey is not a PEM private key/,
    ],
  ] as const) {
    it(`refuses ${what}, naming the Secret and the key`, async () => {
      await assert.rejects(readForgeCredentials(secrets(data), 'default', 'forge'), (error: Error) => {
        assert.ok(error instanceof type, String(error));
        assert.match(error.message, message);
        assert.ok(!error.message.includes('SECRET-VALUE') && !error.message.includes('PRIVATE KEY'));
        return true;
      });
    });
  }

  it('says the Secret is missing when it is', async () => {
    await assert.rejects(readForgeCredentials(secrets({}), 'default', 'other'), {
      name: 'CredentialsNotFoundError',
      message: /^Secret default\/other has no key token/,
    });
  });
});

describe('describeCredentials', () => {
  it('names the kind and the source', () => {
    assert.equal(describeCredentials({ token: 't' }, 'Secret a/b'), 'the token of Secret a/b');
    assert.equal(
      describeCredentials({ appId: 1, privateKey: 'k' }, 'Secret a/b'),
      'the GitHub App of Secret a/b',
    );
  });
});
