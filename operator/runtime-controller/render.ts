// Renders everything a Runtime needs as plain objects: the Deployment of Runtime Pods with the
// runtimed sidecar injected, runtimed's ServiceAccount/Role/RoleBinding, and a NetworkPolicy.
// Pure, so the exact manifests are unit-tested.
import {
  Annotation,
  API_VERSION,
  Component,
  DEFAULT_REPLICAS,
  Label,
  MANAGER,
  RUNTIME_SERVER_PORT,
  RUNTIMED_CONTAINER,
  RUNTIMED_HTTP_PORT,
  type Runtime,
  type RuntimeSpec,
  WORKSPACE_MOUNT,
  WORKSPACE_VOLUME,
} from '../../lib/api.ts';
import { ARTIFACT_MOUNT, StoreEnv } from '../../lib/artifact-store/open-store.ts';
import { capacityAnnotations, runtimeCapacity } from '../../lib/resources.ts';
import {
  mergeSecurityContext,
  type PodSettings,
  RUNTIMED_STATE_ENV,
  RUNTIMED_STATE_MOUNT,
  RUNTIMED_STATE_VOLUME,
  RUNTIMED_TMP_VOLUME,
  runtimedSecurityContext,
  runtimePodSecurityContext,
} from '../../lib/pod-security.ts';
import { withMaintainerPod } from './maintainer-pod.ts';
import { renderMaintainerObjects, type RetainedStores } from './render-maintainer.ts';

export interface RenderConfig {
  /** runtimed image used when the Runtime has no spec.daemonImage. */
  runtimedImage: string;
  /** Namespace of the platform (allowed to scrape runtimed's metrics). */
  platformNamespace: string;
  /** Image of the runtime maintainer (the operator's image, args [maintainer]). */
  maintainerImage: string;
  /** The maintainer pods' settings (the platform chart's `maintainer` values); none when unset. */
  maintainerPod?: PodSettings;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

export const deploymentName = (runtime: string) => `runtime-${runtime}`;
export const serviceAccountName = (runtime: string) => `runtime-${runtime}`;
export const roleName = (runtime: string) => `runtime-${runtime}-runtimed`;
const TOKEN_VOLUME = 'kruntimes-runtimed-token';
const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export function ownerReference(runtime: Runtime): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'Runtime',
    name: runtime.metadata.name,
    uid: runtime.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(runtime: Runtime, name: string, component: string): Obj {
  return {
    name,
    namespace: runtime.metadata.namespace,
    labels: {
      [Label.ManagedBy]: MANAGER,
      [Label.Name]: 'kruntimes',
      [Label.Component]: component,
      [Label.Runtime]: runtime.metadata.name,
    },
    ownerReferences: [ownerReference(runtime)],
  };
}

/** The Runtime Server address runtimed dials: the runtime container's first TCP port. */
export function runtimeServerPort(runtime: Runtime): number {
  const c = runtime.spec.template.spec.containers[0] as Obj;
  const port = (c?.ports as Obj[] | undefined)?.find(
    (p) => !p.protocol || p.protocol === 'TCP',
  )?.containerPort;
  return typeof port === 'number' ? port : RUNTIME_SERVER_PORT;
}

/** `retained`: earlier stores Runs still name, which the maintainer mounts (render-maintainer.ts). */
export function renderRuntimeObjects(runtime: Runtime, config: RenderConfig, retained?: RetainedStores): Obj[] {
  const name = runtime.metadata.name!;
  const ns = runtime.metadata.namespace!;
  const userSA = runtime.spec.template.spec.serviceAccountName as string | undefined;
  const sa = userSA || serviceAccountName(name);
  const objects: Obj[] = [];
  if (!userSA) {
    objects.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(runtime, sa, 'runtime'),
      // The workload container gets no API credentials; runtimed mounts its own token volume.
      automountServiceAccountToken: false,
    });
  }
  objects.push(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(runtime, roleName(name), 'runtimed'),
      rules: [
        // patch: the artifact-cleanup finalizer, added before the first artifact upload.
        { apiGroups: ['kruntimes.io'], resources: ['runs'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['kruntimes.io'], resources: ['runs/status'], verbs: ['get', 'patch', 'update'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(runtime, roleName(name), 'runtimed'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName(name) },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(runtime, deploymentName(name), 'runtime'),
      spec: {
        podSelector: { matchLabels: { [Label.Runtime]: name } },
        policyTypes: ['Ingress'],
        // Nothing may reach runtimed or the Runtime Server over the network except the platform
        // on runtimed's HTTP port; logs and artifacts go through the kubelet's port-forward.
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': config.platformNamespace },
                },
              },
            ],
            ports: [{ protocol: 'TCP', port: RUNTIMED_HTTP_PORT }],
          },
        ],
      },
    },
    renderDeployment(runtime, config, sa, !userSA),
  );
  if (runtime.spec.artifactStore) objects.push(...renderMaintainerObjects(runtime, config, retained));
  // The maintainer pod: restricted, with the chart user's settings (maintainer-pod.ts).
  return objects.map((o) =>
    o.kind === 'Deployment' && o.metadata.labels[Label.Component] === Component.RuntimeMaintainer
      ? withMaintainerPod(o, config.maintainerPod)
      : o,
  );
}

export function renderDeployment(runtime: Runtime, config: RenderConfig, sa: string, ownToken: boolean): Obj {
  const name = runtime.metadata.name!;
  const template = runtime.spec.template;
  const podSpec = structuredClone(template.spec) as Obj;
  const capacity = runtimeCapacity(runtime.spec);
  const workspaceMount = { name: WORKSPACE_VOLUME, mountPath: WORKSPACE_MOUNT };
  const containers = (podSpec.containers as Obj[]).filter((c) => c.name !== RUNTIMED_CONTAINER);
  const env = (containers[0].env as Obj[] | undefined) ?? [];
  containers[0] = {
    ...containers[0],
    // Built-in Runtime Servers listen on KRUNTIME_PORT; keep it equal to the port runtimed dials.
    env: env.some((e) => e.name === 'KRUNTIME_PORT')
      ? env
      : [...env, { name: 'KRUNTIME_PORT', value: String(runtimeServerPort(runtime)) }],
    volumeMounts: [
      ...((containers[0].volumeMounts as Obj[]) ?? []).filter((m) => m.name !== WORKSPACE_VOLUME),
      workspaceMount,
    ],
  };
  const runtimed: Obj = {
    name: RUNTIMED_CONTAINER,
    image: runtime.spec.daemonImage || config.runtimedImage,
    imagePullPolicy: 'IfNotPresent',
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'RUNTIME_NAME', value: name },
      { name: 'KRUNTIME_SERVER_ADDR', value: `127.0.0.1:${runtimeServerPort(runtime)}` },
      { name: 'KRUNTIME_WORKSPACE', value: WORKSPACE_MOUNT },
      { name: RUNTIMED_STATE_ENV, value: RUNTIMED_STATE_MOUNT },
      // Its uid has no passwd entry and the root filesystem is read-only: git and ssh write here.
      { name: 'HOME', value: '/tmp' },
      ...artifactStoreEnv(runtime.spec),
      ...gitEnv(runtime.spec),
    ],
    ports: [{ name: 'runtimed', containerPort: RUNTIMED_HTTP_PORT, protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: '/readyz', port: RUNTIMED_HTTP_PORT },
      periodSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: RUNTIMED_HTTP_PORT },
      periodSeconds: 10,
      failureThreshold: 6,
    },
    ...(runtime.spec.runtimed?.resources ? { resources: runtime.spec.runtimed.resources } : {}),
    securityContext: mergeSecurityContext(runtimedSecurityContext(), runtime.spec.runtimed?.securityContext),
    volumeMounts: [
      workspaceMount,
      { name: RUNTIMED_STATE_VOLUME, mountPath: RUNTIMED_STATE_MOUNT },
      { name: RUNTIMED_TMP_VOLUME, mountPath: '/tmp' },
      ...(ownToken ? [{ name: TOKEN_VOLUME, mountPath: TOKEN_PATH, readOnly: true }] : []),
      ...artifactStoreMounts(runtime.spec),
      ...gitMounts(runtime.spec),
    ],
  };
  const volumes = ((podSpec.volumes as Obj[]) ?? []).filter(
    (v) =>
      v.name !== WORKSPACE_VOLUME &&
      v.name !== TOKEN_VOLUME &&
      v.name !== ARTIFACT_VOLUME &&
      v.name !== GIT_CA_VOLUME &&
      v.name !== RUNTIMED_STATE_VOLUME &&
      v.name !== RUNTIMED_TMP_VOLUME,
  );
  volumes.push(
    { name: WORKSPACE_VOLUME, emptyDir: {} },
    { name: RUNTIMED_STATE_VOLUME, emptyDir: {} },
    { name: RUNTIMED_TMP_VOLUME, emptyDir: {} },
    ...artifactStoreVolumes(runtime.spec),
    ...gitVolumes(runtime.spec),
  );
  if (ownToken) {
    volumes.push({
      name: TOKEN_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    });
  }
  const labels = { ...(template.metadata?.labels ?? {}), [Label.Runtime]: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(runtime, deploymentName(name), 'runtime'),
    spec: {
      replicas: runtime.spec.replicas ?? DEFAULT_REPLICAS,
      selector: { matchLabels: { [Label.Runtime]: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            // The Runtime's spec.capacity is the one source of a pod's capacity: no stray copies.
            ...Object.fromEntries(
              Object.entries(template.metadata?.annotations ?? {}).filter(
                ([key]) => !key.startsWith(Annotation.CapacityPrefix),
              ),
            ),
            ...capacityAnnotations(capacity),
          },
        },
        spec: {
          ...podSpec,
          // Ours are defaults: the template's own securityContext wins key by key.
          securityContext: mergeSecurityContext(runtimePodSecurityContext(), podSpec.securityContext),
          serviceAccountName: sa,
          ...(ownToken ? { automountServiceAccountToken: false } : {}),
          containers: [...containers, runtimed],
          volumes,
          // runtimed lets running Runs finish on SIGTERM; give them time.
          terminationGracePeriodSeconds: podSpec.terminationGracePeriodSeconds ?? 30,
        },
      },
    },
  };
}

// spec.git.caBundleRef: the ConfigMap key mounted into runtimed only, named by GIT_SSL_CAINFO.
const GIT_CA_VOLUME = 'kruntimes-git-ca';
const GIT_CA_DIR = '/etc/kruntimes/git-ca';
const GIT_CA_FILE = 'ca.crt';

function gitEnv(spec: RuntimeSpec): Obj[] {
  return spec.git?.caBundleRef ? [{ name: 'GIT_SSL_CAINFO', value: `${GIT_CA_DIR}/${GIT_CA_FILE}` }] : [];
}

function gitMounts(spec: RuntimeSpec): Obj[] {
  return spec.git?.caBundleRef ? [{ name: GIT_CA_VOLUME, mountPath: GIT_CA_DIR, readOnly: true }] : [];
}

function gitVolumes(spec: RuntimeSpec): Obj[] {
  const ref = spec.git?.caBundleRef;
  if (!ref) return [];
  return [
    {
      name: GIT_CA_VOLUME,
      configMap: { name: ref.name, items: [{ key: ref.key ?? 'ca.crt', path: GIT_CA_FILE }] },
    },
  ];
}

const ARTIFACT_VOLUME = 'kruntimes-artifacts';

/**
 * The store's configuration as env for runtimed and the maintainer: the spec as JSON (it holds no
 * secret) and the credentials from the named Secret. The runtime container never gets these.
 */
export function artifactStoreEnv(spec: RuntimeSpec): Obj[] {
  const store = spec.artifactStore;
  if (!store) return [];
  const env: Obj[] = [{ name: StoreEnv.Spec, value: JSON.stringify(store) }];
  const secret = store.s3?.credentialsSecretRef.name;
  if (secret) {
    const key = (name: string, optional: boolean) => ({
      name,
      valueFrom: { secretKeyRef: { name: secret, key: name, ...(optional ? { optional: true } : {}) } },
    });
    env.push(key(StoreEnv.AccessKeyId, false), key(StoreEnv.SecretAccessKey, false), key(StoreEnv.SessionToken, true));
  }
  return env;
}

export function artifactStoreVolumes(spec: RuntimeSpec): Obj[] {
  const claimName = spec.artifactStore?.filesystem?.claimName;
  return claimName ? [{ name: ARTIFACT_VOLUME, persistentVolumeClaim: { claimName } }] : [];
}

export function artifactStoreMounts(spec: RuntimeSpec): Obj[] {
  return spec.artifactStore?.filesystem ? [{ name: ARTIFACT_VOLUME, mountPath: ARTIFACT_MOUNT }] : [];
}
