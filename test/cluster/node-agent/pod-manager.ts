// Watches the pods bound to this node (informer with a spec.nodeName field selector) and keeps one
// PodWorker per pod UID.
import fs from 'node:fs';
import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { ListWatch, Watch } from '@kubernetes/client-node';
import { NODE_NAME } from '../config.ts';
import { errorText, log } from './agent-log.ts';
import { podDirs } from './pod-dirs.ts';
import type { AgentContext } from './pod-worker.ts';
import { PodWorker } from './pod-worker.ts';

/** Re-list and re-watch this soon after the watch failed (an apiserver restart): a refused connection costs nothing. */
const RESTART_WATCH_MS = 250;

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  private readonly byName = new Map<string, string>();
  private readonly ctx: AgentContext;
  private readonly informer: ListWatch<V1Pod>;
  private stopped = false;

  constructor(kc: KubeConfig, core: CoreV1Api, ctx: AgentContext) {
    this.ctx = ctx;
    const fieldSelector = `spec.nodeName=${NODE_NAME}`;
    this.informer = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(kc),
      async () => {
        const list = await core.listPodForAllNamespaces({ fieldSelector });
        // After the first list, drop directories of pods that no longer exist.
        setImmediate(() => this.removeOrphanDirs(new Set(list.items.map((p) => p.metadata?.uid ?? ''))));
        return list;
      },
      false,
      undefined,
      fieldSelector,
    );
    this.informer.on('add', (p) => this.upsert(p));
    this.informer.on('update', (p) => this.upsert(p));
    this.informer.on('delete', (p) => this.workers.get(p.metadata?.uid ?? '')?.removed());
    this.informer.on('error', (err) => {
      if (this.stopped) return;
      log('watch.error', { error: errorText(err) });
      setTimeout(() => void this.informer.start(), RESTART_WATCH_MS);
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
    log('watch.started', { fieldSelector: `spec.nodeName=${NODE_NAME}` });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  /** The current pod of that name (the newest UID if a pod was recreated). */
  find(namespace: string, name: string, uid?: string): PodWorker | undefined {
    const id = uid ?? this.byName.get(`${namespace}/${name}`);
    return id ? this.workers.get(id) : undefined;
  }

  all(): PodWorker[] {
    return [...this.workers.values()];
  }

  private upsert(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    let w = this.workers.get(uid);
    if (!w) {
      w = new PodWorker(pod, this.ctx);
      const worker = w;
      w.onGone = () => {
        this.workers.delete(uid);
        if (this.byName.get(worker.key) === uid) this.byName.delete(worker.key);
      };
      this.workers.set(uid, w);
      this.byName.set(w.key, uid);
    }
    w.update(pod);
  }

  private removeOrphanDirs(live: Set<string>): void {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.ctx.podsRoot);
    } catch {
      return;
    }
    for (const uid of entries) {
      if (!live.has(uid) && !this.workers.has(uid))
        fs.rmSync(podDirs(this.ctx.podsRoot, uid).root, { recursive: true, force: true });
    }
  }

  /** Agent shutdown: kill every pod's processes at once and tear down their networks. */
  async shutdown(): Promise<void> {
    await this.stop();
    await Promise.all(this.all().map((w) => w.shutdown()));
  }
}
