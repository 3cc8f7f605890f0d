// Operator entry point. One codebase, two Deployments: `scheduler` and `controller`
// (`all` runs both in one process, handy for development). Each role elects a leader.
// A role's modules are imported only by a process that runs that role (dynamic imports, which the
// image's bundle keeps as chunks of their own): a scheduler neither parses nor holds the code of
// the Runtime and Workflow controllers, the reaper or the maintainer, nor they the scheduler's
// (docs/performance.md, "Memory: the images run bundles").
import http from 'node:http';
import { SharedCache } from '../lib/controller/shared-cache.ts';
import { clusterAccessFromEnvironment } from '../lib/cluster-access.ts';
import { KubeClient } from '../lib/kube-client.ts';
import { LeaderElector } from '../lib/leader-election.ts';
import { errorMessage, logger } from '../lib/log.ts';
import { MAINTAINER_POD_ENV, parsePodSettings, type PodSettings } from '../lib/pod-security.ts';
import { operatorRegistry } from './metrics.ts';
import { VERSION as PLATFORM_VERSION } from './version.ts';

const Role = { Scheduler: 'scheduler', Controller: 'controller', All: 'all', Maintainer: 'maintainer' } as const;
type Role = (typeof Role)[keyof typeof Role];

const role = (process.argv[2] ?? Role.All) as Role;
if (!Object.values(Role).includes(role)) {
  console.error(`usage: operator [scheduler|controller|all|maintainer] (got ${role})`);
  process.exit(2);
}
const namespace = process.env.POD_NAMESPACE ?? 'kruntimes-system';
const client = await KubeClient.create(await clusterAccessFromEnvironment(), { connections: 16, userAgent: `kruntimes-${role}` });
// The runtime maintainer (one per Runtime with an artifact store) runs on its own; it never returns.
if (role === Role.Maintainer) await (await import('./runtime-maintainer/main.ts')).runMaintainer(client);
const runtimedImage = process.env.KRUNTIMES_RUNTIMED_IMAGE ?? `kruntimes-runtimed:${PLATFORM_VERSION}`;
const maintainerImage = process.env.KRUNTIMES_OPERATOR_IMAGE ?? `kruntimes-operator:${PLATFORM_VERSION}`;
// The chart's `maintainer` values (placement, resources, securityContexts of the maintainer pods).
let maintainerPod: PodSettings;
try {
  maintainerPod = parsePodSettings(process.env[MAINTAINER_POD_ENV], MAINTAINER_POD_ENV);
} catch (err) {
  console.error(errorMessage(err));
  process.exit(2);
}
// Leader election timing from the chart's leaderElection values (the elector's defaults otherwise).
const leaseDurationSeconds = Number(process.env.KRT_LEASE_DURATION_SECONDS) || undefined;
const renewSeconds = Number(process.env.KRT_LEASE_RENEW_SECONDS) || undefined;

interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
}
const components: Array<{ name: string; make: () => Component }> = [];
// One informer cache per process, shared by the controllers on the frame (lib/controller).
const cache = new SharedCache(client);
const instance = process.env.HOSTNAME ?? `kruntimes-${role}`;
if (role !== Role.Controller) {
  const { Scheduler } = await import('./scheduler/scheduler.ts');
  components.push({ name: 'kruntimes-scheduler', make: () => new Scheduler({ client, cache, registry: operatorRegistry }) });
}
if (role !== Role.Scheduler) {
  const [{ RuntimeController }, { WorkflowController }, { Reaper }] = await Promise.all([
    import('./runtime-controller/controller.ts'),
    import('./workflow-controller/controller.ts'),
    import('./reaper/reaper.ts'),
  ]);
  components.push({
    name: 'kruntimes-controller',
    make: () =>
      new RuntimeController({
        client,
        cache,
        registry: operatorRegistry,
        config: { runtimedImage, platformNamespace: namespace, maintainerImage, maintainerPod },
        instance,
      }),
  });
  components.push({
    name: 'kruntimes-workflow-controller',
    make: () => new WorkflowController({ client, cache, registry: operatorRegistry, instance }),
  });
  // The stale Run reaper and Run TTL: one leader at a time, beside the Runtime controller.
  components.push({ name: 'kruntimes-reaper', make: () => new Reaper({ client, cache, instance }) });
}

let leading = 0;
const electors = components.map(({ name, make }) => {
  let running: Component | undefined;
  return new LeaderElector({
    client,
    namespace,
    name,
    // Spread so that an unset variable keeps the elector's default rather than overriding it with undefined.
    ...(leaseDurationSeconds ? { leaseDurationSeconds } : {}),
    ...(renewSeconds ? { renewMs: renewSeconds * 1000 } : {}),
    onStartedLeading: async () => {
      running = make();
      await running.start();
      leading++;
    },
    // Losing the lease means another replica may act: stop at once, as client-go does.
    onStoppedLeading: () => {
      logger.error('lost leadership; exiting', { lease: name });
      process.exit(1);
    },
  });
});
for (const e of electors) e.start();

http
  .createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/readyz') res.writeHead(200).end('ok');
    else if (req.url === '/leader') res.writeHead(200).end(String(leading));
    else if (req.url === '/metrics')
      operatorRegistry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': operatorRegistry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(errorMessage(err)),
      );
    else res.writeHead(404).end();
  })
  .listen(Number(process.env.HEALTH_PORT ?? 8081));

logger.info('operator started', { role, namespace, version: PLATFORM_VERSION });
const shutdown = async () => {
  await Promise.all(electors.map((e) => e.stop())).catch((err) =>
    logger.warn('stop', { error: errorMessage(err) }),
  );
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
