// Artifacts in an S3-compatible bucket through @aws-sdk/client-s3; files larger than one part go
// up as a multipart upload (@aws-sdk/lib-storage), which is aborted on failure so no parts linger.
// The SDK is imported on the first request, not with this module: it is tens of MB of an idle
// runtimed's (and the operator's) memory, which a Runtime that stores no artifacts in S3 never needs.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ArtifactStoreError, type ArtifactStore, StoreErrorCode, type StoredObject } from './store.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (env, web identity, instance metadata). */
  credentials?: S3Credentials;
  /** Multipart part size; S3's minimum is 5 MiB. */
  partSize?: number;
  /** Bound on one request, so a store that went away fails an upload instead of hanging it. */
  requestTimeoutMs?: number;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * A CommonJS package's exports from a dynamic import, as Node gives them (named) and as an
 * esbuild ESM bundle gives them (only `default`, the module.exports object: release/bundle.ts keeps
 * the SDK in lazily loaded chunks).
 */
export function namedExports<M extends object>(mod: M): M {
  const fallback = (mod as { default?: unknown }).default;
  return Object.keys(mod).length === 1 && fallback && typeof fallback === 'object' ? (fallback as M) : mod;
}

export class S3Store implements ArtifactStore {
  readonly description: string;
  private readonly o: S3StoreOptions;
  private sdk?: Promise<{ s3: typeof S3Sdk; client: S3Client }>;

  constructor(options: S3StoreOptions) {
    this.o = options;
    this.description = `s3://${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
  }

  /** The SDK and this store's one client, loaded and made on first use. */
  private connect(): Promise<{ s3: typeof S3Sdk; client: S3Client }> {
    const o = this.o;
    this.sdk ??= import('@aws-sdk/client-s3').then(namedExports).then((s3) => ({
      s3,
      client: new s3.S3Client({
        region: o.region || 'us-east-1',
        endpoint: o.endpoint || undefined,
        forcePathStyle: o.forcePathStyle ?? false,
        credentials: o.credentials,
        maxAttempts: 2,
        // Self-hosted S3 servers differ in the newer default checksums; send them only when required.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: 5000, requestTimeout: o.requestTimeoutMs ?? 60_000 },
      }),
    }));
    return this.sdk;
  }

  async put(key: string, file: string, options: { size: number; contentType: string }): Promise<void> {
    try {
      const [{ client }, { Upload }] = await Promise.all([this.connect(), import('@aws-sdk/lib-storage').then(namedExports)]);
      const upload = new Upload({
        client,
        params: { Bucket: this.o.bucket, Key: key, Body: createReadStream(file), ContentType: options.contentType },
        partSize: this.o.partSize ?? DEFAULT_PART_SIZE,
        queueSize: 2,
        // Abort the multipart upload on failure: no orphaned parts in the bucket.
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.wrap(err, `uploading ${key}`);
    }
  }

  async get(key: string): Promise<StoredObject> {
    try {
      const { s3, client } = await this.connect();
      const out = await client.send(new s3.GetObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return { body: out.Body as Readable, size: Number(out.ContentLength ?? 0) };
    } catch (err) {
      throw this.wrap(err, `reading ${key}`);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DeleteObject per key: every S3-compatible server has it (DeleteObjects needs checksums).
    for (const key of keys) {
      try {
        const { s3, client } = await this.connect();
        await client.send(new s3.DeleteObjectCommand({ Bucket: this.o.bucket, Key: key }));
      } catch (err) {
        const e = this.wrap(err, `deleting ${key}`);
        if (e.code !== StoreErrorCode.NotFound) throw e;
      }
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const { s3, client } = await this.connect().catch((err: unknown) => {
      throw this.wrap(err, `listing ${prefix}`);
    });
    let count = 0;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new s3.ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.wrap(err, `listing ${prefix}`);
      }
      const keys = (page.Contents ?? []).map((c) => c.Key!).filter(Boolean);
      await this.delete(keys);
      count += keys.length;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // Multipart uploads cut off mid-way (the store went down) keep their parts until aborted.
    let uploads;
    try {
      uploads = await client.send(new s3.ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: prefix }));
    } catch (err) {
      throw this.wrap(err, `listing multipart uploads below ${prefix}`);
    }
    for (const u of uploads.Uploads ?? []) {
      try {
        await client.send(new s3.AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }));
        count++;
      } catch (err) {
        const e = this.wrap(err, `aborting the multipart upload of ${u.Key}`);
        if (e.code !== StoreErrorCode.NotFound) throw e;
      }
    }
    return count;
  }

  private wrap(err: unknown, what: string): ArtifactStoreError {
    const e = err as Partial<S3ServiceException> & { code?: string; message?: string };
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    let code: StoreErrorCode = StoreErrorCode.Failed;
    let why = e.message || name || String(err);
    if (name === 'NoSuchBucket') {
      code = StoreErrorCode.NoSuchBucket;
      why = `bucket ${this.o.bucket} does not exist`;
    } else if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) code = StoreErrorCode.NotFound;
    else if (
      ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden'].includes(name) ||
      status === 403
    ) {
      code = StoreErrorCode.AccessDenied;
      why = `access denied (${name || status}): check the credentials Secret`;
    } else if (
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(e.code ?? name) ||
      name === 'TimeoutError' ||
      /ECONNREFUSED|ECONNRESET|socket hang up|timed? ?out|EPIPE/i.test(why)
    ) {
      code = StoreErrorCode.Unreachable;
      why = `the store is unreachable: ${why}`;
    }
    return new ArtifactStoreError({ code, message: `${what} in ${this.description}: ${why}`, cause: err });
  }
}
