// The cluster side of backup and restore: reading what to back up, reading the state a restore
// plan is made against, and carrying out each step of the plan.
import { Annotation, type Run, type Runtime, type Workflow } from '../../lib/api.ts';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { CliError } from '../errors.ts';
import { PLATFORM_NAMESPACE } from '../platform-version.ts';
import type { BackupContents, InstallRecordData, SecretObject } from './archive.ts';
import { artifactStoreOf, forBackup, forCreate, keyOf, referencedSecrets, restoredRunStatus } from './objects.ts';
import type { ClusterState, Step } from './restore-plan.ts';

export const INSTALL_RECORD_CONFIGMAP = 'kruntimes-install';
export const CRD_NAMES = ['runs.kruntimes.io', 'runtimes.kruntimes.io', 'workflows.kruntimes.io'] as const;
const FIELD_MANAGER = 'kubectl-krt-restore';

const paths = {
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  pvc: (ns: string, name: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  namespace: (name: string) => `/api/v1/namespaces/${name}`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  crd: (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
};

/**
 * Retries requests the apiserver answers 429 or 503 for, with backoff, up to `timeoutMs`: right
 * after the CRDs are (re)created their storage answers "storage is (re)initializing" for a moment,
 * which a restore into a freshly installed platform runs into.
 */
export function retryWhileBusy(client: KubeClient, timeoutMs = 60_000): void {
  const send = client.request.bind(client);
  client.request = (async (method: string, path: string, options?: Parameters<KubeClient['request']>[2]) => {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await send(method, path, options);
      } catch (err) {
        const busy = err instanceof KubeApiError && (err.code === 429 || err.code === 503);
        if (!busy || Date.now() + delay > deadline) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }) as KubeClient['request'];
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function listIn<T>(client: KubeClient, path: (ns?: string) => string, namespaces?: readonly string[]): Promise<T[]> {
  if (!namespaces) return (await client.get<{ items: T[] }>(path())).items;
  const lists = await Promise.all(namespaces.map((ns) => client.get<{ items: T[] }>(path(ns))));
  return lists.flatMap((l) => l.items);
}

export async function readInstallRecordData(client: KubeClient): Promise<InstallRecordData | undefined> {
  const cm = await getOrUndefined<{ data?: InstallRecordData }>(
    client,
    paths.configMap(PLATFORM_NAMESPACE, INSTALL_RECORD_CONFIGMAP),
  );
  return cm ? (cm.data ?? {}) : undefined;
}

function secretForBackup(secret: SecretObject & { metadata: Record<string, unknown> }): SecretObject {
  const m = secret.metadata as SecretObject['metadata'];
  const annotations = { ...(m.annotations ?? {}) };
  // kubectl's copy of the whole object, credentials included: not worth a second copy.
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    ...(secret.type ? { type: secret.type } : {}),
    ...(secret.data ? { data: secret.data } : {}),
  };
}

export interface Collected {
  contents: BackupContents;
  /** Secrets a Runtime references that do not exist: namespace/name and who references them. */
  missingSecrets: string[];
}

/** Everything a backup holds; `namespaces` undefined means all. */
export async function collectBackup(
  client: KubeClient,
  options: { namespaces?: readonly string[]; includeSecrets: boolean },
): Promise<Collected> {
  const [runtimes, runs, workflows, installRecord] = await Promise.all([
    listIn<Runtime>(client, Paths.runtimes, options.namespaces),
    listIn<Run>(client, Paths.runs, options.namespaces),
    listIn<Workflow>(client, Paths.workflows, options.namespaces),
    readInstallRecordData(client),
  ]);
  const missingSecrets: string[] = [];
  let secrets: SecretObject[] | undefined;
  if (options.includeSecrets) {
    secrets = [];
    const wanted = new Map<string, string>();
    for (const rt of runtimes)
      for (const s of referencedSecrets(rt)) wanted.set(keyOf(rt.metadata.namespace, s), `Runtime ${rt.metadata.name}`);
    for (const run of runs) {
      const s3 = artifactStoreOf(run, undefined)?.s3?.credentialsSecretRef?.name;
      if (s3 && !wanted.has(keyOf(run.metadata.namespace, s3)))
        wanted.set(keyOf(run.metadata.namespace, s3), `Run ${run.metadata.name}'s artifact store`);
    }
    for (const [key, who] of [...wanted].sort()) {
      const [ns, name] = key.split('/') as [string, string];
      const secret = await getOrUndefined<SecretObject & { metadata: Record<string, unknown> }>(client, paths.secret(ns, name));
      if (secret) secrets.push(secretForBackup(secret));
      else missingSecrets.push(`${key} (referenced by ${who})`);
    }
  }
  const strip = <T extends Run | Runtime | Workflow>(list: T[]) =>
    list
      .map((o) => forBackup(o))
      .sort((a, b) =>
        keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)),
      );
  return {
    contents: { runtimes: strip(runtimes), runs: strip(runs), workflows: strip(workflows), secrets, installRecord },
    missingSecrets,
  };
}

export interface PlatformState {
  missingCrds: string[];
  /** Control-plane Deployments that do not exist. */
  missingDeployments: string[];
}

export async function platformState(client: KubeClient, deployments: readonly string[]): Promise<PlatformState> {
  const missingCrds: string[] = [];
  for (const name of CRD_NAMES) if (!(await getOrUndefined(client, paths.crd(name)))) missingCrds.push(name);
  const missingDeployments: string[] = [];
  for (const name of deployments)
    if (!(await getOrUndefined(client, `${Paths.deployments(PLATFORM_NAMESPACE)}/${name}`))) missingDeployments.push(name);
  return { missingCrds, missingDeployments };
}

/** The state the restore plan is made against; without the CRDs, no kruntimes object exists. */
export async function clusterState(client: KubeClient, backup: BackupContents, crdsPresent: boolean): Promise<ClusterState> {
  const namespaces = new Set<string>();
  for (const o of [...backup.runtimes, ...backup.runs, ...backup.workflows, ...(backup.secrets ?? [])])
    namespaces.add(o.metadata.namespace!);
  const present = new Set<string>();
  for (const ns of namespaces) if (await getOrUndefined(client, paths.namespace(ns))) present.add(ns);
  const secretKeys = new Set<string>();
  for (const s of backup.secrets ?? []) secretKeys.add(keyOf(s.metadata.namespace, s.metadata.name));
  const pvcKeys = new Set<string>();
  for (const rt of backup.runtimes) {
    for (const s of referencedSecrets(rt)) secretKeys.add(keyOf(rt.metadata.namespace, s));
    if (rt.spec.artifactStore?.filesystem?.claimName)
      pvcKeys.add(keyOf(rt.metadata.namespace, rt.spec.artifactStore.filesystem.claimName));
  }
  for (const run of backup.runs) {
    const store = artifactStoreOf(run, undefined);
    if (store?.s3?.credentialsSecretRef?.name) secretKeys.add(keyOf(run.metadata.namespace, store.s3.credentialsSecretRef.name));
    if (store?.filesystem?.claimName) pvcKeys.add(keyOf(run.metadata.namespace, store.filesystem.claimName));
  }
  const exists = async (keys: Set<string>, path: (ns: string, name: string) => string) => {
    const found = new Set<string>();
    for (const key of keys) {
      const [ns, name] = key.split('/') as [string, string];
      if (present.has(ns) && (await getOrUndefined(client, path(ns, name)))) found.add(key);
    }
    return found;
  };
  const inPresent = [...present];
  const index = <T extends { metadata: { namespace?: string; name?: string } }>(list: T[]) =>
    new Map(list.map((o) => [keyOf(o.metadata.namespace, o.metadata.name), o]));
  const listed = async <T>(path: (ns?: string) => string) =>
    crdsPresent && inPresent.length ? await listIn<T>(client, path, inPresent) : [];
  return {
    namespaces: present,
    secrets: await exists(secretKeys, paths.secret),
    persistentVolumeClaims: await exists(pvcKeys, paths.pvc),
    runtimes: index(await listed<Runtime>(Paths.runtimes)),
    workflows: index(await listed<Workflow>(Paths.workflows)),
    runs: index(await listed<Run>(Paths.runs)),
    installRecord: (await readInstallRecordData(client)) !== undefined,
  };
}

/**
 * Carries out the steps of a plan; Workflows before Runs, so Runs can be relinked to their owner.
 * A Workflow gets its status back at its own step but keeps the restoring annotation until the
 * last of its child Runs in the plan has its status (step.childRuns), or, when the plan skips some
 * of them (step.heldBy), beyond this restore.
 */
export class Restorer {
  private readonly client: KubeClient;
  private readonly backup: BackupContents;
  /** Old uid → uid in this cluster, for owner references. */
  private readonly uids = new Map<string, string>();
  /**
   * namespace/workflow → the child Runs still to restore before its annotation is lifted, and the
   * Workflow's resourceVersion after its status was given back.
   */
  private readonly waiting = new Map<string, { runs: Set<string>; rv?: string }>();

  constructor(options: { client: KubeClient; backup: BackupContents; cluster: ClusterState }) {
    this.client = options.client;
    this.backup = options.backup;
    for (const wf of options.backup.workflows) {
      const live = options.cluster.workflows.get(keyOf(wf.metadata.namespace, wf.metadata.name));
      if (wf.metadata.uid && live?.metadata.uid) this.uids.set(wf.metadata.uid, live.metadata.uid);
    }
  }

  private find<T extends { metadata: { namespace?: string; name?: string } }>(list: readonly T[] | undefined, step: Step): T {
    const found = list?.find((o) => o.metadata.namespace === step.namespace && o.metadata.name === step.name);
    if (!found) throw new CliError(`${step.kind} ${step.namespace}/${step.name} is in the plan but not in the archive`);
    return found;
  }

  /** Creates, ignoring AlreadyExists (a concurrent or earlier restore): returns the live object. */
  private async createOrGet<T>(collection: string, name: string, body: unknown): Promise<T> {
    try {
      return await this.client.create<T>(collection, body);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return this.client.get<T>(`${collection}/${name}`);
    }
  }

  async apply(step: Step): Promise<void> {
    if (step.action === 'skip' || step.action === 'unchanged') return;
    const c = this.client;
    switch (step.kind) {
      case 'Namespace':
        await this.createOrGet('/api/v1/namespaces', step.name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: step.name } });
        return;
      case 'Secret':
        await this.createOrGet(paths.secrets(step.namespace!), step.name, this.find(this.backup.secrets, step));
        return;
      case 'InstallRecord':
        // Never created here: kubectl krt install (restore --install) writes it with the platform.
        return;
      case 'Runtime': {
        // A Runtime's status describes its Pods in this cluster; the Runtime controller writes it anew.
        const rt = this.find(this.backup.runtimes, step);
        if (step.action === 'create')
          await this.createOrGet(Paths.runtimes(step.namespace), step.name, forCreate(rt, { restoring: false }));
        else {
          const desired = {
            apiVersion: rt.apiVersion,
            kind: rt.kind,
            metadata: { name: step.name, namespace: step.namespace },
            spec: rt.spec,
          };
          await c.apply(Paths.runtime(step.namespace!, step.name), desired, FIELD_MANAGER);
        }
        return;
      }
      case 'Workflow': {
        const wf = this.find(this.backup.workflows, step);
        const body = forCreate(wf, { restoring: true });
        const ns = step.namespace!;
        const live = await this.createOrGet<Workflow>(Paths.workflows(ns), step.name, body);
        if (wf.metadata.uid && live.metadata.uid) this.uids.set(wf.metadata.uid, live.metadata.uid);
        if (live.metadata.annotations?.[Annotation.Restoring] === undefined) return;
        const rv = await this.giveStatusBack(live, wf.status, Paths.workflowStatus(ns, step.name));
        if (step.heldBy?.length) return;
        if (step.childRuns?.length) this.waiting.set(keyOf(ns, step.name), { runs: new Set(step.childRuns), rv });
        else await this.liftRestoring(Paths.workflow(ns, step.name), rv);
        return;
      }
      case 'Run': {
        const run = this.find(this.backup.runs, step);
        const ns = step.namespace!;
        const body = forCreate(run, { ownerUids: this.uids, restoring: true });
        const live = await this.createOrGet<Run>(Paths.runs(ns), step.name, body);
        if (live.metadata.annotations?.[Annotation.Restoring] !== undefined) {
          const rv = await this.giveStatusBack(live, restoredRunStatus(run), Paths.runStatus(ns, step.name));
          await this.liftRestoring(Paths.run(ns, step.name), rv);
        }
        if (step.workflow) await this.childRestored(ns, step.workflow, step.name);
      }
    }
  }

  /** One more child Run has its status: the last one lifts its Workflow's restoring annotation. */
  private async childRestored(namespace: string, workflow: string, run: string): Promise<void> {
    const key = keyOf(namespace, workflow);
    const left = this.waiting.get(key);
    if (!left?.runs.delete(run) || left.runs.size > 0) return;
    this.waiting.delete(key);
    await this.liftRestoring(Paths.workflow(namespace, workflow), left.rv);
  }

  /**
   * Writes the backed-up status through the status subresource while the object still carries the
   * restoring annotation (so no controller acts on it meanwhile); returns the resourceVersion after.
   */
  private async giveStatusBack(
    live: Run | Workflow,
    status: object | undefined,
    statusPath: string,
  ): Promise<string | undefined> {
    const rv = live.metadata.resourceVersion;
    if (!status || Object.keys(status).length === 0) return rv;
    const written = await this.client.mergePatch<Run | Workflow>(statusPath, { metadata: { resourceVersion: rv }, status });
    return written.metadata.resourceVersion;
  }

  /**
   * Removes the restoring annotation, precondition-checked on `rv` (what this restore last wrote);
   * after a conflict, on a fresh read. The controllers take the object over from here.
   */
  private async liftRestoring(objectPath: string, rv?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (rv === undefined) {
        const live = await this.client.get<Run | Workflow>(objectPath);
        if (live.metadata.annotations?.[Annotation.Restoring] === undefined) return;
        rv = live.metadata.resourceVersion;
      }
      try {
        await this.client.mergePatch(objectPath, {
          metadata: { resourceVersion: rv, annotations: { [Annotation.Restoring]: null } },
        });
        return;
      } catch (err) {
        // Someone else wrote it meanwhile (a label, another restore): read it again and retry.
        if (!isConflict(err) || attempt >= 4) throw err;
        rv = undefined;
      }
    }
  }
}
