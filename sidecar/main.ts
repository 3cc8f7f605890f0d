// runtimed entry point: the sidecar injected into every Runtime Pod.
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { clusterAccessFromEnvironment } from '../lib/cluster-access.ts';
import { KubeClient } from '../lib/kube-client.ts';
import { errorMessage, logger } from '../lib/log.ts';
import { RuntimeServerClient } from '../lib/runtime-client.ts';
import { openStore, storeEnvironment } from '../lib/artifact-store/open-store.ts';
import { artifactRoutes } from './artifacts/artifact-server.ts';
import { RunArtifacts } from './artifacts/run-artifacts.ts';
import { configFromEnv } from './config.ts';
import { Heartbeat } from './heartbeat.ts';
import { runtimedHttpHandler } from './http-server.ts';
import { logRoutes } from './log-server.ts';
import { LOG_DIR_NAME, LogStore } from './log-store.ts';
import { runtimedRegistry } from './metrics.ts';
import { Runtimed } from './runtimed.ts';

// Group-writable, never world-readable: what runtimed creates on the workspace (sources, the
// outputs file, the artifacts dir) is the workload's to write through the pod's fsGroup, and what
// it keeps for itself lives in 0700 directories (lib/pod-security.ts).
process.umask(0o007);
const config = configFromEnv();
await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
const client = await KubeClient.create(await clusterAccessFromEnvironment(), { userAgent: 'runtimed' });
const server = new RuntimeServerClient({ address: config.serverAddress });
// On runtimed's own volume, so Run logs outlive a runtimed restart (not the pod) and the workload
// never reads another Run's log.
const logStore = await LogStore.open({ dir: path.join(config.stateDir, LOG_DIR_NAME) });
// The Runtime's artifact store (PVC mount, S3 config and credentials) reaches runtimed only.
const storeEnv = storeEnvironment();
const artifacts = new RunArtifacts({
  client,
  store: storeEnv.configured && openStore(storeEnv.configured, storeEnv),
  storeSpec: storeEnv.configured,
  log: logger.child({ component: 'artifacts' }),
  stagingDir: path.join(config.stateDir, 'staging'),
});
const serveArtifacts = artifactRoutes({ client, namespace: config.namespace, env: storeEnv });
const runtimed = new Runtimed({
  client,
  server,
  ...config,
  logStore,
  artifacts,
  // The heartbeat is created below; Runs (and so this call) only arrive once both exist.
  onServerUnavailable: () => void heartbeat.beat(),
});
const serveLogs = logRoutes({ store: logStore, podName: config.podName });
let terminating = false;

const heartbeat = new Heartbeat({
  client,
  server,
  namespace: config.namespace,
  podName: config.podName,
  canTakeWork: () =>
    terminating
      ? { ok: false, reason: 'PodTerminating', message: 'the pod is terminating' }
      : runtimed.synced
        ? { ok: true, reason: 'RuntimedReady', message: '' }
        : { ok: false, reason: 'Starting', message: 'runtimed is starting' },
});

http
  .createServer(
    runtimedHttpHandler({
      routes: [serveLogs, serveArtifacts],
      ready: () => runtimed.synced && heartbeat.healthy && !terminating,
      metrics: async () => ({ contentType: runtimedRegistry.contentType, text: await runtimedRegistry.metrics() }),
    }),
  )
  .listen(config.httpPort);

await runtimed.start();
heartbeat.start();
logger.info('runtimed started', {
  pod: config.podName,
  namespace: config.namespace,
  server: config.serverAddress,
});

process.on('SIGTERM', async () => {
  // Stop taking work at once (the scheduler sees the heartbeat flip), let running Runs finish.
  terminating = true;
  runtimed.stopAccepting();
  await heartbeat.beat().catch(() => {});
  heartbeat.stop();
  const deadline = Date.now() + 25_000;
  while (runtimed.activeCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await runtimed.stop().catch((err) => logger.warn('stop failed', { error: errorMessage(err) }));
  // The last Runs' output streams end with them; let their logs close properly.
  await logStore.drain(2000);
  process.exit(0);
});
