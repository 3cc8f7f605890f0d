// How a process reaches its apiserver: the server's URL, the TLS settings and the credentials it
// sends. Two sources. A Pod's service account (in-cluster), read here without a library, which is
// how the operator and runtimed run. And a kubeconfig, read by client-node (lib/kubeconfig.ts),
// which the plugin, the tests and a process started by hand use. client-node's KubeConfig is
// imported only when a kubeconfig is used: loading it loads the package's whole generated API,
// ≈ 20 MB of RSS in every process that does (docs/performance.md, "client-node only where a
// kubeconfig is read").
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ClusterAccess {
  /** The apiserver's base URL, without a trailing slash. */
  server: string;
  tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  /** The credential headers, computed again on each call (bound tokens rotate on disk). */
  authHeaders(): Promise<Record<string, string>>;
}

/** Where the kubelet mounts a Pod's service account token and the cluster's CA. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The Pod's own access, as client-go's rest.InClusterConfig reads it: the kubernetes Service's
 * host and port from the environment, the CA and the token from the service account's mount (the
 * token re-read on each call). Undefined outside a Pod.
 */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ClusterAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const caFile = path.join(dir, 'ca.crt');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined },
    async authHeaders() {
      return { authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` };
    },
  };
}

/** The access a loaded kubeconfig's current context gives (client-node computes its credentials). */
export async function kubeConfigAccess(kubeConfig: KubeConfig): Promise<ClusterAccess> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no Kubernetes cluster configured: set KUBECONFIG or --kubeconfig');
  const applied = async () => {
    const opts: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return { headers, opts };
  };
  const { opts } = await applied();
  return {
    server: cluster.server.replace(/\/$/, ''),
    tls: {
      ca: opts.ca as string | undefined,
      cert: opts.cert as string | undefined,
      key: opts.key as string | undefined,
      rejectUnauthorized: cluster.skipTLSVerify ? false : undefined,
      servername: cluster.tlsServerName,
    },
    authHeaders: async () => (await applied()).headers,
  };
}

/**
 * A component's access, in controller-runtime's order (config.GetConfig): $KUBECONFIG when set,
 * else the Pod's service account, else the kubeconfig kubectl would read.
 */
export async function clusterAccessFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ClusterAccess> {
  const inCluster = env.KUBECONFIG ? undefined : inClusterAccess(env);
  if (inCluster) return inCluster;
  const { loadKubeConfig } = await import('./kubeconfig.ts');
  return kubeConfigAccess(loadKubeConfig());
}
