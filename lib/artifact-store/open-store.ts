// Opens the store a Runtime (or a Run's status.artifactStore snapshot) names, with what the pod
// was given: the PVC mounted at ARTIFACT_MOUNT and the S3 credentials as env from the Secret.
// The Runtime controller sets the same env on runtimed and on the runtime maintainer. The
// maintainer also gets the stores of earlier configurations that Runs still name in their
// snapshots: their PVCs and every credentials Secret, mounted as volumes and listed in
// KRUNTIME_MAINTAINER_MOUNTS, so a Run's artifacts are deleted where and as they were stored.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStoreSpec } from '../api.ts';
import { FilesystemStore } from './filesystem-store.ts';
import { S3Store } from './s3-store.ts';
import { ArtifactStoreError, type ArtifactStore, StoreErrorCode } from './store.ts';

/** Where the filesystem store's PVC is mounted in runtimed and the maintainer. */
export const ARTIFACT_MOUNT = '/var/run/kruntimes/artifacts';
/** Where the maintainer mounts the PVCs of earlier stores, one directory per claim. */
export const RETAINED_CLAIMS_MOUNT = '/var/run/kruntimes/artifact-claims';
/** Where the maintainer mounts credentials Secrets (optional volumes), one directory per Secret. */
export const CREDENTIALS_MOUNT = '/var/run/kruntimes/store-credentials';

export const StoreEnv = {
  /** JSON of the Runtime's spec.artifactStore (no secrets in it). */
  Spec: 'KRUNTIME_ARTIFACT_STORE',
  /** Overrides ARTIFACT_MOUNT (tests). */
  Mount: 'KRUNTIME_ARTIFACT_MOUNT',
  AccessKeyId: 'AWS_ACCESS_KEY_ID',
  SecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  SessionToken: 'AWS_SESSION_TOKEN',
  /** The maintainer's extra mounts (JSON of MaintainerMounts). */
  Mounts: 'KRUNTIME_MAINTAINER_MOUNTS',
} as const;

/** What the maintainer has mounted besides its Runtime's PVC: claim and Secret name → directory. */
export interface MaintainerMounts {
  claims: Record<string, string>;
  secrets: Record<string, string>;
}

export interface StoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StoreEnvironment {
  /** The store this pod was configured with (its PVC is the one mounted). */
  configured?: ArtifactStoreSpec;
  mount: string;
  credentials?: StoreCredentials;
  /** The maintainer's PVCs of earlier stores and credentials Secrets. */
  mounts?: MaintainerMounts;
}

export function storeEnvironment(env: NodeJS.ProcessEnv = process.env): StoreEnvironment {
  const raw = env[StoreEnv.Spec];
  let configured: ArtifactStoreSpec | undefined;
  if (raw) {
    try {
      configured = JSON.parse(raw) as ArtifactStoreSpec;
    } catch {
      throw new Error(`${StoreEnv.Spec} is not valid JSON`);
    }
  }
  const id = env[StoreEnv.AccessKeyId];
  const secret = env[StoreEnv.SecretAccessKey];
  let mounts: MaintainerMounts | undefined;
  const rawMounts = env[StoreEnv.Mounts];
  if (rawMounts) {
    try {
      mounts = JSON.parse(rawMounts) as MaintainerMounts;
    } catch {
      throw new Error(`${StoreEnv.Mounts} is not valid JSON`);
    }
  }
  return {
    configured,
    mount: env[StoreEnv.Mount] || ARTIFACT_MOUNT,
    mounts,
    credentials:
      id && secret
        ? { accessKeyId: id, secretAccessKey: secret, sessionToken: env[StoreEnv.SessionToken] || undefined }
        : undefined,
  };
}

/** Where this pod has the PVC `claimName` mounted, if it has. */
export function claimMount(claimName: string, env: StoreEnvironment): string | undefined {
  if (env.configured?.filesystem?.claimName === claimName) return env.mount;
  return env.mounts?.claims[claimName];
}

/**
 * The store for `spec`; a filesystem store must be a PVC this pod has mounted. `credentials`
 * replace the pod's own (the maintainer passes those of the Secret a Run's snapshot names).
 */
export function openStore(spec: ArtifactStoreSpec, env: StoreEnvironment, credentials?: StoreCredentials): ArtifactStore {
  if (spec.filesystem) {
    const { claimName, subPath } = spec.filesystem;
    const root = claimMount(claimName, env);
    if (!root) {
      const mounted = env.configured?.filesystem?.claimName;
      throw new ArtifactStoreError({
        code: StoreErrorCode.NotMounted,
        message: `PersistentVolumeClaim ${claimName} is not mounted here${mounted ? ` (${mounted} is)` : ''}`,
      });
    }
    return new FilesystemStore({
      root: path.join(root, subPath ?? ''),
      description: `pvc/${claimName}${subPath ? `/${subPath}` : ''}`,
    });
  }
  if (spec.s3) {
    const { bucket, endpoint, region, forcePathStyle } = spec.s3;
    return new S3Store({ bucket, endpoint, region, forcePathStyle, credentials: credentials ?? env.credentials });
  }
  throw new ArtifactStoreError({ code: StoreErrorCode.Failed, message: 'the artifact store sets neither filesystem nor s3' });
}

/** The snapshot recorded in a Run's status.artifactStore: the spec without anything secret. */
export function storeSnapshot(spec: ArtifactStoreSpec): ArtifactStoreSpec {
  // The spec names the credentials Secret and never holds a secret value, so it is kept as is.
  return structuredClone(spec);
}

/**
 * The credentials in a mounted Secret's directory, or undefined when the Secret is not there (an
 * optional Secret volume of a Secret that does not exist is an empty directory).
 */
export function readCredentials(dir: string): StoreCredentials | undefined {
  const read = (key: string) => {
    try {
      return readFileSync(path.join(dir, key), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const accessKeyId = read(StoreEnv.AccessKeyId);
  const secretAccessKey = read(StoreEnv.SecretAccessKey);
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: read(StoreEnv.SessionToken) };
}
