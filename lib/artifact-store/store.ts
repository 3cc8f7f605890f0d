// The artifact store contract runtimed (upload, download) and the runtime maintainer (cleanup)
// share, with the key layout and the typed errors both report.
import type { Readable } from 'node:stream';

export interface StoredObject {
  body: Readable;
  size: number;
}

export interface ArtifactStore {
  /** Names the store in messages: `s3://bucket/prefix` or `pvc/<claim>/<subPath>`. */
  readonly description: string;
  /** Stores the local file at `key`; a partial upload leaves nothing behind. */
  put(key: string, file: string, options: { size: number; contentType: string }): Promise<void>;
  get(key: string): Promise<StoredObject>;
  /** Deletes the keys; a key already gone is fine. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object below `prefix` (a "directory" ending in '/'); returns how many went. */
  deletePrefix(prefix: string): Promise<number>;
}

/** Why a store operation failed, in the terms a user can act on. */
export const StoreErrorCode = {
  Unreachable: 'Unreachable',
  AccessDenied: 'AccessDenied',
  NoSuchBucket: 'NoSuchBucket',
  NotFound: 'NotFound',
  NotMounted: 'NotMounted',
  Failed: 'Failed',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class ArtifactStoreError extends Error {
  override readonly name = 'ArtifactStoreError';
  readonly code: StoreErrorCode;
  constructor(options: { code: StoreErrorCode; message: string; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
  }
}

/** The directory of one Run's artifacts: `[prefix/]namespaces/<ns>/runs/<uid>/`. */
export function runPrefix(options: { prefix?: string; namespace: string; uid: string }): string {
  const base = `namespaces/${options.namespace}/runs/${options.uid}/`;
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  return prefix ? `${prefix}/${base}` : base;
}

export function artifactKey(options: { prefix?: string; namespace: string; uid: string; name: string }): string {
  return runPrefix(options) + options.name;
}
