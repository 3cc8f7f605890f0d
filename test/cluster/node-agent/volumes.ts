// Pod volumes as host directories under pods/<uid>/volumes/<name>; containers get them
// bind-mounted at their mountPaths. Supported: emptyDir, hostPath, configMap, secret,
// downwardAPI, projected (serviceAccountToken, configMap, secret, downwardAPI) and
// persistentVolumeClaim bound to a hostPath/local PersistentVolume. Content is
// written once at pod start (no live updates of ConfigMap/Secret changes); service-account
// tokens are refreshed at 80 % of their lifetime, as the kubelet does.
import fs from 'node:fs';
import path from 'node:path';
import type {
  CoreV1Api,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1ServiceAccountTokenProjection,
  V1Volume,
} from '@kubernetes/client-node';
import { errorText, log } from './agent-log.ts';
import type { ObjectData } from './api-objects.ts';
import { readConfigMap, readSecret } from './api-objects.ts';
import type { NodeAllocatable, PodAddresses } from './downward-api.ts';
import { fieldRefValue, resourceFieldValue } from './downward-api.ts';
import type { PodDirs } from './pod-dirs.ts';

export interface VolumeContext {
  core: CoreV1Api;
  pod: V1Pod;
  dirs: PodDirs;
  addr: PodAddresses;
  allocatable: NodeAllocatable;
}

export interface PodVolume {
  hostPath: string;
  /** Volumes the kubelet always mounts read-only (configMap, secret, downwardAPI, projected). */
  readOnly: boolean;
}

/** A volume that cannot be set up (yet): the pod waits in ContainerCreating with this message. */
export class VolumeError extends Error {}

interface FileToWrite {
  path: string;
  data: Buffer;
  mode?: number;
}

const DEFAULT_MODE = 0o644;
const TOKEN_REFRESH_FRACTION = 0.8;

/** Writes files below dir, refusing paths that would escape it. Atomic per file (write + rename). */
function writeFiles(dir: string, files: FileToWrite[], defaultMode: number | undefined): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) {
    if (path.isAbsolute(f.path) || f.path.split('/').includes('..')) {
      throw new VolumeError(`invalid volume file path ${JSON.stringify(f.path)}`);
    }
    const target = path.join(dir, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.krt-tmp`;
    fs.writeFileSync(tmp, f.data, { mode: f.mode ?? defaultMode ?? DEFAULT_MODE });
    fs.chmodSync(tmp, f.mode ?? defaultMode ?? DEFAULT_MODE);
    fs.renameSync(tmp, target);
  }
}

function keyFiles(
  data: ObjectData | undefined,
  items: V1KeyToPath[] | undefined,
  kind: string,
  name: string,
  optional: boolean | undefined,
): FileToWrite[] {
  if (!data) {
    if (optional) return [];
    throw new VolumeError(`${kind} "${name}" not found`);
  }
  if (!items || items.length === 0) return [...data].map(([k, v]) => ({ path: k, data: v }));
  const out: FileToWrite[] = [];
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(
        `${kind} "${name}" references non-existent ${kind === 'configmap' ? 'config' : 'secret'} key: ${item.key}`,
      );
    }
    out.push({ path: item.path, data: v, mode: item.mode });
  }
  return out;
}

function downwardFiles(ctx: VolumeContext, items: V1DownwardAPIVolumeFile[] | undefined): FileToWrite[] {
  return (items ?? []).map((item) => {
    let value: string;
    if (item.fieldRef) value = fieldRefValue(ctx.pod, item.fieldRef.fieldPath, ctx.addr, true);
    else if (item.resourceFieldRef) {
      const ref = item.resourceFieldRef;
      const c = [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find(
        (x) => x.name === ref.containerName,
      );
      if (!c) throw new VolumeError(`downwardAPI: container "${ref.containerName}" not found`);
      value = resourceFieldValue(c, ref.resource, ref.divisor, ctx.allocatable);
    } else value = '';
    return { path: item.path, data: Buffer.from(value), mode: item.mode };
  });
}

/** Materialises all pod volumes. The returned handle stops token refreshes. */
export class PodVolumes {
  readonly volumes = new Map<string, PodVolume>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  static async create(ctx: VolumeContext): Promise<PodVolumes> {
    const v = new PodVolumes();
    try {
      for (const vol of ctx.pod.spec?.volumes ?? []) v.volumes.set(vol.name, await v.materialize(ctx, vol));
    } catch (err) {
      v.stop();
      throw err;
    }
    return v;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async materialize(ctx: VolumeContext, vol: V1Volume): Promise<PodVolume> {
    const dir = ctx.dirs.volume(vol.name);
    const ns = ctx.pod.metadata?.namespace ?? 'default';
    if (vol.emptyDir) {
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o777);
      return { hostPath: dir, readOnly: false };
    }
    if (vol.hostPath)
      return { hostPath: prepareHostPath(vol.hostPath.path, vol.hostPath.type), readOnly: false };
    if (vol.configMap) {
      const { name = '', items, optional, defaultMode } = vol.configMap;
      writeFiles(
        dir,
        keyFiles(await readConfigMap(ctx.core, ns, name), items, 'configmap', name, optional),
        defaultMode,
      );
      return { hostPath: dir, readOnly: true };
    }
    if (vol.secret) {
      const { secretName = '', items, optional, defaultMode } = vol.secret;
      writeFiles(
        dir,
        keyFiles(await readSecret(ctx.core, ns, secretName), items, 'secret', secretName, optional),
        defaultMode,
      );
      return { hostPath: dir, readOnly: true };
    }
    if (vol.downwardAPI) {
      writeFiles(dir, downwardFiles(ctx, vol.downwardAPI.items), vol.downwardAPI.defaultMode);
      return { hostPath: dir, readOnly: true };
    }
    if (vol.projected) {
      const defaultMode = vol.projected.defaultMode;
      fs.mkdirSync(dir, { recursive: true });
      for (const src of vol.projected.sources ?? []) {
        if (src.serviceAccountToken) await this.projectToken(ctx, dir, src.serviceAccountToken, defaultMode);
        else if (src.configMap) {
          const { name = '', items, optional } = src.configMap;
          writeFiles(
            dir,
            keyFiles(await readConfigMap(ctx.core, ns, name), items, 'configmap', name, optional),
            defaultMode,
          );
        } else if (src.secret) {
          const { name = '', items, optional } = src.secret;
          writeFiles(
            dir,
            keyFiles(await readSecret(ctx.core, ns, name), items, 'secret', name, optional),
            defaultMode,
          );
        } else if (src.downwardAPI) writeFiles(dir, downwardFiles(ctx, src.downwardAPI.items), defaultMode);
        else
          throw new VolumeError(
            `projected volume "${vol.name}": only serviceAccountToken, configMap, secret and downwardAPI sources are supported on this node`,
          );
      }
      return { hostPath: dir, readOnly: true };
    }
    if (vol.persistentVolumeClaim) {
      const { claimName, readOnly } = vol.persistentVolumeClaim;
      return { hostPath: await claimPath(ctx, ns, claimName), readOnly: !!readOnly };
    }
    const kind = Object.keys(vol).find((k) => k !== 'name') ?? 'unknown';
    throw new VolumeError(
      `volume "${vol.name}": ${kind} volumes are not supported by the kruntimes local node`,
    );
  }

  /** TokenRequest bound to the pod, written to the volume and refreshed before it expires. */
  private async projectToken(
    ctx: VolumeContext,
    dir: string,
    proj: V1ServiceAccountTokenProjection,
    defaultMode: number | undefined,
  ): Promise<void> {
    const pod = ctx.pod;
    const sa = pod.spec?.serviceAccountName || 'default';
    const ns = pod.metadata?.namespace ?? 'default';
    const tr = await ctx.core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: ns,
      body: {
        spec: {
          audiences: proj.audience ? [proj.audience] : [],
          expirationSeconds: proj.expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    });
    const token = tr.status?.token;
    if (!token) throw new VolumeError(`TokenRequest for service account ${ns}/${sa} returned no token`);
    writeFiles(dir, [{ path: proj.path, data: Buffer.from(token) }], defaultMode ?? DEFAULT_MODE);
    const expires = tr.status?.expirationTimestamp
      ? new Date(tr.status.expirationTimestamp).getTime()
      : Date.now() + 3600_000;
    const refreshIn = Math.max(10_000, (expires - Date.now()) * TOKEN_REFRESH_FRACTION);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      this.projectToken(ctx, dir, proj, defaultMode).catch((err) =>
        log('token.refresh.error', { pod: `${ns}/${pod.metadata?.name}`, error: errorText(err) }),
      );
    }, refreshIn);
    timer.unref();
    this.timers.add(timer);
  }
}

function prepareHostPath(p: string, type: string | undefined): string {
  const exists = fs.existsSync(p);
  switch (type ?? '') {
    case 'DirectoryOrCreate':
      fs.mkdirSync(p, { recursive: true });
      break;
    case 'FileOrCreate':
      if (!exists) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, '');
      }
      break;
    case 'Directory':
      if (!exists || !fs.statSync(p).isDirectory())
        throw new VolumeError(`hostPath type check failed: ${p} is not a directory`);
      break;
    case 'File':
      if (!exists || !fs.statSync(p).isFile())
        throw new VolumeError(`hostPath type check failed: ${p} is not a file`);
      break;
    case 'Socket':
    case 'CharDevice':
    case 'BlockDevice':
      if (!exists) throw new VolumeError(`hostPath type check failed: ${p} does not exist`);
      break;
  }
  return p;
}

/**
 * A claim bound to a hostPath or local PersistentVolume is that directory. There is no
 * provisioner on this node: claims must be bound to such volumes created beforehand.
 */
async function claimPath(ctx: VolumeContext, namespace: string, claimName: string): Promise<string> {
  let pvc: Awaited<ReturnType<CoreV1Api['readNamespacedPersistentVolumeClaim']>>;
  try {
    pvc = await ctx.core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace });
  } catch (err) {
    throw new VolumeError(`persistentvolumeclaim "${claimName}" not found: ${errorText(err)}`);
  }
  const pvName = pvc.spec?.volumeName;
  if (!pvName || pvc.status?.phase !== 'Bound')
    throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = await ctx.core.readPersistentVolume({ name: pvName });
  if (pv.spec?.hostPath)
    return prepareHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type ?? 'DirectoryOrCreate');
  if (pv.spec?.local) return prepareHostPath(pv.spec.local.path, 'Directory');
  throw new VolumeError(
    `persistentvolume "${pvName}": only hostPath and local volumes are supported by the kruntimes local node`,
  );
}
