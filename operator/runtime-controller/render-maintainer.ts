// The runtime maintainer of a Runtime with an artifact store: a Deployment (one replica of the
// operator image, args [maintainer]) with its own ServiceAccount, Role and RoleBinding, which
// deletes deleted Runs' artifacts and removes their finalizer.
//
// Lifetime: none of these objects is owned by the Runtime, so deleting the Runtime does not
// delete the maintainer while Runs still hold the artifact-cleanup finalizer (garbage collection
// would otherwise remove it first and leave those Runs undeletable). The Runtime controller sets
// the maintainer Deployment as owner of the ServiceAccount, Role and RoleBinding when it applies
// them; the maintainer deletes its own Deployment once the Runtime is gone and no Run of it
// carries the finalizer (or the Runtime no longer has a store), and garbage collection then
// removes the rest.
//
// Stores of earlier configurations: a Run's artifacts are deleted from the store its snapshot
// (status.artifactStore) names, which may be a PVC or a credentials Secret the Runtime no longer
// uses. The maintainer mounts each such PVC still named by a Run holding the finalizer, and every
// credentials Secret (as optional volumes, so a Secret that is gone is reported on the Run and
// does not keep the pod from starting), listed for it in KRUNTIME_MAINTAINER_MOUNTS.
import { createHash } from 'node:crypto';
import { Component, Finalizer, Label, MANAGER, type Run, type Runtime } from '../../lib/api.ts';
import {
  CREDENTIALS_MOUNT,
  type MaintainerMounts,
  RETAINED_CLAIMS_MOUNT,
  StoreEnv,
} from '../../lib/artifact-store/open-store.ts';
import { artifactStoreEnv, artifactStoreMounts, artifactStoreVolumes, type RenderConfig } from './render.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

export const maintainerName = (runtime: string) => `runtime-${runtime}-maintainer`;
export const MAINTAINER_ARG = 'maintainer';

function meta(runtime: Runtime, name: string): Obj {
  return {
    name,
    namespace: runtime.metadata.namespace,
    labels: {
      [Label.ManagedBy]: MANAGER,
      [Label.Name]: 'kruntimes',
      [Label.Component]: Component.RuntimeMaintainer,
      [Label.Runtime]: runtime.metadata.name,
    },
  };
}

/** What Runs still need besides the Runtime's current store: PVCs and credentials Secrets. */
export interface RetainedStores {
  claims: string[];
  secrets: string[];
}

/**
 * The PVCs and Secrets that snapshots of the Runtime's Runs holding the artifact-cleanup
 * finalizer name and the Runtime's store does not: the maintainer must mount them to clean up.
 */
export function retainedStores(runtime: Runtime, runs: readonly Run[]): RetainedStores {
  const current = runtime.spec.artifactStore;
  const claims = new Set<string>();
  const secrets = new Set<string>();
  for (const run of runs) {
    if (run.metadata.namespace !== runtime.metadata.namespace || run.spec.runtime !== runtime.metadata.name) continue;
    if (!run.metadata.finalizers?.includes(Finalizer.ArtifactCleanup)) continue;
    const snapshot = run.status?.artifactStore;
    const claim = snapshot?.filesystem?.claimName;
    if (claim && claim !== current?.filesystem?.claimName) claims.add(claim);
    const secret = snapshot?.s3?.credentialsSecretRef?.name;
    if (secret && secret !== current?.s3?.credentialsSecretRef.name) secrets.add(secret);
  }
  return { claims: [...claims].sort(), secrets: [...secrets].sort() };
}

/** Whether a Run's snapshot names a store other than its Runtime's current one (a Runs watch filter). */
export function namesOtherStore(run: Run, runtime: Runtime | undefined): boolean {
  const snapshot = run.status?.artifactStore;
  if (!snapshot) return false;
  const current = runtime?.spec.artifactStore;
  if (snapshot.filesystem) return snapshot.filesystem.claimName !== current?.filesystem?.claimName;
  return snapshot.s3?.credentialsSecretRef?.name !== current?.s3?.credentialsSecretRef.name;
}

/** A volume name (a DNS label) for a claim or Secret name, which may be longer or have dots. */
const volumeName = (kind: 'claim' | 'secret', name: string) =>
  `store-${kind}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;

/** The maintainer's volumes, mounts and env for earlier stores' PVCs and all credentials Secrets. */
export function maintainerStoreMounts(runtime: Runtime, retained: RetainedStores): { volumes: Obj[]; mounts: Obj[]; env: Obj[] } {
  const current = runtime.spec.artifactStore?.s3?.credentialsSecretRef.name;
  const secrets = [...new Set([...(current ? [current] : []), ...retained.secrets])];
  const listed: MaintainerMounts = { claims: {}, secrets: {} };
  const volumes: Obj[] = [];
  const mounts: Obj[] = [];
  for (const claimName of retained.claims) {
    const mountPath = `${RETAINED_CLAIMS_MOUNT}/${claimName}`;
    volumes.push({ name: volumeName('claim', claimName), persistentVolumeClaim: { claimName } });
    mounts.push({ name: volumeName('claim', claimName), mountPath });
    listed.claims[claimName] = mountPath;
  }
  for (const secretName of secrets) {
    const mountPath = `${CREDENTIALS_MOUNT}/${secretName}`;
    volumes.push({ name: volumeName('secret', secretName), secret: { secretName, optional: true } });
    mounts.push({ name: volumeName('secret', secretName), mountPath, readOnly: true });
    listed.secrets[secretName] = mountPath;
  }
  const env = volumes.length ? [{ name: StoreEnv.Mounts, value: JSON.stringify(listed) }] : [];
  return { volumes, mounts, env };
}

/** The Deployment first: the controller needs its UID to own the other three. */
export function renderMaintainerObjects(
  runtime: Runtime,
  config: RenderConfig,
  retained: RetainedStores = { claims: [], secrets: [] },
): Obj[] {
  const name = maintainerName(runtime.metadata.name!);
  const ns = runtime.metadata.namespace!;
  const podLabels = { [Label.Component]: Component.RuntimeMaintainer, 'kruntimes.io/maintainer-of': runtime.metadata.name! };
  const extra = maintainerStoreMounts(runtime, retained);
  // Credentials come from the mounted Secrets (read at each cleanup), not as env: a Secret that is
  // gone must not keep the maintainer from starting.
  const storeEnv = artifactStoreEnv(runtime.spec).filter((e) => !e.valueFrom?.secretKeyRef);
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(runtime, name),
      spec: {
        replicas: 1,
        selector: { matchLabels: podLabels },
        // Never two at once: both would delete the same objects and race on the same finalizers.
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels: podLabels },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name: 'maintainer',
                image: config.maintainerImage,
                imagePullPolicy: 'IfNotPresent',
                args: [MAINTAINER_ARG],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'RUNTIME_NAME', value: runtime.metadata.name },
                  { name: 'MAINTAINER_DEPLOYMENT', value: name },
                  ...storeEnv,
                  ...extra.env,
                ],
                volumeMounts: [...artifactStoreMounts(runtime.spec), ...extra.mounts],
              },
            ],
            volumes: [...artifactStoreVolumes(runtime.spec), ...extra.volumes],
            terminationGracePeriodSeconds: 10,
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(runtime, name) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(runtime, name),
      rules: [
        { apiGroups: ['kruntimes.io'], resources: ['runs'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        { apiGroups: ['kruntimes.io'], resources: ['runs/finalizers'], verbs: ['update'] },
        // The ArtifactCleanup condition on a Run whose cleanup is blocked.
        { apiGroups: ['kruntimes.io'], resources: ['runs/status'], verbs: ['patch'] },
        // Whether a snapshot's PVC it does not mount still exists (a deleted claim took the artifacts).
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get'] },
        { apiGroups: ['kruntimes.io'], resources: ['runtimes'], verbs: ['get'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [name], verbs: ['get', 'delete'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(runtime, name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    },
  ];
}
