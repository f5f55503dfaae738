/**
 * An authenticator for API tests that need a Kubernetes-style caller: every token is alice's,
 * everything is allowed, and each authorization asked for is recorded as `<verb> <namespace>`,
 * so a test can assert which right a route checks.
 */
import type { Authenticator } from '../../../src/api/auth.js';

/** Alice, allowed everything; `decisions` collects what was asked. */
export function recordingAuthenticator(decisions: string[]): Authenticator {
  return {
    authenticate: () => Promise.resolve({ username: 'alice', groups: [], tokenHash: 'h' }),
    authorize(_caller, verb, namespace) {
      decisions.push(`${verb} ${namespace}`);
      return Promise.resolve();
    },
    listableNamespaces: (_caller, namespaces) => Promise.resolve(namespaces),
  };
}
