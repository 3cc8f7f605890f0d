// Reading a kubeconfig the way kubectl does, with client-node's KubeConfig (every auth method it
// knows: exec plugins, OIDC, client certificates, tokens). Imported by what reads kubeconfigs (the
// plugin, tests and tools); the operator and runtimed reach it only through
// lib/cluster-access.ts's dynamic import when they run outside a Pod.
import { KubeConfig } from '@kubernetes/client-node';

/** Loads the kubeconfig the way kubectl does: --kubeconfig, $KUBECONFIG, ~/.kube/config, in-cluster. */
export function loadKubeConfig(options: { kubeconfig?: string; context?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  if (!kc.getCurrentCluster())
    throw new Error('no Kubernetes cluster configured: set KUBECONFIG or --kubeconfig');
  return kc;
}
