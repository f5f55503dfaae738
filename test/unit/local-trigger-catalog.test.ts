/**
 * The local trigger catalog on a real triggers file: triggers and their webhook secrets (from the
 * file's Secrets, or the environment), a bad template or a missing Secret reported as the
 * trigger's problem naming the field, and an edit of the file taken in without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalTriggerCatalog } from '../../src/triggers/local-trigger-catalog.js';

const dir = mkdtempSync(join(tmpdir(), 'shepherd-triggers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const trigger = (
  name: string,
  source: string,
  extra = '',
  template = 'agent: command\n    command: [sh, -c, "true"]',
) => `
apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata:
  name: ${name}
spec:
  source: ${source}
  match:
    label: shepherd
  forge:
    url: http://127.0.0.1:3000
    credentialsSecretRef:
      name: forge
  webhookSecretRef:
    name: ${name}-webhook
  sessionTemplate:
    ${template}
${extra}`;

const secret = (name: string, value: string) => `
apiVersion: v1
kind: Secret
metadata:
  name: ${name}
stringData:
  secret: ${value}
`;

async function until(what: string, holds: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (holds()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('triggers come with their secrets; a bad template and a missing Secret are problems naming the fix', async () => {
  const file = join(dir, 'triggers.yaml');
  writeFileSync(
    file,
    [
      trigger('good', 'gitea'),
      secret('good-webhook', 'hunter2'),
      trigger('bad-template', 'gitea', '', 'agent: command\n    command: ["true"]\n    retries: -1'),
      secret('bad-template-webhook', 'x'),
      trigger('bad-rule', 'gitea', '', 'agent: command'),
      secret('bad-rule-webhook', 'x'),
      trigger('no-secret', 'github'),
      trigger('from-env', 'slack'),
    ].join('\n---\n'),
  );
  const catalog = startLocalTriggerCatalog({
    file,
    logger: silent,
    env: { secret: 'from-the-environment' },
    refreshMs: 50,
  });
  try {
    await catalog.ready();
    const gitea = catalog.bySource('gitea');
    assert.deepEqual(
      gitea.map((e) => e.trigger.metadata.name),
      ['bad-rule', 'bad-template', 'good'],
    );
    const good = catalog.get('default', 'good');
    assert.equal(good?.webhookSecret, 'hunter2');
    assert.equal(good?.problem, undefined);
    const bad = catalog.get('default', 'bad-template');
    assert.match(bad?.problem ?? '', /^spec\.sessionTemplate\.retries must be >= 0/);
    // The CRD's CEL rules hold for templates too, with the CRD's own message.
    assert.match(
      catalog.get('default', 'bad-rule')?.problem ?? '',
      /spec\.command is required when spec\.agent is command/,
    );
    // The Secret is absent from the file, so the environment's `secret` is used, as the local
    // runtime does for every secret key.
    assert.equal(catalog.get('default', 'from-env')?.webhookSecret, 'from-the-environment');
  } finally {
    await catalog.stop();
  }

  const strict = startLocalTriggerCatalog({ file, logger: silent, env: {}, refreshMs: 50 });
  try {
    await strict.ready();
    const missing = strict.get('default', 'no-secret');
    assert.equal(missing?.webhookSecret, undefined);
    assert.match(
      missing?.problem ?? '',
      /Secret no-secret-webhook in namespace default has no key secret; create it/,
    );
  } finally {
    await strict.stop();
  }
});

test('an edit of the file is taken in, with a change notice; a broken edit keeps the last good triggers', async () => {
  const file = join(dir, 'edited.yaml');
  writeFileSync(file, [trigger('one', 'gitea'), secret('one-webhook', 'first')].join('\n---\n'));
  const catalog = startLocalTriggerCatalog({ file, logger: silent, env: {}, refreshMs: 20 });
  let changes = 0;
  catalog.onChange(() => (changes += 1));
  try {
    await catalog.ready();
    assert.equal(catalog.get('default', 'one')?.webhookSecret, 'first');
    // A different size is a change even within the file system's timestamp resolution.
    writeFileSync(file, [trigger('one', 'gitea'), secret('one-webhook', 'second-secret')].join('\n---\n'));
    await until('the new secret', () => catalog.get('default', 'one')?.webhookSecret === 'second-secret');
    assert.ok(changes >= 1);
    writeFileSync(file, 'kind: [not yaml');
    await sleep(100);
    assert.equal(catalog.get('default', 'one')?.webhookSecret, 'second-secret');
  } finally {
    await catalog.stop();
  }
});

test('without a triggers file there are no triggers', async () => {
  const catalog = startLocalTriggerCatalog({ file: undefined, logger: silent });
  await catalog.ready();
  assert.deepEqual(catalog.bySource('github'), []);
  await catalog.stop();
});
