// The maintainer pod's restricted securityContext and the chart user's settings for it (the
// platform chart's `maintainer` values, passed to the controller as KRT_MAINTAINER_POD): applied
// to the Deployment render-maintainer.ts renders, ours as defaults, the user's values over them.
import {
  emptyPodSettings,
  IMAGE_UID,
  mergeSecurityContext,
  type PodSettings,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  WORKSPACE_GID,
} from '../../lib/pod-security.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are open-ended objects
type Obj = Record<string, any>;

const nonEmpty = (v: object) => (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

/** The maintainer's pod securityContext defaults: restricted, and the fsGroup runtimed writes the artifact volume with. */
export function maintainerPodSecurityContext(): Obj {
  return { ...restrictedPodSecurityContext(IMAGE_UID), fsGroup: WORKSPACE_GID, fsGroupChangePolicy: 'OnRootMismatch' };
}

/** `deployment` (the maintainer's) with securityContexts and the settings applied; a new object. */
export function withMaintainerPod(deployment: Obj, settings: PodSettings = emptyPodSettings()): Obj {
  const d = structuredClone(deployment);
  const template = d.spec.template;
  const pod = template.spec;
  if (nonEmpty(settings.podAnnotations)) {
    template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...settings.podAnnotations } };
  }
  pod.securityContext = mergeSecurityContext(maintainerPodSecurityContext(), settings.podSecurityContext);
  if (nonEmpty(settings.nodeSelector)) pod.nodeSelector = settings.nodeSelector;
  if (nonEmpty(settings.tolerations)) pod.tolerations = settings.tolerations;
  if (nonEmpty(settings.affinity)) pod.affinity = settings.affinity;
  if (settings.priorityClassName) pod.priorityClassName = settings.priorityClassName;
  if (nonEmpty(settings.imagePullSecrets)) pod.imagePullSecrets = settings.imagePullSecrets;
  for (const c of pod.containers as Obj[]) {
    c.securityContext = mergeSecurityContext(restrictedContainerSecurityContext(), settings.securityContext);
    if (nonEmpty(settings.resources)) c.resources = settings.resources;
  }
  return d;
}
