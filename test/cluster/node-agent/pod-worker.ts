// The life of one pod on this node: network namespace and IP, volumes, init containers in
// order, then the containers; status written to the API as it changes; on deletion SIGTERM,
// SIGKILL after the grace period, final status, DELETE with grace 0, teardown.
import fs from 'node:fs';
import type { CoreV1Api, V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Network } from '../config.ts';
import { apiStatus, errorText, log } from './agent-log.ts';
import { asStrings, readConfigMap, readSecret } from './api-objects.ts';
import { killAndRemoveCgroup, podCgroup } from './cgroups.ts';
import type { Mount } from './container-process.ts';
import type { ContainerHost } from './container-runner.ts';
import { ContainerRunner } from './container-runner.ts';
import type { NodeAllocatable } from './downward-api.ts';
import type { EnvObjects } from './env.ts';
import { envReferences, resolveEnv } from './env.ts';
import type { EventRecorder } from './events.ts';
import type { IpAllocator } from './ip-allocator.ts';
import { createPodNetwork, deletePodNetwork, netnsPath, podNetworkNames } from './network.ts';
import type { PodDirs } from './pod-dirs.ts';
import { podDirs } from './pod-dirs.ts';
import type { PodPhase, PodSnapshot } from './pod-status.ts';
import { ConditionClock, isTerminalPhase, podConditions, podPhase } from './pod-status.ts';
import type { RestartPolicy } from './restart-policy.ts';
import { Backoff } from './restart-policy.ts';
import type { PodVolume } from './volumes.ts';
import { PodVolumes } from './volumes.ts';

export interface AgentContext {
  core: CoreV1Api;
  events: EventRecorder;
  allocator: IpAllocator;
  podsRoot: string;
  allocatable: NodeAllocatable;
}

type Stage = 'new' | 'preparing' | 'running' | 'finished' | 'terminating' | 'gone';

const DEFAULT_GRACE_S = 30;
const STATUS_RETRY_MS = 1000;

const podKey = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;

export class PodWorker implements ContainerHost {
  pod: V1Pod;
  readonly uid: string;
  readonly dirs: PodDirs;
  podIP = '';
  netnsPath?: string;
  hostname?: string;
  volumes: ReadonlyMap<string, PodVolume> = new Map();
  extraMounts: Mount[] = [];
  readonly events: EventRecorder;

  private readonly ctx: AgentContext;
  private stage: Stage = 'new';
  private sandboxReady = false;
  private podVolumes?: PodVolumes;
  private initRunners: ContainerRunner[] = [];
  private runners: ContainerRunner[] = [];
  private readonly clock = new ConditionClock();
  private startTime?: Date;
  private readonly setupBackoff = new Backoff();
  private setupTimer?: NodeJS.Timeout;
  /** The network/volume setup in progress; teardown waits for it so nothing is left behind. */
  private preparing?: Promise<void>;
  /** Fires when a shortened grace period (a second delete) asks to kill at once. */
  private killNow?: () => void;
  private graceDeadline = Number.POSITIVE_INFINITY;
  /** Called once the pod is deleted from the API and torn down. */
  onGone?: () => void;

  // status writing
  private statusScheduled = false;
  private statusInFlight = false;
  private statusAgain = false;
  private lastStatusJson = '';

  constructor(pod: V1Pod, ctx: AgentContext) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.ctx = ctx;
    this.events = ctx.events;
    this.dirs = podDirs(ctx.podsRoot, this.uid);
  }

  get key(): string {
    return podKey(this.pod);
  }

  containerRunner(name: string): ContainerRunner | undefined {
    return [...this.runners, ...this.initRunners].find((r) => r.name === name);
  }

  /** The latest pod object from the informer. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (this.stage === 'gone') return;
    if (pod.metadata?.deletionTimestamp) {
      void this.terminate();
      return;
    }
    if (this.stage === 'new') {
      void this.start();
      return;
    }
    // Readiness gates read conditions others write: re-evaluate Ready.
    if (pod.spec?.readinessGates?.length) this.changed();
  }

  // --- starting -------------------------------------------------------------------------------

  private async start(): Promise<void> {
    this.stage = 'preparing';
    const status = this.pod.status ?? {};
    this.clock.seed(status.conditions);
    this.startTime = status.startTime ? new Date(status.startTime) : new Date();
    const spec = this.pod.spec!;
    const prev = (list: V1ContainerStatus[] | undefined, name: string) => list?.find((s) => s.name === name);
    this.initRunners = (spec.initContainers ?? []).map(
      (c) =>
        new ContainerRunner(
          c,
          c.restartPolicy === 'Always' ? 'sidecar' : 'init',
          this,
          prev(status.initContainerStatuses, c.name),
        ),
    );
    this.runners = spec.containers.map(
      (c) => new ContainerRunner(c, 'regular', this, prev(status.containerStatuses, c.name)),
    );
    log('pod.start', { pod: this.key, uid: this.uid });
    if (isTerminalPhase((status.phase ?? 'Pending') as PodPhase)) {
      // Finished before an agent restart: nothing runs again.
      this.stage = 'finished';
      return;
    }
    await this.prepare();
  }

  /** Network and volumes; retried with back-off until they succeed (the pod stays ContainerCreating). */
  private prepare(): Promise<void> {
    this.preparing = this.prepareOnce();
    return this.preparing;
  }

  private async prepareOnce(): Promise<void> {
    if (this.stage !== 'preparing') return;
    this.assignIP();
    // Independent of each other: create the namespace while tokens and config are fetched.
    const [network, volumes] = await Promise.allSettled([
      this.sandboxReady ? Promise.resolve() : this.setupNetwork(),
      this.podVolumes
        ? Promise.resolve()
        : PodVolumes.create({
            core: this.ctx.core,
            pod: this.pod,
            dirs: this.dirs,
            addr: { podIP: this.podIP, hostIP: Network.nodeIP },
            allocatable: this.ctx.allocatable,
          }).then((v) => {
            this.podVolumes = v;
            this.volumes = v.volumes;
          }),
    ]);
    if (this.stage !== 'preparing') return;
    const failure =
      network.status === 'rejected' ? network : volumes.status === 'rejected' ? volumes : undefined;
    if (failure) {
      const message = errorText(failure.reason);
      this.events.record(
        this.pod,
        'Warning',
        failure === network ? 'FailedCreatePodSandBox' : 'FailedMount',
        message,
      );
      for (const r of [...this.initRunners, ...this.runners]) {
        if (!r.done) r.state = { waiting: { reason: 'ContainerCreating', message } };
      }
      this.changed();
      const delay = Math.max(this.setupBackoff.next(), 1000);
      this.setupTimer = setTimeout(() => void this.prepare(), delay);
      return;
    }
    this.stage = 'running';
    this.changed();
    this.progressed();
  }

  /** The pod keeps the IP its status already shows (agent restart) when it is still free. */
  private assignIP(): void {
    if (this.podIP) return;
    if (this.pod.spec?.hostNetwork) {
      this.podIP = Network.nodeIP;
      return;
    }
    const previous = this.pod.status?.podIP;
    this.podIP = previous && this.ctx.allocator.reserve(previous) ? previous : this.ctx.allocator.allocate();
  }

  async ensureSandbox(): Promise<void> {
    if (this.netnsPath && !fs.existsSync(this.netnsPath)) {
      log('pod.network.recreated', { pod: this.key });
      await createPodNetwork(this.uid, this.podIP);
    }
  }

  private async setupNetwork(): Promise<void> {
    if (!this.pod.spec?.hostNetwork) {
      await createPodNetwork(this.uid, this.podIP);
      this.netnsPath = netnsPath(podNetworkNames(this.uid).netns);
      this.hostname = this.pod.spec?.hostname || this.pod.metadata?.name;
      fs.mkdirSync(this.dirs.root, { recursive: true });
      const fqdn = this.pod.spec?.subdomain ? `${this.hostname}.${this.pod.spec.subdomain}` : this.hostname;
      const names = fqdn === this.hostname ? this.hostname : `${fqdn}\t${this.hostname}`;
      fs.writeFileSync(
        this.dirs.hosts,
        `# Kubernetes-managed hosts file (kruntimes local node).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.podIP}\t${names}\n`,
      );
      this.extraMounts = [{ hostPath: this.dirs.hosts, containerPath: '/etc/hosts', readOnly: false }];
    }
    this.sandboxReady = true;
    log('pod.network', { pod: this.key, ip: this.podIP });
  }

  /** Starts whatever may run now: the next init container, or all containers once init is done. */
  private advance(): void {
    if (this.stage !== 'running') return;
    for (const r of this.initRunners) {
      if (r.kind === 'sidecar') {
        r.start();
        // The next init container waits until a sidecar has started (its startup probe passed).
        if (!r.started) return;
        continue;
      }
      if (r.done && r.state.terminated?.exitCode === 0) continue;
      if (r.done) return; // failed for good: the pod fails
      r.start();
      return;
    }
    for (const r of this.runners) r.start();
  }

  // --- ContainerHost --------------------------------------------------------------------------

  async resolveEnv(container: V1Container): Promise<Record<string, string>> {
    const refs = envReferences(container);
    const ns = this.pod.metadata?.namespace ?? 'default';
    const objects: EnvObjects = { configMaps: new Map(), secrets: new Map() };
    await Promise.all([
      ...[...refs.configMaps].map(async (n) =>
        objects.configMaps.set(n, asStrings(await readConfigMap(this.ctx.core, ns, n))),
      ),
      ...[...refs.secrets].map(async (n) =>
        objects.secrets.set(n, asStrings(await readSecret(this.ctx.core, ns, n))),
      ),
    ]);
    return resolveEnv(container, {
      pod: this.pod,
      podIP: this.podIP,
      hostIP: Network.nodeIP,
      objects,
      allocatable: this.ctx.allocatable,
    });
  }

  progressed(): void {
    if (this.stage !== 'running') return;
    this.advance();
    if (isTerminalPhase(podPhase(this.snapshot()))) void this.finish();
  }

  /** Schedules a status write; changes within one tick are written together. */
  changed(): void {
    if (this.statusScheduled || this.stage === 'gone') return;
    this.statusScheduled = true;
    setImmediate(() => {
      this.statusScheduled = false;
      void this.writeStatus();
    });
  }

  // --- status ---------------------------------------------------------------------------------

  private snapshot(): PodSnapshot {
    return {
      restartPolicy: (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy,
      init: this.initRunners.map((r) => ({ kind: r.kind, status: r.status() })),
      containers: this.runners.map((r) => ({ kind: r.kind, status: r.status() })),
      sandboxReady: this.sandboxReady,
      readinessGates: this.pod.spec?.readinessGates ?? [],
      currentConditions: this.pod.status?.conditions ?? [],
    };
  }

  private statusBody(): object {
    const snap = this.snapshot();
    const phase = podPhase(snap);
    const ips = this.podIP ? [{ ip: this.podIP }, { $patch: 'replace' }] : undefined;
    return {
      status: {
        phase,
        conditions: this.clock.stamp(podConditions(snap, phase)),
        hostIP: Network.nodeIP,
        hostIPs: [{ ip: Network.nodeIP }, { $patch: 'replace' }],
        ...(this.podIP ? { podIP: this.podIP, podIPs: ips } : {}),
        startTime: this.startTime,
        ...(snap.init.length > 0 ? { initContainerStatuses: snap.init.map((c) => c.status) } : {}),
        containerStatuses: snap.containers.map((c) => c.status),
      },
    };
  }

  /**
   * Strategic merge patch of pods/status: conditions merge by type, so conditions written by
   * others (kruntimes.io/RuntimedReady, readiness gates) survive; container statuses are replaced.
   * One write in flight per pod; identical bodies are not sent again.
   */
  private async writeStatus(): Promise<void> {
    if (this.statusInFlight) {
      this.statusAgain = true;
      return;
    }
    if (this.stage === 'gone' || this.stage === 'new') return;
    const body = this.statusBody();
    const json = JSON.stringify(body);
    if (json === this.lastStatusJson) return;
    this.statusInFlight = true;
    try {
      const meta = this.pod.metadata!;
      await this.ctx.core.patchNamespacedPodStatus(
        { name: meta.name!, namespace: meta.namespace!, body },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      this.lastStatusJson = json;
      log('pod.status', { pod: this.key, phase: (body as { status: { phase: string } }).status.phase });
    } catch (err) {
      if (apiStatus(err) !== 404) {
        log('pod.status.error', { pod: this.key, error: errorText(err) });
        setTimeout(() => this.changed(), STATUS_RETRY_MS);
      }
    } finally {
      this.statusInFlight = false;
    }
    if (this.statusAgain) {
      this.statusAgain = false;
      await this.writeStatus();
    }
  }

  // --- ending ---------------------------------------------------------------------------------

  /** The pod reached Succeeded/Failed by itself: release its network (the status keeps the IP). */
  private async finish(): Promise<void> {
    if (this.stage !== 'running') return;
    this.stage = 'finished';
    log('pod.finished', { pod: this.key, phase: podPhase(this.snapshot()) });
    for (const r of [...this.initRunners, ...this.runners]) if (!r.done) await r.stop(0);
    await this.teardown();
    this.changed();
  }

  private async teardown(): Promise<void> {
    clearTimeout(this.setupTimer);
    await this.preparing;
    this.podVolumes?.stop();
    const cg = podCgroup(this.uid);
    if (cg) await killAndRemoveCgroup(cg);
    if (this.netnsPath) {
      await deletePodNetwork(this.uid);
      this.netnsPath = undefined;
    }
    if (this.podIP && this.podIP !== Network.nodeIP) this.ctx.allocator.release(this.podIP);
    this.sandboxReady = false;
  }

  /** Graceful deletion: stop containers within the grace period, report, then remove the pod. */
  async terminate(): Promise<void> {
    const graceS =
      this.pod.metadata?.deletionGracePeriodSeconds ??
      this.pod.spec?.terminationGracePeriodSeconds ??
      DEFAULT_GRACE_S;
    const deadline = Date.now() + graceS * 1000;
    if (this.stage === 'terminating') {
      // A second delete with a shorter grace period.
      if (deadline < this.graceDeadline) {
        this.graceDeadline = deadline;
        setTimeout(() => this.killNow?.(), Math.max(0, deadline - Date.now()));
      }
      return;
    }
    if (this.stage === 'gone') return;
    const wasStarted = this.stage !== 'new';
    this.stage = 'terminating';
    this.graceDeadline = deadline;
    clearTimeout(this.setupTimer);
    log('pod.terminating', { pod: this.key, graceSeconds: graceS });
    const killNow = new Promise<void>((resolve) => {
      this.killNow = resolve;
    });
    const all = [...this.runners, ...this.initRunners];
    if (all.some((r) => r.running))
      this.events.record(this.pod, 'Normal', 'Killing', 'Stopping pod containers');
    await Promise.all(all.map((r) => r.stop(Math.max(0, deadline - Date.now()), killNow)));
    await this.teardown();
    if (wasStarted) await this.writeFinalStatus();
    await this.deleteFromApi();
    this.gone();
  }

  private async writeFinalStatus(): Promise<void> {
    // Awaited directly (not the coalesced write): it must land before the pod is deleted.
    while (this.statusInFlight) await new Promise((r) => setTimeout(r, 5));
    await this.writeStatus();
  }

  private async deleteFromApi(): Promise<void> {
    const meta = this.pod.metadata!;
    try {
      await this.ctx.core.deleteNamespacedPod({
        name: meta.name!,
        namespace: meta.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
      });
      log('pod.deleted', { pod: this.key, uid: this.uid });
    } catch (err) {
      const code = apiStatus(err);
      // 404: already gone; 409: a newer pod of the same name (precondition failed).
      if (code !== 404 && code !== 409) log('pod.delete.error', { pod: this.key, error: errorText(err) });
    }
  }

  /** The pod vanished from the API (force deletion): kill everything at once. */
  async removed(): Promise<void> {
    if (this.stage === 'gone') return;
    const wasTerminating = this.stage === 'terminating';
    this.stage = 'terminating';
    this.killNow?.();
    if (!wasTerminating) {
      log('pod.removed', { pod: this.key, uid: this.uid });
      await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(0)));
      await this.teardown();
      this.gone();
    }
  }

  /** Agent shutdown: kill the containers and tear down, but keep the pod's directory (logs). */
  async shutdown(): Promise<void> {
    this.stage = 'gone';
    this.killNow?.();
    await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(0)));
    await this.teardown();
  }

  private gone(): void {
    if (this.stage === 'gone') return;
    this.stage = 'gone';
    fs.rmSync(this.dirs.root, { recursive: true, force: true });
    this.onGone?.();
  }
}
