// A batch of Runs as the bench offers them and a user sees them: created by C concurrent creators
// (a burst) or one every 1/R s (a steady, open-loop load), each done when this process's watch
// delivers its terminal phase. The same driver serves our platform and the floor (floor.ts), so
// both are measured the same way. The watch also counts the distinct resourceVersions each Run
// went through, for the no-op write count (apiserver-requests.ts). The driver is the same for any
// kind that ends (BatchWatch): a Kubernetes Job running the same script is measured with it too
// (job-bench.ts).
import { isTerminal, type Run } from '../../lib/api.ts';
import { createInformer } from '../../lib/informer.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { parseMicros } from './workflow-stats.ts';
import type { RunSample } from './report-files.ts';

/** What the driver needs of a kind: where to watch it, when an object is done, what a version is. */
export interface WatchedKind<T> {
  /** The namespaced collection path to list and watch. */
  path: string;
  /** Whether this version of the object shows its end (a terminal phase or condition). */
  terminal(o: T): boolean;
  /** A version as the write that made it (its phase and reason, or its conditions). */
  label(o: T): string;
}

/** Objects created in batches and watched until each ends; the same driver for Runs and Jobs. */
export class BatchWatch<T extends { metadata?: { name?: string; resourceVersion?: string } }> {
  readonly done = new Map<string, T>();
  /** When this process's watch delivered each object's end (ms since the epoch). */
  readonly visible = new Map<string, number>();
  /** The distinct resourceVersions seen for each object (ADDED included), each with its label. */
  readonly versions = new Map<string, Map<string, string>>();
  private readonly waiters = new Map<string, () => void>();
  private readonly informer;

  constructor(client: KubeClient, kind: WatchedKind<T>) {
    this.informer = createInformer<T>({ client, path: kind.path });
    const onObject = (o: T) => {
      const name = o.metadata!.name!;
      let seen = this.versions.get(name);
      if (!seen) this.versions.set(name, (seen = new Map()));
      seen.set(o.metadata!.resourceVersion!, kind.label(o));
      if (!kind.terminal(o)) return;
      if (!this.visible.has(name)) this.visible.set(name, Date.now());
      this.done.set(name, o);
      this.waiters.get(name)?.();
    };
    this.informer.on('add', onObject);
    this.informer.on('update', onObject);
  }

  start() {
    return this.informer.start();
  }

  stop() {
    return this.informer.stop();
  }

  private finished(name: string): Promise<void> {
    return new Promise<void>((resolve) => (this.done.has(name) ? resolve() : this.waiters.set(name, resolve)));
  }

  /**
   * Creates n objects named prefix-i with `create`, with `concurrency` creators or at `rate` per
   * second, and resolves when every one is visibly terminal.
   */
  async batch(
    prefix: string,
    n: number,
    o: { concurrency: number; rate?: number; create: (name: string) => Promise<unknown> },
  ): Promise<{ created: Map<string, number>; t0: number; t1: number }> {
    const created = new Map<string, number>();
    const finished: Array<Promise<void>> = [];
    let next = 0;
    const t0 = Date.now();
    const worker = async () => {
      while (next < n) {
        const name = `${prefix}-${next++}`;
        finished.push(this.finished(name));
        created.set(name, Date.now());
        await o.create(name);
      }
    };
    const paced = async (rate: number) => {
      // Open loop: each create starts on its own schedule, whether or not earlier ones finished.
      const creates: Array<Promise<unknown>> = [];
      for (let i = 0; i < n; i++) {
        const at = t0 + (i * 1000) / rate;
        if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
        const name = `${prefix}-${i}`;
        finished.push(this.finished(name));
        created.set(name, Date.now());
        creates.push(o.create(name));
      }
      await Promise.all(creates);
    };
    if (o.rate === undefined) await Promise.all(Array.from({ length: o.concurrency }, worker));
    else await paced(o.rate);
    await Promise.all(finished);
    return { created, t0, t1: Date.now() };
  }

  /** The distinct resourceVersions the watch saw for these objects, in total. */
  versionsSeen(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) n += this.versions.get(name)?.size ?? 0;
    return n;
  }

  /** How many of those versions each label accounts for: which writes an object took. */
  versionsByPhase(names: Iterable<string>): Record<string, number> {
    return countLabels([...names].flatMap((name) => [...(this.versions.get(name)?.values() ?? [])]));
  }
}

export class RunWatch extends BatchWatch<Run> {
  constructor(client: KubeClient, namespace: string) {
    super(client, { path: Paths.runs(namespace), terminal: (r) => isTerminal(r.status?.phase), label: versionLabel });
  }

  /** One sample per created Run, its stamped instants read from the terminal status. */
  samples(created: ReadonlyMap<string, number>): RunSample[] {
    const ms = (t: string | undefined) => (t ? parseMicros(t) / 1000 : undefined);
    return [...created].map(([name, at]) => {
      const s = this.done.get(name)?.status;
      return {
        name,
        created: at,
        scheduled: ms(s?.scheduledTime),
        running: ms(s?.startTime),
        completed: ms(s?.completionTime),
        visible: this.visible.get(name),
        phase: s?.phase,
      };
    });
  }
}

/** A Run version as the write that made it: its phase and reason ("Pending" for a fresh create). */
export function versionLabel(r: Run): string {
  const phase = r.status?.phase ?? 'Pending';
  return r.status?.reason ? `${phase} (${r.status.reason})` : phase;
}

/** Occurrences of each label, the most frequent first. */
export function countLabels(labels: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
