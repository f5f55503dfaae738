/**
 * The runner pods' egress NetworkPolicy, built without a cluster: which pods it selects, that DNS
 * stays open, that each host the session needs becomes its CIDRs on its port, that the policy's
 * allow rules pass through with their except blocks and ports, and that a host without CIDRs
 * fails the session by name instead of leaving a runner that cannot connect.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import {
  buildSessionNetworkPolicy,
  egressDestinations,
  restrictsEgress,
} from '../../src/runtime/kubernetes/builders/session-network-policy.js';
import { buildSessionJob } from '../../src/runtime/kubernetes/builders/session-job.js';
import { EgressHostUnknownError } from '../../src/runtime/errors.js';
import { provisioningFailureReason } from '../../src/workflows/session-status.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { resolvedSession } from './support/session-fixtures.js';

const HOSTS = {
  'api.anthropic.com': ['160.79.104.0/23'],
  'github.com': ['140.82.112.0/20', '2a0a:a440::/29'],
  'llm-gateway.internal': ['10.20.0.0/16'],
};

/** A claude session on github.com under a policy that restricts egress. */
function restricted(overrides: Partial<ResolvedSession> = {}): ResolvedSession {
  return resolvedSession({
    provider: { name: 'anthropic', environmentNames: [] },
    repos: [
      {
        url: 'https://github.com/team-a/shop.git',
        outputBranch: 'shepherd/fix-flaky-test',
        autoPush: true,
        dir: 'shop',
      },
    ],
    env: [],
    policy: { egress: {} },
    ...overrides,
  });
}

function build(session: ResolvedSession, providerEnvironment: Record<string, string> = {}): V1NetworkPolicy {
  const policy = buildSessionNetworkPolicy(session, { hosts: HOSTS, providerEnvironment });
  assert.ok(policy, 'a restricted session gets a policy');
  return policy;
}

describe('the egress NetworkPolicy', () => {
  it('is made only when the policy restricts egress (restrict unset means true)', () => {
    assert.equal(restrictsEgress(resolvedSession()), false, 'no policy');
    assert.equal(restrictsEgress(resolvedSession({ policy: { tools: { denied: ['Bash'] } } })), false);
    assert.equal(restrictsEgress(restricted({ policy: { egress: { restrict: false } } })), false);
    assert.equal(restrictsEgress(restricted({ policy: { egress: { restrict: true } } })), true);
    assert.equal(restrictsEgress(restricted()), true);
    assert.equal(
      buildSessionNetworkPolicy(resolvedSession(), { hosts: {}, providerEnvironment: {} }),
      undefined,
    );
  });

  it("is named after the session, owned by it, and selects every attempt's runner pod and nothing else", () => {
    const session = restricted();
    const policy = build(session);
    assert.equal(policy.kind, 'NetworkPolicy');
    assert.equal(policy.apiVersion, 'networking.k8s.io/v1');
    assert.equal(policy.metadata?.name, 'fix-flaky-test-egress');
    assert.equal(policy.metadata?.namespace, 'team-a');
    assert.equal(policy.metadata?.labels?.['app.kubernetes.io/component'], 'runner-egress');
    assert.deepEqual(policy.metadata?.ownerReferences?.[0]?.uid, session.uid);
    assert.equal(policy.metadata?.ownerReferences?.[0]?.controller, true);
    assert.deepEqual(policy.spec?.policyTypes, ['Egress']);

    const selector = policy.spec?.podSelector?.matchLabels ?? {};
    for (const attempt of [1, 2]) {
      const podLabels = buildSessionJob(session, attempt).spec?.template.metadata?.labels ?? {};
      for (const [key, value] of Object.entries(selector)) {
        assert.equal(podLabels[key], value, `attempt ${attempt}'s pod carries ${key}`);
      }
    }
    assert.equal(selector['shepherd.dev/attempt'], undefined, 'not one attempt only');
    assert.equal(selector['app.kubernetes.io/component'], 'runner', 'not the session objects of other kinds');
  });

  it('allows DNS over UDP and TCP to any address, on port 53 only', () => {
    const [dns] = build(restricted()).spec?.egress ?? [];
    assert.deepEqual(dns, {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
  });

  it('allows the model endpoint and the forge as their CIDRs on their ports, and nothing besides', () => {
    const rules = build(restricted()).spec?.egress ?? [];
    assert.deepEqual(rules.slice(1), [
      { to: [{ ipBlock: { cidr: '160.79.104.0/23' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      {
        to: [{ ipBlock: { cidr: '140.82.112.0/20' } }, { ipBlock: { cidr: '2a0a:a440::/29' } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
    // Exactly these: the Kubernetes API server, for one, is not reachable unless a policy allows it.
  });

  it('follows a base URL of the provider to its gateway, and an ssh repository to port 22', () => {
    const session = restricted({
      repos: [
        { url: 'git@GitHub.com:team-a/shop.git', outputBranch: 'o', autoPush: true, dir: 'shop' },
        { url: 'https://github.com:8443/team-a/lib.git', outputBranch: 'o', autoPush: true, dir: 'lib' },
        { url: '/srv/git/local.git', outputBranch: 'o', autoPush: true, dir: 'local' },
      ],
    });
    const destinations = egressDestinations(session, {
      ANTHROPIC_BASE_URL: 'https://llm-gateway.internal:8080/v1',
    });
    assert.deepEqual(
      destinations.map(({ host, port }) => `${host}:${port}`),
      ['llm-gateway.internal:8080', 'github.com:22', 'github.com:8443'],
      'the gateway replaces api.anthropic.com; a local path needs nothing',
    );
    const rules = build(session, { ANTHROPIC_BASE_URL: 'https://llm-gateway.internal:8080/v1' }).spec?.egress;
    assert.deepEqual(rules?.slice(1), [
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
      {
        to: [{ ipBlock: { cidr: '140.82.112.0/20' } }, { ipBlock: { cidr: '2a0a:a440::/29' } }],
        ports: [
          { protocol: 'TCP', port: 22 },
          { protocol: 'TCP', port: 8443 },
        ],
      },
    ]);
  });

  it("counts the pull request's forge and a session variable that moves the endpoint", () => {
    const session = restricted({
      env: [{ name: 'ANTHROPIC_BASE_URL', value: 'http://10.1.2.3:4000' }],
      pullRequest: { forge: { type: 'gitea', url: 'https://gitea.example.com' } },
    });
    assert.deepEqual(
      egressDestinations(session, { ANTHROPIC_BASE_URL: 'https://llm-gateway.internal' }).map(
        ({ host, port, purpose }) => [host, port, purpose],
      ),
      [
        ['10.1.2.3', 4000, 'the model endpoint (ANTHROPIC_BASE_URL)'],
        ['github.com', 443, 'repository https://github.com/team-a/shop.git'],
        ['gitea.example.com', 443, 'the pull request forge https://gitea.example.com'],
      ],
      "the session's own variable wins over the provider's, as in the pod",
    );
  });

  it("takes opencode's endpoint from the model's provider, and a command agent's only from a base URL", () => {
    const hosts = (session: ResolvedSession) =>
      egressDestinations(session, {}).map((destination) => destination.host);
    assert.deepEqual(hosts(restricted({ agent: 'opencode', model: 'openai/gpt-5' })), [
      'api.openai.com',
      'github.com',
    ]);
    assert.deepEqual(hosts(restricted({ agent: 'opencode', model: 'scripted/coder-1' })), ['github.com']);
    assert.deepEqual(hosts(restricted({ agent: 'command', command: ['true'] })), ['github.com']);
    assert.deepEqual(
      hosts(restricted({ env: [{ name: 'CLAUDE_CODE_USE_BEDROCK', value: '1' }] })),
      ['github.com'],
      'Bedrock and Vertex endpoints are regional: the policy allows them',
    );
  });

  it("passes the policy's allow rules through with their except blocks and ports (TCP by default)", () => {
    const session = restricted({
      policy: {
        egress: {
          allow: [
            {
              cidr: '10.0.0.0/8',
              except: ['10.96.0.0/12'],
              ports: [{ port: 5432 }, { port: 53, protocol: 'UDP' }],
            },
            { cidr: '192.168.10.0/24' },
          ],
        },
      },
    });
    const rules = build(session).spec?.egress ?? [];
    assert.deepEqual(rules.slice(-2), [
      {
        to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }],
        ports: [
          { protocol: 'TCP', port: 5432 },
          { protocol: 'UDP', port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: '192.168.10.0/24' } }] },
    ]);
  });

  it('fails the session naming each host without CIDRs and the setting to add it to', () => {
    const session = restricted({
      repos: [
        { url: 'https://git.example.com/a/b.git', outputBranch: 'o', autoPush: true, dir: 'b' },
        { url: 'https://git.example.com/a/c.git', outputBranch: 'o', autoPush: true, dir: 'c' },
      ],
    });
    assert.throws(
      () =>
        buildSessionNetworkPolicy(session, {
          hosts: { 'api.anthropic.com': ['160.79.104.0/23'] },
          providerEnvironment: {},
        }),
      (error: unknown) => {
        assert.ok(error instanceof EgressHostUnknownError);
        assert.equal(error.name, 'EgressHostUnknownError');
        assert.match(
          error.message,
          /has no CIDRs for git\.example\.com \(repository https:\/\/git\.example\.com\/a\/b\.git, repository https:\/\/git\.example\.com\/a\/c\.git\)/,
        );
        assert.match(error.message, /SHEPHERD_EGRESS_HOSTS \(chart value egress\.hosts\)/);
        assert.match(error.message, /"git\.example\.com":\["<cidr>"\]/);
        assert.doesNotMatch(error.message, /api\.anthropic\.com/, 'only the hosts missing');
        return true;
      },
    );
    assert.equal(provisioningFailureReason('EgressHostUnknownError'), 'EgressHostUnknown');
  });

  it('needs no entry for a host written as an IP address', () => {
    const session = restricted({
      repos: [{ url: 'http://192.0.2.7:3000/a/b.git', outputBranch: 'o', autoPush: true, dir: 'b' }],
    });
    const rules = build(session).spec?.egress ?? [];
    assert.deepEqual(rules[2], {
      to: [{ ipBlock: { cidr: '192.0.2.7/32' } }],
      ports: [{ protocol: 'TCP', port: 3000 }],
    });
  });
});
