// The objects `kubectl krt install` applies. The platform is manifests/platform (the single source
// the e2e suite applies too) with the chart's values put in, the CRDs are manifests/crds, and the
// Runtimes are the charts/kruntimes-runtimes objects. charts/kruntimes renders the same objects from
// the same values with Go templates; test/e2e/install.e2e.ts compares `helm template` with this.
import { parseAllDocuments } from 'yaml';
import { API_VERSION } from '../../lib/api.ts';
import { canonicalJson, MAINTAINER_POD_ENV } from '../../lib/pod-security.ts';
import { manifestFiles } from './manifest-files.ts';
import { BUILTIN_RUNTIMES, type PlatformValues, type PodValues, type RuntimesValues } from './values.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function readObjects(dir: string): K8sObject[] {
  return manifestFiles(dir)
    .flatMap((f) =>
      parseAllDocuments(f.text)
        .map((d) => d.toJS() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null),
    );
}

/** manifests/crds, as they are. */
export function renderCrds(): K8sObject[] {
  return readObjects('crds');
}

/** The platform objects as manifests/platform has them (the default values, namespace kruntimes-system). */
export function platformManifests(): K8sObject[] {
  return readObjects('platform');
}

export interface Capabilities {
  /** Whether the cluster serves monitoring.coreos.com/v1 ServiceMonitor (Helm's .Capabilities.APIVersions.Has). */
  serviceMonitor: boolean;
}

interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  env?: Array<{ name: string; value?: string }>;
  resources?: unknown;
  [field: string]: unknown;
}
interface PodSpec {
  containers: Container[];
  [field: string]: unknown;
}

function nonEmpty(v: object): boolean {
  return Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0;
}

/**
 * The pod settings as the charts' `{{- with }}` blocks put them: each only when set (an empty
 * securityContext value removes ours), the container's securityContext on `containers[0]`.
 */
function withPodValues(spec: PodSpec, v: PodValues): PodSpec {
  const { containers, securityContext: _ours, ...rest } = spec;
  const pod: Record<string, unknown> = {};
  if (v.priorityClassName) pod.priorityClassName = v.priorityClassName;
  if (nonEmpty(v.imagePullSecrets)) pod.imagePullSecrets = v.imagePullSecrets;
  if (nonEmpty(v.podSecurityContext)) pod.securityContext = v.podSecurityContext;
  if (nonEmpty(v.nodeSelector)) pod.nodeSelector = v.nodeSelector;
  if (nonEmpty(v.tolerations)) pod.tolerations = v.tolerations;
  if (nonEmpty(v.affinity)) pod.affinity = v.affinity;
  const [first, ...others] = containers;
  const { securityContext: _theirs, ...container } = first;
  if (nonEmpty(v.securityContext)) container.securityContext = v.securityContext;
  return { ...rest, ...pod, containers: [container, ...others] };
}

/** The template's metadata with the podAnnotations value, when set. */
type TemplateMetadata = { labels: Record<string, string>; annotations?: Record<string, string> };
function withPodAnnotations(metadata: TemplateMetadata, v: PodValues): TemplateMetadata {
  return nonEmpty(v.podAnnotations) ? { ...metadata, annotations: { ...metadata.annotations, ...v.podAnnotations } } : metadata;
}

/**
 * The platform for `values` in `namespace`: manifests/platform minus the Namespace object when
 * `includeNamespace` is false (Helm's --create-namespace owns it), with the ServiceMonitor when
 * enabled and the cluster serves its CRD.
 */
export function renderPlatform(
  values: PlatformValues,
  options: { namespace: string; capabilities: Capabilities; includeNamespace: boolean },
): K8sObject[] {
  const { namespace } = options;
  const env: Record<string, string> = {
    KRUNTIMES_RUNTIMED_IMAGE: values.runtimed.image,
    KRT_LOG_LEVEL: values.logLevel,
    KRT_LEASE_DURATION_SECONDS: String(values.leaderElection.leaseDurationSeconds),
    KRT_LEASE_RENEW_SECONDS: String(values.leaderElection.renewSeconds),
    // Helm's toJson: keys sorted, no spaces.
    [MAINTAINER_POD_ENV]: canonicalJson(values.maintainer),
  };
  const objects: K8sObject[] = [];
  for (const manifest of platformManifests()) {
    const o = structuredClone(manifest);
    if (o.kind === 'Namespace') {
      if (!options.includeNamespace) continue;
      o.metadata.name = namespace;
    }
    if (o.metadata.namespace) o.metadata.namespace = namespace;
    if (Array.isArray(o.subjects)) {
      for (const s of o.subjects as Array<{ namespace?: string }>) if (s.namespace) s.namespace = namespace;
    }
    if (o.kind === 'Deployment') {
      const component = o.metadata.labels?.['app.kubernetes.io/component'] as 'scheduler' | 'controller';
      const c = values[component];
      const spec = o.spec as { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
      spec.replicas = c.replicas;
      const container = spec.template.spec.containers[0];
      container.image = c.image;
      container.imagePullPolicy = values.imagePullPolicy;
      for (const e of container.env ?? []) if (e.name in env) e.value = env[e.name];
      if (nonEmpty(c.resources)) {
        // The chart puts resources right before securityContext; key order does not matter to the API.
        container.resources = c.resources;
      }
      spec.template.metadata = withPodAnnotations(spec.template.metadata, values);
      spec.template.spec = withPodValues(spec.template.spec, values);
    }
    objects.push(o);
  }
  if (values.metrics.serviceMonitor.enabled && options.capabilities.serviceMonitor) {
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'kruntimes', namespace, labels: { 'app.kubernetes.io/name': 'kruntimes' } },
      spec: {
        selector: {
          matchExpressions: [
            { key: 'app.kubernetes.io/name', operator: 'In', values: ['kruntimes'] },
            { key: 'app.kubernetes.io/component', operator: 'In', values: ['scheduler', 'controller'] },
          ],
        },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: values.metrics.serviceMonitor.interval }],
      },
    });
  }
  return objects;
}

/** The built-in Runtime Servers' writable /tmp. */
const TMP_VOLUME = 'tmp';

/** The port every Runtime Server listens on (proto/runtime/v1: runtimed dials it). */
const RUNTIME_SERVER_PORT = 19091;

/** The built-in Runtimes for `values` in `namespace`, as charts/kruntimes-runtimes renders them. */
export function renderRuntimes(values: RuntimesValues, namespace: string): K8sObject[] {
  return BUILTIN_RUNTIMES.filter((name) => values[name].enabled).map((name) => {
    const rt = values[name];
    const container: Container = {
      name: 'runtime',
      image: rt.image,
      imagePullPolicy: values.imagePullPolicy,
      ports: [{ containerPort: RUNTIME_SERVER_PORT }],
    };
    if (nonEmpty(rt.resources)) container.resources = rt.resources;
    // A read-only root filesystem: the server and its executions write /tmp and the workspace only.
    container.volumeMounts = [{ name: TMP_VOLUME, mountPath: '/tmp' }];
    const runtimed: Record<string, unknown> = {};
    if (nonEmpty(values.runtimed.resources)) runtimed.resources = values.runtimed.resources;
    if (nonEmpty(values.runtimed.securityContext)) runtimed.securityContext = values.runtimed.securityContext;
    return {
      apiVersion: API_VERSION,
      kind: 'Runtime',
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/name': 'kruntimes', 'app.kubernetes.io/component': 'runtime' },
      },
      spec: {
        replicas: rt.replicas,
        capacity: { resources: { runs: rt.capacity } },
        ...(nonEmpty(runtimed) ? { runtimed } : {}),
        template: {
          metadata: withPodAnnotations({ labels: { runtime: name } }, values),
          spec: withPodValues({ containers: [container], volumes: [{ name: TMP_VOLUME, emptyDir: {} }] }, values),
        },
      },
    };
  });
}
