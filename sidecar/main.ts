// runtimed entry point: the sidecar injected into every Runtime Pod.
import http from 'node:http';
import { KubeClient, loadKubeConfig } from '../lib/kube-client.ts';
import { errorMessage, logger } from '../lib/log.ts';
import { RuntimeServerClient } from '../lib/runtime-client.ts';
import { configFromEnv } from './config.ts';
import { Heartbeat } from './heartbeat.ts';
import { Runtimed } from './runtimed.ts';

const config = configFromEnv();
const client = await KubeClient.create(loadKubeConfig());
const server = new RuntimeServerClient({ address: config.serverAddress });
const runtimed = new Runtimed({ client, server, ...config });
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
  .createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      const ready = runtimed.synced && heartbeat.healthy && !terminating;
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'not ready');
    } else {
      res.writeHead(404).end();
    }
  })
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
  process.exit(0);
});
