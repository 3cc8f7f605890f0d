// `operator maintainer`: the runtime maintainer process (one Deployment per Runtime with an
// artifact store, rendered by the Runtime controller). No leader election: the Deployment has one
// replica with the Recreate strategy, and cleanup is idempotent anyway.
import { storeEnvironment } from '../../lib/artifact-store/open-store.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import { logger } from '../../lib/log.ts';
import { RuntimeMaintainer } from './maintainer.ts';

export async function runMaintainer(client: KubeClient, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const missing = ['POD_NAMESPACE', 'RUNTIME_NAME', 'MAINTAINER_DEPLOYMENT'].filter((k) => !env[k]);
  if (missing.length) {
    logger.error(`the runtime maintainer needs ${missing.join(', ')}`);
    process.exit(2);
  }
  const maintainer = new RuntimeMaintainer({
    client,
    namespace: env.POD_NAMESPACE!,
    runtimeName: env.RUNTIME_NAME!,
    deploymentName: env.MAINTAINER_DEPLOYMENT!,
    env: storeEnvironment(env),
  });
  await maintainer.start();
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await maintainer.stop();
  process.exit(0);
}
