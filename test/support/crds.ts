/**
 * Installs Shepherd's CRDs (charts/shepherd/files/crds) into the test cluster, as the Helm chart
 * would. Test files running side by side may all install them: an existing CRD is left as is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { eventually, statusOf } from './kube.js';

const CRD_DIR = fileURLToPath(new URL('../../charts/shepherd/files/crds/', import.meta.url));

function established(crd: k8s.V1CustomResourceDefinition): boolean {
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
}

/** Creates every CRD that does not exist yet and waits until all are Established. */
export async function installCrds(kc: k8s.KubeConfig): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const files = readdirSync(CRD_DIR).filter((file) => file.endsWith('.yaml'));
  for (const file of files) {
    // loadYaml, not a plain YAML parse: the typed client serializes by its own field names and
    // silently drops wire names it does not map (x-kubernetes-validations), so the CEL rules
    // would vanish on the way to the API server.
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(CRD_DIR, file), 'utf8'));
    try {
      await api.createCustomResourceDefinition({ body });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const name = body.metadata?.name ?? file;
    await eventually(
      `CRD ${name} to be Established`,
      () => api.readCustomResourceDefinition({ name }),
      established,
    );
  }
}
