// The Runtime controller on the controller frame: Runtimes and every object it renders for them
// (Deployments, ServiceAccounts, Roles, RoleBindings, NetworkPolicies, all labelled managed-by
// kruntimes and runtime=<name>) enqueue the Runtime; each reconcile applies what decideRuntime
// says is missing or altered and writes the status. A deleted or edited owned object is an event,
// so it is put back at once, not at a resync. Runs whose store snapshot names a PVC or Secret
// their Runtime no longer uses enqueue it too: the maintainer mounts those until they are cleaned up.
// A ServiceAccount a Runtime's template names enqueues that Runtime: whether it mounts its token
// decides runtimed's credentials (the RuntimedCredentials condition).
import type { Registry } from 'prom-client';
import { Label, MANAGER, type Run, type Runtime } from '../../lib/api.ts';
import type { V1Deployment } from '@kubernetes/client-node';
import { Controller, objectKey, type Result, splitKey } from '../../lib/controller/controller.ts';
import type { SharedCache } from '../../lib/controller/shared-cache.ts';
import { StatusWriter } from '../../lib/controller/status-writer.ts';
import type { Informer } from '../../lib/informer.ts';
import { EventAction, EventType, recordEvent } from '../../lib/events.ts';
import { collectionPath, isNotFound, KubeApiError, type KubeClient, type ObjectRef, objectPath, Paths } from '../../lib/kube-client.ts';
import { logger } from '../../lib/log.ts';
import { CONTROLLER_RUN_VIEW } from '../controller-run-view.ts';
import { applyFailedStatus, decideRuntime, indexObserved, isMaintainerObject, objectId, withServiceAccountUID } from './decide.ts';
import { deploymentName, type RenderConfig } from './render.ts';
import { maintainerName, namesOtherStore, retainedStores } from './render-maintainer.ts';

const log = logger.child({ component: 'runtime-controller' });
const FIELD_MANAGER = 'kruntimes-runtime-controller';
const EVENT_REPORTER = 'kruntimes.io/runtime-controller';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

/** The kinds the controller renders, by the apiVersion it renders them with. */
const OWNED = {
  ServiceAccount: 'v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Deployment: 'apps/v1',
} as const;
type OwnedKind = keyof typeof OWNED;

export class RuntimeController {
  private readonly client: KubeClient;
  private readonly config: RenderConfig;
  private readonly runtimes: Informer<Runtime>;
  private readonly runs: Informer<Run>;
  private readonly owned: Array<[OwnedKind, Informer<Obj>]>;
  /** Every ServiceAccount, unlabelled ones included: the ones Runtime templates name are the user's. */
  private readonly accounts: Informer<Obj>;
  private readonly status: StatusWriter<Runtime>;
  private readonly controller: Controller;
  private readonly instance: string;

  constructor(options: { client: KubeClient; cache: SharedCache; registry: Registry; config: RenderConfig; instance?: string }) {
    this.client = options.client;
    this.instance = options.instance ?? 'kruntimes-controller';
    this.config = options.config;
    const { cache } = options;
    this.runtimes = cache.informer<Runtime>(Paths.runtimes());
    this.runs = cache.informer<Run>(Paths.runs(), { transform: CONTROLLER_RUN_VIEW });
    this.owned = (Object.keys(OWNED) as OwnedKind[]).map((kind) => [
      kind,
      cache.informer<Obj>(collectionPath(OWNED[kind], kind), { labelSelector: `${Label.ManagedBy}=${MANAGER}` }),
    ]);
    this.accounts = cache.informer<Obj>(collectionPath('v1', 'ServiceAccount'));
    this.status = new StatusWriter<Runtime>(this.client, Paths.runtimeStatus);
    this.controller = new Controller({
      name: 'runtime',
      cache,
      registry: options.registry,
      reconcile: (key) => this.reconcile(key),
    })
      .watch(this.runtimes, objectKey)
      .watch(this.runs, (r) => {
        const ns = r.metadata.namespace!;
        return namesOtherStore(r, this.runtimes.get(r.spec.runtime, ns)) ? `${ns}/${r.spec.runtime}` : undefined;
      })
      .watch(this.accounts, (sa) =>
        this.runtimes
          .list(sa.metadata?.namespace)
          .filter((rt) => rt.spec.template.spec.serviceAccountName === sa.metadata?.name)
          .map(objectKey),
      );
    for (const [, informer] of this.owned)
      this.controller.watch(informer, (o) => {
        const runtime = o.metadata?.labels?.[Label.Runtime];
        return runtime ? `${o.metadata.namespace}/${runtime}` : undefined;
      });
  }

  async start(): Promise<void> {
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
  }

  /** The claims that exist and are not being deleted (retained claims are few and rare: a GET each). */
  private async mountableClaims(namespace: string, claims: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const name of claims) {
      try {
        const pvc = await this.client.get<{ metadata: { deletionTimestamp?: string } }>(
          objectPath({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace } }),
        );
        if (!pvc.metadata.deletionTimestamp) out.push(name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  private async reconcile(key: string): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.runtimes.get(name, namespace);
    if (!cached || cached.metadata.deletionTimestamp) return; // owner references clean up
    const runtime = this.status.latest(cached);
    const observed = indexObserved(
      this.owned.map(([kind, informer]) => [kind, informer.list(namespace)] as const),
      name,
    );
    const retained = runtime.spec.artifactStore ? retainedStores(runtime, this.runs.list(namespace)) : undefined;
    // A claim that is gone or going must not be mounted: the maintainer's pod could never start.
    if (retained?.claims.length) retained.claims = await this.mountableClaims(namespace, retained.claims);
    const named = runtime.spec.template.spec.serviceAccountName as string | undefined;
    const sa = named ? this.accounts.get(named, namespace) : undefined;
    const account = sa && {
      automountServiceAccountToken: sa.automountServiceAccountToken as boolean | undefined,
      uid: sa.metadata?.uid as string | undefined,
    };
    const decision = decideRuntime({ runtime, observed, account, config: this.config, retained });
    // The ServiceAccount applied just now (created or put back): its UID goes on the pods' template
    // in this same apply, so they start with valid tokens (the next decision renders it too).
    let accountUID: string | undefined;
    // The maintainer's RBAC is owned by its Deployment, never by the Runtime (render-maintainer.ts).
    let maintainerUID = observed.get(`Deployment/${maintainerName(name)}`)?.metadata?.uid as string | undefined;
    for (const obj of decision.apply) {
      const maintainer = isMaintainerObject(obj);
      if (!maintainer && obj.kind === 'Deployment') withServiceAccountUID(obj, accountUID);
      if (maintainer && obj.kind !== 'Deployment' && maintainerUID)
        obj.metadata.ownerReferences = [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: maintainerName(name), uid: maintainerUID },
        ];
      let applied: { metadata: { uid?: string } };
      try {
        const path = objectPath(obj as ObjectRef);
        applied = await this.client.apply<{ metadata: { uid?: string } }>(path, obj, FIELD_MANAGER);
      } catch (err) {
        // A refusal (invalid template, quota, admission) is the Runtime's problem to show, not
        // only a log line; the frame retries with backoff, and an edit of the Runtime at once.
        if (!(err instanceof KubeApiError) || err.code >= 500 || err.code === 409) throw err;
        const deployment = observed.get(`Deployment/${deploymentName(name)}`) as V1Deployment | undefined;
        const status = applyFailedStatus({ runtime, object: obj, reason: err.reason, message: err.message, deployment });
        if (status) {
          await this.status.write(runtime, status);
          const ready = status.conditions?.find((c) => c.type === 'Ready');
          recordEvent(
            this.client,
            { kind: 'Runtime', metadata: runtime.metadata },
            { type: EventType.Warning, reason: ready?.reason ?? 'ApplyFailed', action: EventAction.Apply, message: ready?.message ?? err.message },
            { controller: EVENT_REPORTER, instance: this.instance },
          ).catch(() => {});
        }
        log.warn('applying a runtime object was refused', { runtime: key, object: objectId(obj), error: err.message });
        return { requeue: true };
      }
      if (maintainer && obj.kind === 'Deployment') maintainerUID = applied.metadata.uid;
      if (!maintainer && obj.kind === 'ServiceAccount') accountUID = applied.metadata.uid;
    }
    if (decision.apply.length)
      log.info('applied runtime objects', { runtime: key, objects: decision.apply.map(objectId) });
    if (decision.status) await this.status.write(runtime, decision.status);
  }
}
