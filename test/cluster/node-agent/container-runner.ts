// The life of one container of a pod: image → command, env, mounts; start; probes; exit;
// restart with back-off per restart policy; stop on pod deletion. Produces its ContainerStatus.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1Probe,
} from '@kubernetes/client-node';
import { NODE_RUNTIME_ENV } from '../../../release/bundle.ts';
import { REPO_ROOT } from '../config.ts';
import { errorText, log } from './agent-log.ts';
import { imageBundles } from './bundles.ts';
import { containerCgroup, createCgroup } from './cgroups.ts';
import { ContainerLogWriter } from './container-log-writer.ts';
import type { ContainerExit, Mount } from './container-process.ts';
import { ContainerProcess } from './container-process.ts';
import { EnvConfigError, expand, expandArgs } from './env.ts';
import type { EventRecorder } from './events.ts';
import { bundleEntrypoint, bundledImageID, containerArgv, knownImages, resolveImage } from './images.ts';
import type { PodDirs } from './pod-dirs.ts';
import type { ProbeKind } from './probe-state.ts';
import { ProbeTracker } from './probe-state.ts';
import { runProbe } from './probes.ts';
import type { ContainerKind, RestartPolicy } from './restart-policy.ts';
import { Backoff, effectivePolicy, shouldRestart } from './restart-policy.ts';
import type { PodVolume } from './volumes.ts';

/** What a container needs from its pod. */
export interface ContainerHost {
  readonly pod: V1Pod;
  readonly podIP: string;
  readonly dirs: PodDirs;
  readonly netnsPath?: string;
  readonly hostname?: string;
  readonly volumes: ReadonlyMap<string, PodVolume>;
  /** Mounts every container gets (/etc/hosts) unless it mounts that path itself. */
  readonly extraMounts: readonly Mount[];
  readonly events: EventRecorder;
  /** Recreates the pod's network namespace if it disappeared (e.g. removed by hand), before a (re)start. */
  ensureSandbox(): Promise<void>;
  /** Resolves the container's env; throws EnvConfigError when a reference is missing. */
  resolveEnv(container: V1Container): Promise<Record<string, string>>;
  /** The container's status changed: write pod status soon. */
  changed(): void;
  /** The container started, became ready, or exited: the pod may move on. */
  progressed(): void;
}

/** Exit codes and messages when the kubelet gives up on a container it cannot find any more. */
const UNKNOWN_EXIT = {
  exitCode: 137,
  reason: 'ContainerStatusUnknown',
  message: 'The container could not be located when the pod was terminated',
} as const;

/** How long the ErrImagePull state is shown before ImagePullBackOff. */
const IMAGE_PULL_ERROR_MS = 1000;
/** FallbackToLogsOnError: the termination message is at most this much of the log's end. */
const TERMINATION_LOG_BYTES = 2048;

export class ContainerRunner {
  readonly spec: V1Container;
  readonly kind: ContainerKind;
  private readonly host: ContainerHost;
  private readonly policy: RestartPolicy;

  restartCount = 0;
  state: V1ContainerState;
  lastState?: V1ContainerState;
  started = false;
  ready = false;
  private imageID = '';
  /** The image's own environment (a Dockerfile's ENV) when its bundle runs: under the pod's env. */
  private bundleEnv: Record<string, string> = {};
  private containerID?: string;
  private hasRun = false;
  private runStartedAt = 0;
  private process?: ContainerProcess;
  private log?: ContainerLogWriter;
  /** Bumped per run: stale probe/timer callbacks of an earlier run see a different number. */
  private generation = 0;
  private timer?: NodeJS.Timeout;
  private readonly crashBackoff = new Backoff();
  private readonly pullBackoff = new Backoff();
  private trackers: Partial<Record<ProbeKind, ProbeTracker>> = {};
  private probeTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  /** A final state that must not change any more (terminated for good, or stopped). */
  private final = false;
  private killReason?: string;
  /** attempt() is between its start and the process launch (awaiting env lookups). */
  private attempting = false;

  constructor(
    spec: V1Container,
    kind: ContainerKind,
    host: ContainerHost,
    previous: V1ContainerStatus | undefined,
  ) {
    this.spec = spec;
    this.kind = kind;
    this.host = host;
    this.policy = effectivePolicy(kind, host.pod.spec?.restartPolicy as RestartPolicy | undefined);
    this.state = {
      waiting: {
        reason:
          kind === 'regular' && (host.pod.spec?.initContainers?.length ?? 0) > 0
            ? 'PodInitializing'
            : 'ContainerCreating',
      },
    };
    this.seed(previous);
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The current run's log (undefined before the first start). */
  get currentLog(): ContainerLogWriter | undefined {
    return this.log;
  }

  /** Terminated and will not run again. */
  get done(): boolean {
    return this.final && this.state.terminated !== undefined;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /**
   * After an agent restart the pod's status still shows what ran before: keep counting restarts,
   * keep finished containers finished, and report containers that ran under restartPolicy Never
   * as lost instead of running them twice.
   */
  private seed(prev: V1ContainerStatus | undefined): void {
    if (!prev) return;
    const ranBefore = !!(prev.state?.running || prev.state?.terminated || prev.lastState?.terminated);
    if (!ranBefore) return;
    this.hasRun = true;
    this.restartCount = prev.restartCount ?? 0;
    this.imageID = prev.imageID ?? '';
    this.containerID = prev.containerID;
    const term = prev.state?.terminated;
    if (term && !shouldRestart(this.policy, term.exitCode)) {
      this.state = { terminated: term };
      this.lastState = prev.lastState;
      this.final = true;
      return;
    }
    const lost = prev.state?.running
      ? {
          ...UNKNOWN_EXIT,
          startedAt: prev.state.running.startedAt,
          finishedAt: new Date(),
          containerID: prev.containerID,
        }
      : (term ?? prev.lastState?.terminated);
    if (prev.state?.running && !shouldRestart(this.policy, UNKNOWN_EXIT.exitCode)) {
      this.state = { terminated: lost };
      this.final = true;
      return;
    }
    this.lastState = lost ? { terminated: lost } : prev.lastState;
  }

  status(): V1ContainerStatus {
    return {
      name: this.spec.name,
      image: this.spec.image ?? '',
      imageID: this.imageID,
      ...(this.containerID ? { containerID: this.containerID } : {}),
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state: this.state,
      ...(this.lastState ? { lastState: this.lastState } : {}),
    };
  }

  start(): void {
    if (this.final || this.stopping || this.process || this.timer || this.attempting) return;
    void this.attempt();
  }

  private podRef(): string {
    const m = this.host.pod.metadata;
    return `${m?.namespace}/${m?.name}`;
  }

  private setWaiting(reason: string, message?: string): void {
    this.state = { waiting: { reason, ...(message ? { message } : {}) } };
    this.host.changed();
  }

  private retryLater(delayMs: number): void {
    const gen = this.generation;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (gen === this.generation && !this.stopping) void this.attempt();
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    if (this.stopping || this.final || this.attempting) return;
    this.attempting = true;
    try {
      await this.launch();
    } finally {
      this.attempting = false;
    }
  }

  private async launch(): Promise<void> {
    const gen = ++this.generation;
    const image = resolveImage(this.spec.image ?? '');
    if (!image) {
      const message = `Failed to pull image "${this.spec.image}": image not known to the kruntimes local node (known images: ${knownImages().join(', ')})`;
      this.setWaiting('ErrImagePull', message);
      this.host.events.record(this.host.pod, 'Warning', 'Failed', message, this.name);
      this.pullBackoff.next();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (gen !== this.generation || this.stopping) return;
        const backoff = `Back-off pulling image "${this.spec.image}"`;
        this.setWaiting('ImagePullBackOff', backoff);
        this.host.events.record(this.host.pod, 'Normal', 'BackOff', backoff, this.name);
        this.retryLater(Math.max(this.pullBackoff.currentMs, IMAGE_PULL_ERROR_MS));
      }, IMAGE_PULL_ERROR_MS);
      return;
    }
    this.imageID = image.imageID;
    let entrypoint = image.entrypoint;
    this.bundleEnv = {};
    if (image.bundle) {
      try {
        const bundle = await imageBundles.ensure(image.bundle);
        entrypoint = bundleEntrypoint(bundle.file);
        this.bundleEnv = { ...NODE_RUNTIME_ENV };
        this.imageID = bundledImageID(image.name, bundle.key);
      } catch (err) {
        // The sources then: esbuild failed on a file Node would fail on too, and the container's
        // log shows Node's own message for it, as before bundles.
        log('bundle.failed', { pod: this.podRef(), container: this.name, image: image.name, error: errorText(err) });
      }
      if (gen !== this.generation || this.stopping) return;
    }
    let env: Record<string, string>;
    let mounts: Mount[];
    try {
      await this.host.ensureSandbox();
      env = await this.host.resolveEnv(this.spec);
      mounts = this.mounts(env);
    } catch (err) {
      if (gen !== this.generation || this.stopping) return;
      const message = errorText(err);
      const reason =
        err instanceof EnvConfigError || err instanceof MountError
          ? 'CreateContainerConfigError'
          : 'CreateContainerError';
      this.setWaiting(reason, message);
      this.host.events.record(this.host.pod, 'Warning', 'Failed', `Error: ${message}`, this.name);
      this.retryLater(Math.max(this.crashBackoff.next(), 1000));
      return;
    }
    if (gen !== this.generation || this.stopping) return;
    const argv = containerArgv(
      entrypoint,
      expandArgs(this.spec.command, env),
      expandArgs(this.spec.args, env),
    );
    if (argv.length === 0) {
      const message = `failed to create container ${this.name}: no command specified (image ${this.spec.image} has no entry point)`;
      this.setWaiting('CreateContainerError', message);
      this.host.events.record(this.host.pod, 'Warning', 'Failed', `Error: ${message}`, this.name);
      this.final = true;
      return;
    }
    if (this.hasRun) this.restartCount++;
    this.hasRun = true;
    const uid = this.host.pod.metadata?.uid ?? '';
    const cgroupDir = containerCgroup(uid, `${this.name}.${this.restartCount}`);
    if (cgroupDir) createCgroup(cgroupDir);
    this.rotateLogs();
    this.log = new ContainerLogWriter(this.host.dirs.logFile(this.name, this.restartCount));
    const proc = ContainerProcess.start({
      argv,
      env: { ...imageEnv(this.host), ...this.bundleEnv, ...env },
      workingDir: this.spec.workingDir || REPO_ROOT,
      netnsPath: this.host.netnsPath,
      hostname: this.host.hostname,
      mounts,
      cgroupDir,
      pidFile: this.host.dirs.pidFile(this.name),
      log: this.log,
    });
    this.process = proc;
    this.containerID = `krt://${randomBytes(32).toString('hex')}`;
    this.runStartedAt = Date.now();
    this.state = { running: { startedAt: new Date(this.runStartedAt) } };
    this.started = !this.spec.startupProbe;
    this.ready = this.started && !this.spec.readinessProbe;
    log('container.started', {
      pod: this.podRef(),
      container: this.name,
      pid: proc.pid,
      restarts: this.restartCount,
    });
    this.startProbes(gen, env);
    this.host.changed();
    this.host.progressed();
    proc.exited.then((exit) => this.onExit(gen, exit));
  }

  /** Only the current and the previous run's logs are kept (for `kubectl logs --previous`). */
  private rotateLogs(): void {
    const dir = this.host.dirs.logs(this.name);
    try {
      for (const f of fs.readdirSync(dir)) {
        const n = Number.parseInt(f, 10);
        if (Number.isInteger(n) && n < this.restartCount - 1) fs.rmSync(path.join(dir, f), { force: true });
      }
    } catch {}
  }

  private mounts(env: Record<string, string>): Mount[] {
    const out: Mount[] = [];
    for (const vm of this.spec.volumeMounts ?? []) {
      const vol = this.host.volumes.get(vm.name);
      if (!vol) throw new MountError(`volume "${vm.name}" not found in pod spec`);
      let source = vol.hostPath;
      const sub = vm.subPath || (vm.subPathExpr ? expand(vm.subPathExpr, (n) => env[n]) : '');
      if (sub) {
        if (path.isAbsolute(sub) || sub.split('/').includes('..'))
          throw new MountError(`invalid subPath ${JSON.stringify(sub)}`);
        source = path.join(vol.hostPath, sub);
        // Like the kubelet: a missing subPath becomes a directory in the volume.
        if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true });
      }
      out.push({ hostPath: source, containerPath: vm.mountPath, readOnly: !!vm.readOnly || vol.readOnly });
    }
    for (const m of this.host.extraMounts) {
      if (!out.some((o) => o.containerPath === m.containerPath)) out.push(m);
    }
    return out;
  }

  private onExit(gen: number, exit: ContainerExit): void {
    if (gen !== this.generation) return;
    this.stopProbes();
    this.process = undefined;
    this.ready = false;
    this.started = false;
    const finishedAt = new Date();
    const failed = exit.exitCode !== 0;
    const message = this.terminationMessage(failed);
    const terminated = {
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: os.constants.signals[exit.signal] } : {}),
      reason: failed ? 'Error' : 'Completed',
      startedAt: new Date(this.runStartedAt),
      finishedAt,
      containerID: this.containerID,
      ...(message ? { message } : {}),
    };
    log('container.exited', {
      pod: this.podRef(),
      container: this.name,
      exitCode: exit.exitCode,
      signal: exit.signal,
      reason: this.killReason,
    });
    this.killReason = undefined;
    if (this.stopping || !shouldRestart(this.policy, exit.exitCode)) {
      this.state = { terminated };
      this.final = true;
      this.host.changed();
      this.host.progressed();
      return;
    }
    this.lastState = { terminated };
    const delay = this.crashBackoff.next(finishedAt.getTime() - this.runStartedAt);
    if (delay === 0) {
      this.state = { waiting: { reason: 'ContainerCreating' } };
      void this.attempt();
    } else {
      const m = this.host.pod.metadata;
      const message = `back-off ${delay / 1000}s restarting failed container=${this.name} pod=${m?.name}_${m?.namespace}(${m?.uid})`;
      this.setWaiting('CrashLoopBackOff', message);
      this.host.events.record(
        this.host.pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.name} in pod ${m?.name}_${m?.namespace}(${m?.uid})`,
        this.name,
      );
      this.retryLater(delay);
    }
    this.host.changed();
    this.host.progressed();
  }

  private terminationMessage(failed: boolean): string | undefined {
    if (!failed || this.spec.terminationMessagePolicy !== 'FallbackToLogsOnError' || !this.log)
      return undefined;
    return this.log.tailText(TERMINATION_LOG_BYTES) || undefined;
  }

  // --- probes ---------------------------------------------------------------------------------

  private startProbes(gen: number, env: Record<string, string>): void {
    const now = Date.now();
    const kinds: [ProbeKind, V1Probe | undefined][] = [
      ['startup', this.spec.startupProbe],
      ['liveness', this.spec.livenessProbe],
      ['readiness', this.spec.readinessProbe],
    ];
    this.trackers = {};
    for (const [kind, probe] of kinds) if (probe) this.trackers[kind] = new ProbeTracker(kind, probe, now);
    // A startup probe holds back the other two until it succeeds.
    if (this.trackers.startup)
      this.scheduleProbe(gen, 'startup', this.trackers.startup.timing.initialDelayMs, env);
    else this.startRegularProbes(gen, env);
  }

  private startRegularProbes(gen: number, env: Record<string, string>): void {
    for (const kind of ['liveness', 'readiness'] as const) {
      const t = this.trackers[kind];
      if (t) this.scheduleProbe(gen, kind, t.timing.initialDelayMs, env);
    }
  }

  private scheduleProbe(gen: number, kind: ProbeKind, delayMs: number, env: Record<string, string>): void {
    const timer = setTimeout(async () => {
      this.probeTimers.delete(timer);
      if (gen !== this.generation || !this.process) return;
      await this.probeOnce(gen, kind, env);
    }, delayMs);
    this.probeTimers.add(timer);
  }

  private async probeOnce(gen: number, kind: ProbeKind, env: Record<string, string>): Promise<void> {
    const tracker = this.trackers[kind]!;
    const probe =
      kind === 'startup'
        ? this.spec.startupProbe!
        : kind === 'liveness'
          ? this.spec.livenessProbe!
          : this.spec.readinessProbe!;
    const ok = await runProbe(
      probe,
      {
        podIP: this.host.podIP,
        container: this.spec,
        pid: this.process?.pid ?? -1,
        env: { ...imageEnv(this.host), ...this.bundleEnv, ...env },
      },
      tracker.timing.timeoutMs,
    );
    if (gen !== this.generation || !this.process || this.stopping) return;
    const now = Date.now();
    const changed = tracker.record(ok, now);
    if (changed)
      log('probe', { pod: this.podRef(), container: this.name, probe: kind, result: tracker.result });
    if (kind === 'startup') {
      if (tracker.result === 'success') {
        this.started = true;
        this.ready = !this.trackers.readiness;
        this.host.changed();
        this.host.progressed();
        this.startRegularProbes(gen, env);
        return;
      }
      if (tracker.failed) return this.killForProbe('Startup', probe);
    } else if (kind === 'liveness') {
      if (tracker.failed) return this.killForProbe('Liveness', probe);
    } else if (changed) {
      const ready = tracker.result === 'success';
      if (!ready && tracker.everSucceeded) {
        this.host.events.record(this.host.pod, 'Warning', 'Unhealthy', 'Readiness probe failed', this.name);
      }
      this.ready = ready && this.started;
      this.host.changed();
      this.host.progressed();
    }
    this.scheduleProbe(gen, kind, tracker.nextDelayMs(now), env);
  }

  private killForProbe(which: 'Startup' | 'Liveness', probe: V1Probe): void {
    this.host.events.record(this.host.pod, 'Warning', 'Unhealthy', `${which} probe failed`, this.name);
    this.host.events.record(
      this.host.pod,
      'Normal',
      'Killing',
      `Container ${this.name} failed ${which.toLowerCase()} probe, will be restarted`,
      this.name,
    );
    this.killReason = `${which.toLowerCase()} probe failed`;
    this.stopProbes();
    const grace =
      probe.terminationGracePeriodSeconds ?? this.host.pod.spec?.terminationGracePeriodSeconds ?? 30;
    void this.terminateProcess(grace * 1000);
  }

  private stopProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers.clear();
  }

  // --- stopping -------------------------------------------------------------------------------

  /** SIGTERM, SIGKILL after graceMs (or when `killNow` fires); resolves when the process is gone. */
  private async terminateProcess(graceMs: number, killNow?: Promise<void>): Promise<void> {
    const proc = this.process;
    if (!proc) return;
    proc.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    const result = await Promise.race([
      proc.exited.then(() => 'exited' as const),
      deadline.then(() => 'grace' as const),
      ...(killNow ? [killNow.then(() => 'grace' as const)] : []),
    ]);
    clearTimeout(timer);
    if (result !== 'exited') {
      log('container.kill', { pod: this.podRef(), container: this.name, pid: proc.pid });
      await proc.kill();
    }
    await proc.exited;
  }

  /**
   * Stops the container for good (pod deletion or teardown): no more restarts. A container that
   * never ran is reported as terminated the way the kubelet reports containers it gives up on.
   */
  async stop(graceMs: number, killNow?: Promise<void>): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopProbes();
    if (this.process) {
      this.killReason ??= 'pod terminating';
      await this.terminateProcess(graceMs, killNow);
      // onExit of the current generation has recorded the terminated state.
      await new Promise((r) => setImmediate(r));
    }
    if (!this.state.terminated) {
      this.state = {
        terminated: {
          ...UNKNOWN_EXIT,
          message: 'The container could not be located when the pod was deleted',
          finishedAt: new Date(),
        },
      };
    }
    this.ready = false;
    this.started = false;
    this.final = true;
    this.host.changed();
  }
}

class MountError extends Error {}

/** What an image would put in the environment: a PATH that finds host tools, HOME, HOSTNAME. */
function imageEnv(host: ContainerHost): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    HOSTNAME: host.hostname ?? host.pod.metadata?.name ?? '',
  };
}
