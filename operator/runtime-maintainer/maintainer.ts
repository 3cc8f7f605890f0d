// The runtime maintainer: watches its Runtime's Runs and, for each deleted Run that holds the
// artifact-cleanup finalizer, deletes the Run's artifacts from the store recorded in
// status.artifactStore (on the PVC, with the credentials Secret, that snapshot names), then
// removes the finalizer. A cleanup it cannot do yet (a Secret gone, a PVC not mounted, a store
// unreachable) keeps the finalizer, sets the Run's ArtifactCleanup condition False with the
// reason, emits a Warning Event (ArtifactCleanupFailed) when that changes and is retried with backoff.
import { ArtifactCleanupCondition, type ArtifactCleanupReason, Finalizer, type Run, type Runtime } from '../../lib/api.ts';
import { EventAction, EventType, recordEvent } from '../../lib/events.ts';
import {
  openStore,
  readCredentials,
  type StoreCredentials,
  StoreEnv,
  type StoreEnvironment,
} from '../../lib/artifact-store/open-store.ts';
import { ArtifactStoreError, runPrefix, StoreErrorCode } from '../../lib/artifact-store/store.ts';
import { Controller } from '../../lib/controller/controller.ts';
import { SharedCache } from '../../lib/controller/shared-cache.ts';
import type { Informer } from '../../lib/informer.ts';
import { isConflict, isNotFound, type KubeClient, objectPath, Paths } from '../../lib/kube-client.ts';
import { errorMessage, logger } from '../../lib/log.ts';
import { boundMessage } from '../../lib/message.ts';
import { setCondition } from '../../lib/run-status.ts';
import { operatorRegistry } from '../metrics.ts';
import { blockedCondition, canRetire, decideRun, planCleanup, unmountedClaimPlan } from './decide.ts';

export const CLEANUP_FAILED_REASON = 'ArtifactCleanupFailed';
const EVENT_REPORTER = 'kruntimes-runtime-maintainer';
const RETIRE_CHECK_MS = 10_000;

export interface MaintainerOptions {
  client: KubeClient;
  namespace: string;
  runtimeName: string;
  /** Its own Deployment, deleted when the maintainer retires. */
  deploymentName: string;
  env: StoreEnvironment;
}

export class RuntimeMaintainer {
  private readonly o: MaintainerOptions;
  private readonly cache: SharedCache;
  private readonly runs: Informer<Run>;
  private readonly controller: Controller;
  private readonly log;
  private retireTimer?: NodeJS.Timeout;

  constructor(options: MaintainerOptions) {
    this.o = options;
    this.log = logger.child({ component: 'runtime-maintainer', runtime: options.runtimeName });
    this.cache = new SharedCache(options.client);
    this.runs = this.cache.informer<Run>(Paths.runs(options.namespace));
    // Keys are Run names: the maintainer serves one namespace. A store that fails is retried with
    // a backoff from 1 s to 30 s.
    this.controller = new Controller({
      name: 'runtime-maintainer',
      cache: this.cache,
      registry: operatorRegistry,
      reconcile: (name) => this.handle(name),
      baseDelayMs: 1000,
    }).watch(this.runs, (r) => (decideRun(r, options.runtimeName) === 'cleanup' ? r.metadata.name! : undefined));
  }

  async start(): Promise<void> {
    await this.controller.start();
    this.retireTimer = setInterval(() => void this.maybeRetire(), RETIRE_CHECK_MS);
    this.log.info('runtime maintainer watching Runs');
  }

  async stop(): Promise<void> {
    clearInterval(this.retireTimer);
    await this.controller.stop();
    await this.cache.stop();
  }

  private async handle(name: string): Promise<void> {
    const run = this.runs.get(name, this.o.namespace);
    if (!run || decideRun(run, this.o.runtimeName) !== 'cleanup') return;
    // The Run's own snapshot (its PVC, its credentials Secret), or for a Run from before
    // snapshots the Runtime's store now.
    let plan = planCleanup(run, this.o.env);
    if (plan.action === 'blocked' && plan.reason === ArtifactCleanupCondition.Reason.ClaimNotMounted) {
      const claim = run.status!.artifactStore!.filesystem!.claimName;
      plan = unmountedClaimPlan(claim, await this.claim(claim));
      if (plan.action === 'release') this.log.info('the Run\'s PersistentVolumeClaim is gone, and its artifacts with it', { run: name, claim });
    }
    if (plan.action === 'blocked') return this.blocked(run, plan.reason, plan.message);
    if (plan.action === 'delete') {
      const snapshot = plan.store;
      let credentials: StoreCredentials | undefined;
      if (plan.secret?.dir) {
        credentials = readCredentials(plan.secret.dir);
        if (!credentials)
          return this.blocked(
            run,
            ArtifactCleanupCondition.Reason.SecretNotFound,
            `Secret ${plan.secret.name} (the credentials this Run's artifacts were stored with) does not exist or lacks ${StoreEnv.AccessKeyId} and ${StoreEnv.SecretAccessKey}; recreate it, and the next retry deletes the artifacts`,
          );
      }
      try {
        const store = openStore(snapshot, this.o.env, credentials);
        await store.delete((run.status?.artifactRefs ?? []).map((r) => r.key));
        // Anything else this Run's attempts left below its prefix (a retried attempt, a crash mid-upload).
        await store.deletePrefix(runPrefix({ prefix: snapshot.s3?.prefix, namespace: this.o.namespace, uid: run.metadata.uid! }));
        this.log.info('artifacts deleted', {
          run: name,
          runUID: run.metadata.uid,
          store: store.description,
          from: plan.from,
          secret: plan.secret?.name,
        });
      } catch (err) {
        // A bucket that no longer exists holds none of the Run's objects.
        if (err instanceof ArtifactStoreError && err.code === StoreErrorCode.NoSuchBucket) {
          this.log.info('artifact bucket gone; nothing to delete', { run: name });
          await this.removeFinalizer(run);
          return;
        }
        this.log.warn('artifact cleanup failed', { run: name, error: errorMessage(err) });
        return this.blocked(run, ArtifactCleanupCondition.Reason.StoreError, errorMessage(err));
      }
    }
    await this.removeFinalizer(run);
  }

  /**
   * Says on the Run why its finalizer stays (the ArtifactCleanup condition, and a Warning Event
   * when that changes), then fails the reconcile so the frame retries with backoff.
   */
  private async blocked(run: Run, reason: ArtifactCleanupReason, detail: string): Promise<never> {
    const name = run.metadata.name!;
    const message = `deleting the artifacts of run ${name} failed; the finalizer ${Finalizer.ArtifactCleanup} stays until it succeeds: ${detail}`;
    const condition = blockedCondition(run, reason, boundMessage(message));
    if (condition) {
      this.log.warn('artifact cleanup blocked', { run: name, reason, error: detail });
      await this.warn(run, message);
      await this.o.client
        .mergePatch(Paths.runStatus(this.o.namespace, name), {
          metadata: { resourceVersion: run.metadata.resourceVersion },
          status: { conditions: setCondition(run.status?.conditions, condition, new Date().toISOString()) },
        })
        .catch((err: unknown) => {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        });
    }
    throw new Error(`${reason}: ${detail}`);
  }

  private async claim(name: string): Promise<{ metadata?: { deletionTimestamp?: string } } | undefined> {
    try {
      return await this.o.client.get(
        objectPath({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: this.o.namespace } }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async removeFinalizer(run: Run): Promise<void> {
    let current = run;
    for (let attempt = 0; attempt < 5; attempt++) {
      const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== Finalizer.ArtifactCleanup);
      try {
        await this.o.client.mergePatch(Paths.run(this.o.namespace, run.metadata.name!), {
          metadata: { resourceVersion: current.metadata.resourceVersion, finalizers },
        });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) throw err;
        current = await this.o.client.get<Run>(Paths.run(this.o.namespace, run.metadata.name!));
      }
    }
    throw new Error(`removing the finalizer of run ${run.metadata.name} kept conflicting`);
  }

  private async maybeRetire(): Promise<void> {
    let runtimeHasStore = false;
    try {
      const runtime = await this.o.client.get<Runtime>(Paths.runtime(this.o.namespace, this.o.runtimeName));
      runtimeHasStore = runtime.spec.artifactStore !== undefined;
    } catch (err) {
      if (!isNotFound(err)) return;
    }
    if (!canRetire({ runtimeHasStore, runs: this.runs.list(this.o.namespace), runtimeName: this.o.runtimeName })) return;
    this.log.info('the Runtime is gone (or has no store) and no Run needs cleanup: deleting the maintainer Deployment');
    try {
      await this.o.client.delete(
        objectPath({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: this.o.deploymentName, namespace: this.o.namespace } }),
      );
    } catch (err) {
      if (!isNotFound(err)) this.log.warn('deleting the maintainer Deployment failed', { error: errorMessage(err) });
    }
  }

  private async warn(run: Run, message: string): Promise<void> {
    await recordEvent(
      this.o.client,
      run,
      { type: EventType.Warning, reason: CLEANUP_FAILED_REASON, action: EventAction.Cleanup, message },
      { controller: EVENT_REPORTER, instance: process.env.HOSTNAME ?? 'maintainer' },
    ).catch((err: unknown) => this.log.warn('event not recorded', { error: errorMessage(err) }));
  }
}
