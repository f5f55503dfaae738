/**
 * The kubeconfig of a process: the worker and the API talk to the cluster with the same rules.
 */
import { KubeConfig } from '@kubernetes/client-node';

/** The kubeconfig file if one is named (`KUBECONFIG`), else in-cluster, else ~/.kube/config. */
export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (file) kubeConfig.loadFromFile(file);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}
