/** Kubeconfig files for the dev environment's users, all pointing at the loopback API server. */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** Writes a kubeconfig that authenticates with a bearer token; returns its path. */
export function writeTokenKubeconfig(options: {
  path: string;
  server: string;
  caData: string;
  user: string;
  token: string;
  namespace?: string;
}): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'shepherd-dev',
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.caData).toString('base64'),
        },
      },
    ],
    users: [{ name: options.user, user: { token: options.token } }],
    contexts: [
      {
        name: `${options.user}@shepherd-dev`,
        context: {
          cluster: 'shepherd-dev',
          user: options.user,
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    'current-context': `${options.user}@shepherd-dev`,
    preferences: {},
  };
  writeFileSync(options.path, stringify(config), { mode: 0o600 });
  return options.path;
}
