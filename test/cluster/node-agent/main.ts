// The kruntimes node agent: a process "kubelet" for the local cluster. Registers the Node and
// keeps its Lease, runs the pods bound to it as local processes, serves logs and port-forward.
// Started by `npm run cluster -- up`; state under $KRT_CLUSTER_DIR.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterPaths, Network } from '../config.ts';
import { errorText, log } from './agent-log.ts';
import { prepareBundles } from './bundles.ts';
import { EventRecorder } from './events.ts';
import { cleanupAllPods } from './host-cleanup.ts';
import { IpAllocator } from './ip-allocator.ts';
import { startKubeletServer } from './kubelet-server.ts';
import { ensureBridge } from './network.ts';
import { NODE_CAPACITY, NodeRegistration } from './node-registration.ts';
import { PodManager } from './pod-manager.ts';

async function main(): Promise<void> {
  const paths = clusterPaths();
  log('agent.starting', { pid: process.pid, state: paths.state });
  const kc = new KubeConfig();
  kc.loadFromFile(paths.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);

  // Processes and namespaces of a previous agent run: its pods start afresh.
  await cleanupAllPods(paths.pods);
  await ensureBridge();
  // Our images run their bundles, as the Dockerfiles do: made now, while the node registers.
  prepareBundles(log);

  const pods = new PodManager(kc, core, {
    core,
    events: new EventRecorder(core),
    allocator: new IpAllocator(Network.podCidr, [Network.gateway]),
    podsRoot: paths.pods,
    allocatable: {
      cpu: NODE_CAPACITY.cpu,
      memory: NODE_CAPACITY.memory,
      'ephemeral-storage': NODE_CAPACITY['ephemeral-storage'],
    },
  });
  const server = await startKubeletServer(paths, pods);
  const node = new NodeRegistration(core, coordination);
  for (let attempt = 1; ; attempt++) {
    try {
      await node.register();
      break;
    } catch (err) {
      log('node.register.error', { attempt, error: errorText(err) });
      await sleep(Math.min(500 * attempt, 5000));
    }
  }
  await pods.start();
  log('agent.ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('agent.stopping', { signal });
    node.stop();
    server.close();
    await pods.shutdown();
    log('agent.stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  log('agent.fatal', { error: errorText(err), stack: (err as Error).stack });
  process.exit(1);
});
