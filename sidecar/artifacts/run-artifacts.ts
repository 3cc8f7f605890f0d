// runtimed's artifact step, between the end of an execution and the terminal status write:
// collect $KRUNTIME_ARTIFACTS_DIR, add the cleanup finalizer to the Run, upload, and return the
// refs and store snapshot for status. A failed upload deletes what this attempt uploaded.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type ArtifactRef, type ArtifactStoreSpec, Finalizer, Reason, type Run, RunPhase } from '../../lib/api.ts';
import { storeSnapshot } from '../../lib/artifact-store/open-store.ts';
import { type ArtifactStore, ArtifactStoreError, artifactKey, StoreErrorCode } from '../../lib/artifact-store/store.ts';
import { isConflict, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { errorMessage, type Logger } from '../../lib/log.ts';
import type { Outcome } from '../../lib/run-status.ts';
import { ArtifactInvalidError, type CollectLimits, collectArtifacts } from './collect.ts';

const DEFINITIVE: ReadonlySet<string> = new Set([StoreErrorCode.AccessDenied, StoreErrorCode.NoSuchBucket]);

export interface RunArtifactsOptions {
  client: KubeClient;
  /** The Runtime's store; undefined when it has none. */
  store?: ArtifactStore;
  storeSpec?: ArtifactStoreSpec;
  log: Logger;
  limits?: CollectLimits;
  /**
   * Where the packed artifacts wait for upload, one directory per Run removed afterwards: runtimed's
   * own volume, which the workload cannot reach. Unset: next to the artifacts dir (tests).
   */
  stagingDir?: string;
}

export interface StoredArtifacts {
  /** The Run as last written (the finalizer patch moves its resourceVersion). */
  run: Run;
  outcome: Outcome;
  /** Extra fields for the terminal status. */
  status: { artifactRefs?: ArtifactRef[]; artifactStore?: ArtifactStoreSpec };
}

export class RunArtifacts {
  private readonly o: RunArtifactsOptions;

  constructor(options: RunArtifactsOptions) {
    this.o = options;
  }

  async store(run: Run, artifactsDir: string, outcome: Outcome): Promise<StoredArtifacts> {
    const staging = this.o.stagingDir;
    const scratchDir = staging ? path.join(staging, run.metadata.uid!) : path.join(path.dirname(artifactsDir), 'packed');
    try {
      return await this.collectAndStore(run, artifactsDir, outcome, scratchDir);
    } finally {
      if (staging) await rm(scratchDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async collectAndStore(run: Run, artifactsDir: string, outcome: Outcome, scratchDir: string): Promise<StoredArtifacts> {
    const ns = run.metadata.namespace!;
    const uid = run.metadata.uid!;
    let collected;
    try {
      collected = await collectArtifacts({
        dir: artifactsDir,
        scratchDir,
        limits: this.o.limits,
      });
    } catch (err) {
      const invalid = err instanceof ArtifactInvalidError;
      return {
        run,
        outcome: fail(outcome, invalid ? Reason.ArtifactInvalid : Reason.ArtifactUpload, invalid ? err.message : `collecting artifacts failed: ${errorMessage(err)}`),
        status: {},
      };
    }
    if (collected.length === 0) return { run, outcome, status: {} };
    if (!this.o.store || !this.o.storeSpec) {
      const note = `${collected.length} artifact(s) not stored: the Runtime has no spec.artifactStore`;
      return { run, outcome: { ...outcome, message: `${outcome.message}; ${note}` }, status: {} };
    }
    const snapshot = storeSnapshot(this.o.storeSpec);
    const prefix = snapshot.s3?.prefix;
    let current: Run;
    try {
      current = await this.addFinalizer(run);
    } catch (err) {
      return { run, outcome: fail(outcome, Reason.ArtifactUpload, `adding the artifact-cleanup finalizer failed: ${errorMessage(err)}`), status: {} };
    }
    const refs: ArtifactRef[] = [];
    try {
      for (const a of collected) {
        const key = artifactKey({ prefix, namespace: ns, uid, name: a.name });
        await this.o.store.put(key, a.file, { size: a.size, contentType: a.contentType });
        refs.push({ name: a.name, key, size: a.size, digest: a.digest, type: a.type, contentType: a.contentType });
      }
    } catch (err) {
      // This attempt's objects go again, so a failed Run holds no half set of artifacts. Only when
      // that fails too (the store went away) does the Run keep the store snapshot, so the
      // maintainer deletes the rest later; otherwise there is nothing left to clean up.
      // Refused credentials or a missing bucket wrote nothing; after any other failure (the store
      // went away mid-request) an object or multipart upload may exist that nobody acknowledged.
      let leftovers = !(err instanceof ArtifactStoreError && DEFINITIVE.has(err.code));
      await this.o.store.delete(refs.map((r) => r.key)).catch((e: unknown) => {
        leftovers = true;
        this.o.log.warn('removing the uploaded artifacts failed', { runUID: uid, error: errorMessage(e) });
      });
      this.o.log.warn('artifact upload failed', { runUID: uid, error: errorMessage(err) });
      return {
        run: current,
        outcome: fail(outcome, Reason.ArtifactUpload, `storing artifacts failed: ${errorMessage(err)}`),
        status: leftovers || refs.length > 0 ? { artifactStore: snapshot } : {},
      };
    }
    this.o.log.info('artifacts stored', { runUID: uid, count: refs.length, store: this.o.store.description });
    return { run: current, outcome, status: { artifactRefs: refs, artifactStore: snapshot } };
  }

  /** Before the first upload, so a deleted Run can never leave objects nobody cleans up. */
  private async addFinalizer(run: Run): Promise<Run> {
    let current = run;
    for (let attempt = 0; ; attempt++) {
      const finalizers = current.metadata.finalizers ?? [];
      if (finalizers.includes(Finalizer.ArtifactCleanup)) return current;
      try {
        return await this.o.client.mergePatch<Run>(Paths.run(run.metadata.namespace!, run.metadata.name!), {
          metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: [...finalizers, Finalizer.ArtifactCleanup] },
        });
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
        current = await this.o.client.get<Run>(Paths.run(run.metadata.namespace!, run.metadata.name!));
      }
    }
  }
}

/** A Succeeded Run fails for its artifacts; an already failed one keeps its reason and says more. */
function fail(outcome: Outcome, reason: string, message: string): Outcome {
  if (outcome.phase === RunPhase.Succeeded) return { ...outcome, phase: RunPhase.Failed, reason, message };
  return { ...outcome, message: `${outcome.message}; ${message}` };
}
