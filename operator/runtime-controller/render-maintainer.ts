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
import { Component, Label, MANAGER, type Runtime } from '../../lib/api.ts';
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

/** The Deployment first: the controller needs its UID to own the other three. */
export function renderMaintainerObjects(runtime: Runtime, config: RenderConfig): Obj[] {
  const name = maintainerName(runtime.metadata.name!);
  const ns = runtime.metadata.namespace!;
  const podLabels = { [Label.Component]: Component.RuntimeMaintainer, 'kruntimes.io/maintainer-of': runtime.metadata.name! };
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
                  ...artifactStoreEnv(runtime.spec),
                ],
                volumeMounts: artifactStoreMounts(runtime.spec),
              },
            ],
            volumes: artifactStoreVolumes(runtime.spec),
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
