// Which kruntimes version runs in the cluster (the tag of the operator Deployments' image) and
// whether it is far enough from the plugin's to warn about.

export const PLATFORM_NAMESPACE = 'kruntimes-system';
export const OPERATOR_DEPLOYMENTS = ['kruntimes-scheduler', 'kruntimes-controller'] as const;
/** The ValidatingAdmissionPolicy (and its binding, same name) that confines Runtime Pods (manifests/platform/40-admission.yaml). */
export const ADMISSION_POLICY = 'kruntimes-runtimed-own-runs';

/** `registry:5000/x/kruntimes-operator:0.1.0` → `0.1.0`; undefined for an untagged or digest-only image. */
export function imageVersion(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  if (colon < 0) return undefined;
  return last.slice(colon + 1).replace(/^v(?=\d)/, '');
}

function majorMinor(version: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** A warning when client and platform differ in major or minor version; undefined when compatible or unknown. */
export function versionSkew(client: string, platform: string): string | undefined {
  const c = majorMinor(client);
  const p = majorMinor(platform);
  if (!c || !p || (c[0] === p[0] && c[1] === p[1])) return undefined;
  const older = c[0] < p[0] || (c[0] === p[0] && c[1] < p[1]) ? 'plugin' : 'platform';
  return `the plugin (${client}) and the platform (${platform}) differ in minor version; the ${older} is older: ${
    older === 'plugin'
      ? 'upgrade the plugin (kubectl krew upgrade krt)'
      : 'upgrade the platform (kubectl krt upgrade)'
  }`;
}
