/**
 * Resolving a session: what a user gets when they leave fields out, and the precise failure when
 * the namespace's defaults or the provider make the session impossible.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentConfig, AgentProvider } from '../../src/resources/types.js';
import { InvalidSpecError, ProviderNotReadyError } from '../../src/session/errors.js';
import {
  BUILT_IN_DEFAULTS,
  providerEnvironment,
  providerNameFor,
  resolveSession,
} from '../../src/session/resolve-session.js';
import { agentSession } from './support/session-fixtures.js';

function config(spec: AgentConfig['spec']): AgentConfig {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentConfig',
    metadata: { name: 'default', namespace: 'team-a' },
    spec,
  };
}

function provider(name: string, ready: boolean, spec: Partial<AgentProvider['spec']> = {}): AgentProvider {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentProvider',
    metadata: { name, namespace: 'team-a' },
    spec: { authTokenSecretRef: { name: `${name}-key`, key: 'token' }, ...spec },
    status: {
      ready,
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'SecretFound' : 'SecretNotFound',
          message: ready ? '' : `Secret ${name}-key not found`,
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    },
  };
}

describe('providerEnvironment', () => {
  const values = { ANTHROPIC_BASE_URL: 'https://gw' };

  it('reads the values from the AgentProvider as it is now, or from an inline provider in the spec', () => {
    const named = { name: 'anthropic', environmentNames: ['OLD_NAME'] };
    const now = provider('anthropic', true, { environment: values });
    assert.deepEqual(providerEnvironment('team-a', named, { provider: now }), values);
    assert.deepEqual(
      providerEnvironment(
        'team-a',
        { environmentNames: [] },
        { spec: agentSession({ provider: { environment: values } }).spec },
      ),
      values,
    );
    assert.deepEqual(
      providerEnvironment('team-a', { environmentNames: [] }, { spec: agentSession().spec }),
      {},
    );
  });

  it('fails with ProviderNotReady when the provider was deleted since, and refuses a reserved name added since', () => {
    assert.throws(
      () => providerEnvironment('team-a', { name: 'anthropic' }, {}),
      (error: unknown) =>
        error instanceof ProviderNotReadyError &&
        /AgentProvider anthropic no longer exists in namespace team-a/.test(error.message),
    );
    assert.throws(
      () =>
        providerEnvironment(
          'team-a',
          { name: 'anthropic' },
          {
            provider: provider('anthropic', true, { environment: { SHEPHERD_ATTEMPT: '9' } }),
          },
        ),
      (error: unknown) =>
        error instanceof InvalidSpecError && /AgentProvider anthropic spec.environment/.test(error.message),
    );
  });
});

describe('resolveSession', () => {
  it('a minimal session gets the built-in defaults', () => {
    const resolved = resolveSession(agentSession());
    assert.equal(resolved.agent, 'claude');
    assert.equal(resolved.timeoutMs, BUILT_IN_DEFAULTS.timeoutMs);
    assert.deepEqual(resolved.workspace, { size: '10Gi', retain: false });
    assert.equal(resolved.image, BUILT_IN_DEFAULTS.image);
    assert.equal(resolved.generation, 3);
    assert.deepEqual(resolved.repos, [
      {
        url: 'https://git.example.com/team-a/shop.git',
        branch: 'main',
        outputBranch: 'shepherd/fix-flaky-test',
        autoPush: true,
        dir: 'shop',
      },
    ]);
    assert.deepEqual(resolved.provider, { environmentNames: [] });
  });

  it('the namespace AgentConfig fills what the session leaves out, and the session wins where it speaks', () => {
    const resolved = resolveSession(
      agentSession({ timeout: '20m', env: [{ name: 'A', value: 'session' }], workspace: { size: '2Gi' } }),
      {
        config: config({
          defaultImage: 'registry.internal/runner:2',
          imagePullSecrets: [{ name: 'registry-internal' }],
          defaultTimeout: '2h',
          storageClass: 'standard',
          storageSize: '50Gi',
          env: [
            { name: 'A', value: 'config' },
            { name: 'B', value: 'config' },
          ],
        }),
      },
    );
    assert.equal(resolved.timeoutMs, 20 * 60 * 1000);
    assert.equal(resolved.image, 'registry.internal/runner:2');
    assert.deepEqual(resolved.imagePullSecrets, ['registry-internal']);
    assert.deepEqual(resolved.workspace, { size: '2Gi', storageClass: 'standard', retain: false });
    assert.deepEqual(resolved.env, [
      { name: 'A', value: 'session' },
      { name: 'B', value: 'config' },
    ]);
  });

  it('two repositories with the same name get distinct directories', () => {
    const resolved = resolveSession(
      agentSession({
        repos: [
          { url: 'https://github.com/a/app.git' },
          { url: 'git@github.com:b/app.git' },
          { url: '/srv/git/.hidden' },
        ],
      }),
    );
    assert.deepEqual(
      resolved.repos.map((repo) => repo.dir),
      ['app', 'app-2', 'hidden'],
    );
  });

  it('uses the AgentConfig default provider for the agent, and keeps only its environment names', () => {
    const session = agentSession();
    const cfg = config({ defaultProviders: { claude: 'anthropic' } });
    assert.equal(providerNameFor(session.spec, cfg), 'anthropic');
    const resolved = resolveSession(session, {
      config: cfg,
      provider: provider('anthropic', true, { environment: { ANTHROPIC_BASE_URL: 'https://gw' } }),
    });
    assert.deepEqual(resolved.provider, {
      name: 'anthropic',
      authTokenSecretRef: { name: 'anthropic-key', key: 'token' },
      environmentNames: ['ANTHROPIC_BASE_URL'],
    });
  });

  it('carries no provider environment value, named or inline, so none reaches a Temporal payload', () => {
    const values = { ANTHROPIC_BASE_URL: 'https://gateway.internal/v1', GATEWAY_HEADER: 'x-team-a-7f3e' };
    const named = resolveSession(agentSession(), {
      config: config({ defaultProviders: { claude: 'anthropic' } }),
      provider: provider('anthropic', true, { environment: values }),
    });
    const inline = resolveSession(agentSession({ provider: { environment: values } }));
    for (const [story, resolved] of [
      ['named', named],
      ['inline', inline],
    ] as const) {
      const payload = JSON.stringify(resolved);
      for (const value of Object.values(values)) {
        assert.equal(payload.includes(value), false, `${story}: ${value} is in the resolved session`);
      }
      assert.deepEqual(resolved.provider.environmentNames, ['ANTHROPIC_BASE_URL', 'GATEWAY_HEADER'], story);
    }
  });

  it('a missing provider fails with ProviderNotReady naming it and where it came from', () => {
    assert.throws(
      () => resolveSession(agentSession({ providerRef: { name: 'openai' } })),
      (error: unknown) =>
        error instanceof ProviderNotReadyError &&
        /AgentProvider openai \(from spec\.providerRef\) does not exist/.test(error.message),
    );
  });

  it('a provider that is not ready fails with its own explanation', () => {
    assert.throws(
      () =>
        resolveSession(agentSession({ providerRef: { name: 'anthropic' } }), {
          provider: provider('anthropic', false),
        }),
      /is not ready: Secret anthropic-key not found/,
    );
  });

  it('a provider for other agents is refused', () => {
    assert.throws(
      () =>
        resolveSession(agentSession({ providerRef: { name: 'oc' } }), {
          provider: provider('oc', true, { agentTypes: ['opencode'] }),
        }),
      ProviderNotReadyError,
    );
  });

  it('a namespace defaulting to the command agent still needs a command', () => {
    assert.throws(
      () =>
        resolveSession(agentSession({ agent: undefined }), { config: config({ defaultAgent: 'command' }) }),
      (error: unknown) => error instanceof InvalidSpecError && error.field === 'spec.command',
    );
  });

  it('a bad default timeout names the AgentConfig field', () => {
    assert.throws(
      () => resolveSession(agentSession(), { config: config({ defaultTimeout: '1d' }) }),
      /AgentConfig spec\.defaultTimeout "1d" is not a duration/,
    );
  });

  it('a base branch equal to the default output branch is refused', () => {
    assert.throws(
      () =>
        resolveSession(
          agentSession({ repos: [{ url: 'https://g/x.git', branch: 'shepherd/fix-flaky-test' }] }),
        ),
      /spec\.repos\[0\]\.outputBranch defaults to shepherd\/fix-flaky-test/,
    );
  });

  it('podMetadata labels under shepherd.dev/ are dropped', () => {
    const resolved = resolveSession(
      agentSession({ podMetadata: { labels: { team: 'a', 'shepherd.dev/attempt': '9' } } }),
    );
    assert.deepEqual(resolved.podMetadata, { labels: { team: 'a' }, annotations: {} });
  });
});
