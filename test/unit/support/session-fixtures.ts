/**
 * Sessions for the unit tests: a realistic AgentSession as read from the API server and its
 * resolved form, each overridable per test so a test states only what its story is about.
 */
import type { AgentSession } from '../../../src/resources/types.js';
import type { ResolvedSession } from '../../../src/session/resolved-session.js';

/** The prompt every fixture uses; tests look for it where it must not appear. */
export const PROMPT = 'Fix the flaky checkout test and explain the root cause.';

/** A resolved claude session with one private repository and a provider with a token. */
export function resolvedSession(overrides: Partial<ResolvedSession> = {}): ResolvedSession {
  return {
    namespace: 'team-a',
    name: 'fix-flaky-test',
    uid: '6f1c2a34-0000-4000-8000-000000000001',
    generation: 1,
    agent: 'claude',
    initialPrompt: PROMPT,
    repos: [
      {
        url: 'https://git.example.com/team-a/shop.git',
        branch: 'main',
        outputBranch: 'shepherd/fix-flaky-test',
        credentialsSecretRef: { name: 'git-credentials', key: 'token' },
        autoPush: true,
        dir: 'shop',
      },
    ],
    provider: {
      name: 'anthropic',
      authTokenSecretRef: { name: 'anthropic-key', key: 'api-key' },
      environment: { ANTHROPIC_BASE_URL: 'https://llm-gateway.internal' },
    },
    model: 'claude-sonnet-4-5',
    timeoutMs: 30 * 60 * 1000,
    retries: 1,
    workspace: { size: '10Gi', storageClass: 'fast', retain: false },
    image: 'registry.example.com/shepherd/runner:1.0.0',
    env: [{ name: 'LOG_LEVEL', value: 'debug' }],
    resources: { limits: { memory: '4Gi', cpu: 2 }, requests: { memory: '1Gi', cpu: '500m' } },
    nodeSelector: { pool: 'agents' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }],
    podMetadata: {
      labels: { team: 'a' },
      annotations: { 'kwok.x-k8s.io/exit-code': '0' },
    },
    ...overrides,
  };
}

/** An AgentSession as the API server returns it, with defaults already applied by the CRD. */
export function agentSession(
  spec: Partial<AgentSession['spec']> = {},
  name = 'fix-flaky-test',
): AgentSession {
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name, namespace: 'team-a', uid: '6f1c2a34-0000-4000-8000-000000000001', generation: 3 },
    spec: {
      agent: 'claude',
      initialPrompt: PROMPT,
      repos: [{ url: 'https://git.example.com/team-a/shop.git', branch: 'main', autoPush: true }],
      retries: 0,
      desiredState: 'Running',
      ...spec,
    },
  };
}
