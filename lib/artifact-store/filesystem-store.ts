// Artifacts as files on a mounted PersistentVolume: <root>/<key>. Writes go to a temporary name
// and are renamed into place, so a reader never sees a partial artifact.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactStoreError, type ArtifactStore, StoreErrorCode, type StoredObject } from './store.ts';

export interface FilesystemStoreOptions {
  /** The directory artifacts live under: the volume's mount path joined with subPath. */
  root: string;
  /** Names the store in messages. */
  description: string;
}

export class FilesystemStore implements ArtifactStore {
  readonly description: string;
  private readonly root: string;

  constructor(options: FilesystemStoreOptions) {
    this.root = path.resolve(options.root);
    this.description = options.description;
  }

  async put(key: string, file: string, _options?: { size: number; contentType: string }): Promise<void> {
    const target = this.pathOf(key);
    await this.checkMounted();
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.partial-${randomBytes(4).toString('hex')}`;
    try {
      await copyFile(file, tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.wrap(err, `writing ${key}`);
    }
  }

  async get(key: string): Promise<StoredObject> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new ArtifactStoreError({ code: StoreErrorCode.NotFound, message: `${key} not found` });
      return { body: createReadStream(file), size: st.size };
    } catch (err) {
      throw this.wrap(err, `reading ${key}`);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.checkMounted();
    for (const key of keys) await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    await this.checkMounted();
    const dir = this.pathOf(prefix);
    let count = 0;
    try {
      count = (await readdir(dir, { recursive: true })).length;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw this.wrap(err, `listing ${prefix}`);
    }
    await rm(dir, { recursive: true, force: true });
    return count;
  }

  /** A key is a relative path; anything resolving outside the root is a bug we refuse loudly. */
  private pathOf(key: string): string {
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + path.sep))
      throw new ArtifactStoreError({ code: StoreErrorCode.Failed, message: `key ${key} escapes the store` });
    return p;
  }

  /** The store's directory below the mount (subPath) is created on first use. */
  private async checkMounted(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
    } catch (err) {
      throw this.wrap(err, `preparing ${this.description}`);
    }
  }

  private wrap(err: unknown, what: string): ArtifactStoreError {
    if (err instanceof ArtifactStoreError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    return new ArtifactStoreError({
      code: code === 'ENOENT' ? StoreErrorCode.NotFound : code === 'EACCES' ? StoreErrorCode.AccessDenied : StoreErrorCode.Failed,
      message: `${what} in ${this.description}: ${(err as Error).message}`,
      cause: err,
    });
  }
}
