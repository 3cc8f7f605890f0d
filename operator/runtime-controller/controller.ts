// The Runtime controller loop: Runtime and owned-Deployment events enqueue the Runtime; each
// reconcile applies what decideRuntime says, one Runtime at a time per key.
import type { V1Deployment } from '@kubernetes/client-node';
import { Component, Label, MANAGER, type Runtime } from '../../lib/api.ts';
import { createInformer, type Informer } from '../../lib/informer.ts';
import { KeyedQueue } from '../../lib/keyed-queue.ts';
import { isConflict, isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { errorMessage, logger } from '../../lib/log.ts';
import { decideRuntime } from './decide.ts';
import { deploymentName, type RenderConfig } from './render.ts';
import { maintainerName } from './render-maintainer.ts';

const log = logger.child({ component: 'runtime-controller' });
const FIELD_MANAGER = 'kruntimes-runtime-controller';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

export function objectPath(o: Obj): string {
  const ns = o.metadata.namespace;
  const name = o.metadata.name;
  switch (o.kind) {
    case 'ServiceAccount':
      return `/api/v1/namespaces/${ns}/serviceaccounts/${name}`;
    case 'Role':
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${name}`;
    case 'RoleBinding':
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${name}`;
    case 'NetworkPolicy':
      return `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`;
    case 'Deployment':
      return `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
    default:
      throw new Error(`no path for kind ${o.kind}`);
  }
}

export class RuntimeController {
  private readonly client: KubeClient;
  private readonly config: RenderConfig;
  private runtimes!: Informer<Runtime>;
  private deployments!: Informer<V1Deployment>;
  private readonly queue: KeyedQueue;

  constructor(options: { client: KubeClient; config: RenderConfig }) {
    this.client = options.client;
    this.config = options.config;
    this.queue = new KeyedQueue({ handler: (key) => this.reconcile(key), concurrency: 4 });
  }

  async start(): Promise<void> {
    this.runtimes = createInformer<Runtime>({ client: this.client, path: Paths.runtimes() });
    this.deployments = createInformer<V1Deployment>({
      client: this.client,
      path: Paths.deployments(),
      labelSelector: `${Label.ManagedBy}=${MANAGER}`,
    });
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.runtimes.on(ev, (rt) => this.queue.add(`${rt.metadata.namespace}/${rt.metadata.name}`));
      this.deployments.on(ev, (d) => {
        const rt = d.metadata?.labels?.[Label.Runtime];
        if (rt) this.queue.add(`${d.metadata!.namespace}/${rt}`);
      });
    }
    await this.deployments.start();
    await this.runtimes.start();
    log.info('runtime controller started');
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await Promise.all([this.runtimes?.stop(), this.deployments?.stop()]);
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const runtime = this.runtimes.get(name, namespace);
    if (!runtime || runtime.metadata.deletionTimestamp) return; // owner references clean up
    const deployment = this.deployments.get(deploymentName(name), namespace);
    const decision = decideRuntime({ runtime, deployment, config: this.config });
    let maintainerUID: string | undefined;
    for (const obj of decision.apply) {
      const maintainer = obj.metadata.labels?.[Label.Component] === Component.RuntimeMaintainer;
      // The maintainer's RBAC is owned by its Deployment, never by the Runtime (render-maintainer.ts).
      if (maintainer && obj.kind !== 'Deployment' && maintainerUID)
        obj.metadata.ownerReferences = [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: maintainerName(name), uid: maintainerUID },
        ];
      const applied = await this.client.apply<{ metadata: { uid?: string } }>(objectPath(obj), obj, FIELD_MANAGER);
      if (maintainer && obj.kind === 'Deployment') maintainerUID = applied.metadata.uid;
    }
    if (decision.apply.length)
      log.info('applied runtime objects', { runtime: key, count: decision.apply.length });
    if (decision.status) {
      try {
        await this.client.mergePatch(Paths.runtimeStatus(namespace, name), {
          metadata: { resourceVersion: runtime.metadata.resourceVersion },
          status: decision.status,
        });
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err)) throw err; // retried from the fresher cache
        log.warn('runtime status write failed', { runtime: key, error: errorMessage(err) });
        throw err;
      }
    }
  }
}
