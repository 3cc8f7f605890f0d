// Opens the store a Runtime (or a Run's status.artifactStore snapshot) names, with what the pod
// was given: the PVC mounted at ARTIFACT_MOUNT and the S3 credentials as env from the Secret.
// The Runtime controller sets the same env on runtimed and on the runtime maintainer.
import path from 'node:path';
import type { ArtifactStoreSpec } from '../api.ts';
import { FilesystemStore } from './filesystem-store.ts';
import { S3Store } from './s3-store.ts';
import { ArtifactStoreError, type ArtifactStore, StoreErrorCode } from './store.ts';

/** Where the filesystem store's PVC is mounted in runtimed and the maintainer. */
export const ARTIFACT_MOUNT = '/var/run/kruntimes/artifacts';

export const StoreEnv = {
  /** JSON of the Runtime's spec.artifactStore (no secrets in it). */
  Spec: 'KRUNTIME_ARTIFACT_STORE',
  /** Overrides ARTIFACT_MOUNT (tests). */
  Mount: 'KRUNTIME_ARTIFACT_MOUNT',
  AccessKeyId: 'AWS_ACCESS_KEY_ID',
  SecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  SessionToken: 'AWS_SESSION_TOKEN',
} as const;

export interface StoreEnvironment {
  /** The store this pod was configured with (its PVC is the one mounted). */
  configured?: ArtifactStoreSpec;
  mount: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
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
  return {
    configured,
    mount: env[StoreEnv.Mount] || ARTIFACT_MOUNT,
    credentials:
      id && secret
        ? { accessKeyId: id, secretAccessKey: secret, sessionToken: env[StoreEnv.SessionToken] || undefined }
        : undefined,
  };
}

/** The store for `spec`; a filesystem store must be the PVC this pod has mounted. */
export function openStore(spec: ArtifactStoreSpec, env: StoreEnvironment): ArtifactStore {
  if (spec.filesystem) {
    const { claimName, subPath } = spec.filesystem;
    const mounted = env.configured?.filesystem?.claimName;
    if (mounted !== claimName)
      throw new ArtifactStoreError({
        code: StoreErrorCode.NotMounted,
        message: `PersistentVolumeClaim ${claimName} is not mounted here${mounted ? ` (${mounted} is)` : ''}`,
      });
    return new FilesystemStore({
      root: path.join(env.mount, subPath ?? ''),
      description: `pvc/${claimName}${subPath ? `/${subPath}` : ''}`,
    });
  }
  if (spec.s3) {
    const { bucket, endpoint, region, forcePathStyle } = spec.s3;
    return new S3Store({ bucket, endpoint, region, forcePathStyle, credentials: env.credentials });
  }
  throw new ArtifactStoreError({ code: StoreErrorCode.Failed, message: 'the artifact store sets neither filesystem nor s3' });
}

/** The snapshot recorded in a Run's status.artifactStore: the spec without anything secret. */
export function storeSnapshot(spec: ArtifactStoreSpec): ArtifactStoreSpec {
  // The spec names the credentials Secret and never holds a secret value, so it is kept as is.
  return structuredClone(spec);
}
