// The securityContexts kruntimes gives the pods it renders, so that each passes the Pod Security
// Standard `restricted` profile, and the identities they run as. Shared by the Runtime controller
// (Runtime Pods, the maintainer) and the CLI's install (the platform Deployments, the built-in
// Runtimes), so the charts, the install flags and the operator agree on one set of numbers.
//
// Identities: the images' USER is 1000:1000 (the base image's "node"); runtimed runs as
// RUNTIMED_UID instead, so that the workload (the Runtime Server's uid) cannot read runtimed's
// files (Run logs, artifact staging, its token). The two share the workspace volume through the
// pod's fsGroup (WORKSPACE_GID): the kubelet makes the volume group-owned and setgid, so whatever
// either side creates there belongs to that group, and both create with group write permission
// (runtimed's umask 007, the Runtime Server's 002).

/** runtimed's uid and gid: fixed, non-root, not the workload's. It need not exist in the image. */
export const RUNTIMED_UID = 65532;
/** The uid and gid of the images' USER (1000:1000): the platform, the maintainer, the built-in Runtime Servers. */
export const IMAGE_UID = 1000;
/** The pod fsGroup of Runtime Pods: the group the workspace volume is shared through. */
export const WORKSPACE_GID = IMAGE_UID;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- securityContexts are open-ended Kubernetes objects
export type SecurityContext = Record<string, any>;

/** Pod-level: a numeric non-root user (runAsNonRoot can only verify a number) and the runtime's seccomp profile. */
export function restrictedPodSecurityContext(uid: number = IMAGE_UID): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level: no privilege escalation, no capabilities, a read-only root filesystem. */
export function restrictedContainerSecurityContext(): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
  };
}

/** runtimed's container securityContext: restricted on its own, whatever the pod sets. */
export function runtimedSecurityContext(): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUNTIMED_UID,
    runAsGroup: RUNTIMED_UID,
    ...restrictedContainerSecurityContext(),
  };
}

/**
 * The pod securityContext defaults of every Runtime Pod: the seccomp profile and the group the
 * workspace is shared through. Not runAsNonRoot: a custom Runtime Server image may need root, and
 * that is its author's choice (the built-in Runtimes set it in their template).
 */
export function runtimePodSecurityContext(): SecurityContext {
  return {
    seccompProfile: { type: 'RuntimeDefault' },
    fsGroup: WORKSPACE_GID,
    // Chown a volume only when its root does not already carry the group: cheap on restarts.
    fsGroupChangePolicy: 'OnRootMismatch',
  };
}

function isMap(v: unknown): v is SecurityContext {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `ours` are defaults, `theirs` (the user's) wins: maps merge key by key, anything else (lists
 * included) is replaced, and null removes one of our keys.
 */
export function mergeSecurityContext(ours: SecurityContext, theirs: unknown): SecurityContext {
  if (!isMap(theirs)) return ours;
  const out: SecurityContext = { ...ours };
  for (const [k, v] of Object.entries(theirs)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeSecurityContext(out[k], v);
    else out[k] = v;
  }
  return out;
}

/**
 * What a chart user sets for the pods of a component (the platform chart's `maintainer` values):
 * placement, resources, pull secrets and securityContexts merged over ours.
 */
export interface PodSettings {
  resources: Record<string, unknown>;
  podSecurityContext: SecurityContext;
  securityContext: SecurityContext;
  nodeSelector: Record<string, string>;
  tolerations: Array<Record<string, unknown>>;
  affinity: Record<string, unknown>;
  priorityClassName: string;
  podAnnotations: Record<string, string>;
  imagePullSecrets: Array<{ name: string }>;
}

export function emptyPodSettings(): PodSettings {
  return {
    resources: {},
    podSecurityContext: {},
    securityContext: {},
    nodeSelector: {},
    tolerations: [],
    affinity: {},
    priorityClassName: '',
    podAnnotations: {},
    imagePullSecrets: [],
  };
}

/** The controller's env var holding the maintainer's PodSettings as JSON (the chart's `maintainer` values). */
export const MAINTAINER_POD_ENV = 'KRT_MAINTAINER_POD';

/** JSON with map keys sorted, as Helm's toJson (Go's encoding/json) writes it. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isMap(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The env var's value into PodSettings; unset is all defaults, anything malformed an error naming the key. */
export function parsePodSettings(text: string | undefined, what: string): PodSettings {
  const settings = emptyPodSettings();
  if (text === undefined || text.trim() === '') return settings;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isMap(doc)) throw new Error(`${what}: expected a JSON object`);
  for (const [k, v] of Object.entries(doc)) {
    if (!(k in settings)) throw new Error(`${what}: unknown key ${k}; known keys: ${Object.keys(settings).join(', ')}`);
    if (v === null) continue;
    const want = (settings as unknown as Record<string, unknown>)[k];
    const ok = Array.isArray(want) ? Array.isArray(v) : typeof want === 'string' ? typeof v === 'string' : isMap(v);
    if (!ok) throw new Error(`${what}: ${k}: expected ${Array.isArray(want) ? 'a list' : typeof want === 'string' ? 'a string' : 'a map'}`);
    (settings as unknown as Record<string, unknown>)[k] = v;
  }
  return settings;
}

/**
 * runtimed's own volume (an emptyDir mounted into runtimed only, never the runtime container): Run
 * logs and artifact staging live there, out of the workload's reach; it outlives a runtimed restart.
 */
export const RUNTIMED_STATE_VOLUME = 'kruntimes-runtimed-state';
export const RUNTIMED_STATE_MOUNT = '/var/lib/runtimed';
/** runtimed's env var naming that directory (unset: <workspace>/.krt-runtimed, for runs outside a Runtime Pod). */
export const RUNTIMED_STATE_ENV = 'KRUNTIMED_STATE_DIR';
/** runtimed's writable /tmp (git's HOME, ssh's known_hosts) under a read-only root filesystem. */
export const RUNTIMED_TMP_VOLUME = 'kruntimes-runtimed-tmp';
