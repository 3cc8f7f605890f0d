// runtimed's configuration comes from its container environment (set by the Runtime controller).
import path from 'node:path';
import { RUNTIME_SERVER_PORT, RUNTIMED_HTTP_PORT, WORKSPACE_MOUNT } from '../lib/api.ts';
import { RUNTIMED_STATE_ENV } from '../lib/pod-security.ts';

export interface RuntimedConfig {
  namespace: string;
  podName: string;
  podUID: string;
  runtimeName: string;
  serverAddress: string;
  workspaceRoot: string;
  /** runtimed's own directory (Run logs, artifact staging), out of the workload's reach. */
  stateDir: string;
  httpPort: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimedConfig {
  const missing = ['POD_NAME', 'POD_NAMESPACE', 'POD_UID'].filter((k) => !env[k]);
  if (missing.length) throw new Error(`runtimed needs ${missing.join(', ')} (set through the downward API)`);
  const workspaceRoot = env.KRUNTIME_WORKSPACE ?? WORKSPACE_MOUNT;
  return {
    namespace: env.POD_NAMESPACE!,
    podName: env.POD_NAME!,
    podUID: env.POD_UID!,
    runtimeName: env.RUNTIME_NAME ?? '',
    serverAddress: env.KRUNTIME_SERVER_ADDR ?? `127.0.0.1:${RUNTIME_SERVER_PORT}`,
    workspaceRoot,
    stateDir: env[RUNTIMED_STATE_ENV] ?? path.join(workspaceRoot, '.krt-runtimed'),
    httpPort: Number(env.KRUNTIMED_HTTP_PORT ?? RUNTIMED_HTTP_PORT),
  };
}
