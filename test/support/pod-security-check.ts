// What the Pod Security Standard "restricted" profile (and so the apiserver's PodSecurity admission
// at enforce: restricted) refuses in a pod spec, as a list of problems: the unit tests check every
// pod template kruntimes renders with it, the e2e suite proves the same against the real admission.
// Checks the profile's controls as of Kubernetes 1.30 (baseline ones included).

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pod specs are open-ended objects
type Obj = Record<string, any>;

const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** The reasons `spec` (a PodSpec) violates "restricted"; empty when it passes. */
export function restrictedViolations(spec: Obj): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[k]) problems.push(`${k}=true`);
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) problems.push(`volume ${v.name} of type ${type}`);
  }
  if (pod.runAsUser === 0) problems.push('pod runAsUser=0');
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && !['RuntimeDefault', 'Localhost'].includes(podSeccomp)) problems.push(`pod seccompProfile ${podSeccomp}`);
  const containers: Obj[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation != false`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${where}: capabilities.drop lacks ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') problems.push(`${where}: adds capability ${cap}`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) problems.push(`${where}: runAsNonRoot != true`);
    if (sc.runAsUser === 0) problems.push(`${where}: runAsUser=0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${where}: seccompProfile ${seccomp ?? 'unset'}`);
    for (const p of c.ports ?? []) if (p.hostPort) problems.push(`${where}: hostPort ${p.hostPort}`);
    if (sc.procMount && sc.procMount !== 'Default') problems.push(`${where}: procMount ${sc.procMount}`);
  }
  return problems;
}
