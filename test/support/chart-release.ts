/**
 * The chart as the tests install it: `helm` against the test cluster, and kubeconfigs that carry a
 * ServiceAccount's token (what `kubectl create token` gives), so the worker and the API the tests
 * start run with exactly the rights the chart grants them, not as admin. test/run.ts installs one
 * release for the whole run; the chart's own tests install more.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { helmPath, repoRoot } from '../../src/processes/tools.js';

/** The chart in this repository. */
export const CHART_DIR = join(repoRoot, 'charts', 'shepherd');

/** The release test/run.ts installs, and the accounts of its two processes. */
export const TEST_RELEASE = { name: 'shepherd', namespace: 'shepherd-system' } as const;
export const TEST_ACCOUNTS = { worker: 'shepherd-worker', api: 'shepherd-api' } as const;

/** Runs `helm ARGS` against the cluster of `kubeconfigPath`; rejects with helm's own message. */
export async function helm(kubeconfigPath: string, args: string[]): Promise<string> {
  const result = await execa(helmPath(), args, {
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    reject: false,
    timeout: 180_000,
  });
  if (result.exitCode !== 0)
    throw new Error(`helm ${args.join(' ')} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

/**
 * Writes a kubeconfig for ServiceAccount `namespace/name` of the cluster `kc` points at, with a
 * token of `hours` from the TokenRequest API; returns its path.
 */
export async function serviceAccountKubeconfig(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  file: string,
  hours = 24,
): Promise<string> {
  const request = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: hours * 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`no token was issued for ServiceAccount ${namespace}/${name}`);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig names no cluster');
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token }],
    contexts: [{ name, cluster: cluster.name, user: name, namespace }],
    currentContext: name,
  });
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}

/**
 * Installs the run's release (CRDs included) and writes the worker's and the API's kubeconfigs
 * into `dir`; returns the variables that point the tests' processes at them.
 */
export async function installTestRelease(
  kubeconfigPath: string,
  dir: string,
): Promise<Record<string, string>> {
  await helm(kubeconfigPath, [
    'install',
    TEST_RELEASE.name,
    CHART_DIR,
    '--namespace',
    TEST_RELEASE.namespace,
    '--create-namespace',
  ]);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    SHEPHERD_TEST_WORKER_KUBECONFIG: await serviceAccountKubeconfig(
      kc,
      TEST_RELEASE.namespace,
      TEST_ACCOUNTS.worker,
      join(dir, 'worker.kubeconfig'),
    ),
    SHEPHERD_TEST_API_KUBECONFIG: await serviceAccountKubeconfig(
      kc,
      TEST_RELEASE.namespace,
      TEST_ACCOUNTS.api,
      join(dir, 'api.kubeconfig'),
    ),
  };
}
