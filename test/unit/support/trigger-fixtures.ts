/**
 * AgentTriggers for the tests: one valid trigger per source, with the match rules a test states.
 */
import type { AgentTrigger, TriggerMatch, TriggerSource } from '../../../src/resources/types.js';

/** A valid trigger of `source` in namespace `team-a`, matching by `match`. */
export function agentTrigger(
  source: TriggerSource,
  match: TriggerMatch,
  overrides: { name?: string; namespace?: string; spec?: Partial<AgentTrigger['spec']> } = {},
): AgentTrigger {
  const forge =
    source === 'github'
      ? { forge: { credentialsSecretRef: { name: 'forge-token' } } }
      : source === 'gitea'
        ? { forge: { url: 'http://127.0.0.1:3000', credentialsSecretRef: { name: 'forge-token' } } }
        : {};
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentTrigger',
    metadata: { name: overrides.name ?? `${source}-trigger`, namespace: overrides.namespace ?? 'team-a' },
    spec: {
      source,
      match,
      sessionTemplate: { agent: 'command', command: ['sh', '-c', 'echo done'] },
      webhookSecretRef: { name: 'webhook', key: 'secret' },
      ...forge,
      ...(source === 'jira'
        ? {
            jira: {
              url: 'https://example.atlassian.net',
              credentialsSecretRef: { name: 'jira' },
              claim: { assignee: 'bot-account' },
            },
          }
        : {}),
      ...(source === 'slack' ? { slack: { botTokenSecretRef: { name: 'slack', key: 'botToken' } } } : {}),
      ...overrides.spec,
    },
  };
}
