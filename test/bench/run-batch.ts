// A batch of Runs as the bench offers them and a user sees them: created by C concurrent creators
// (a burst) or one every 1/R s (a steady, open-loop load), each done when this process's watch
// delivers its terminal phase. The same driver serves our platform and the floor (floor.ts), so
// both are measured the same way. The watch also counts the distinct resourceVersions each Run
// went through, for the no-op write count (apiserver-requests.ts).
import { isTerminal, type Run } from '../../lib/api.ts';
import { createInformer } from '../../lib/informer.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { parseMicros } from './workflow-stats.ts';
import type { RunSample } from './report-files.ts';

export class RunWatch {
  readonly done = new Map<string, Run>();
  /** When this process's watch delivered each Run's terminal phase (ms since the epoch). */
  readonly visible = new Map<string, number>();
  /** The distinct resourceVersions seen for each Run (ADDED included), each with its phase and reason. */
  readonly versions = new Map<string, Map<string, string>>();
  private readonly waiters = new Map<string, () => void>();
  private readonly informer;

  constructor(client: KubeClient, namespace: string) {
    this.informer = createInformer<Run>({ client, path: Paths.runs(namespace) });
    const onRun = (r: Run) => {
      const name = r.metadata.name!;
      let seen = this.versions.get(name);
      if (!seen) this.versions.set(name, (seen = new Map()));
      seen.set(r.metadata.resourceVersion!, versionLabel(r));
      if (!isTerminal(r.status?.phase)) return;
      if (!this.visible.has(name)) this.visible.set(name, Date.now());
      this.done.set(name, r);
      this.waiters.get(name)?.();
    };
    this.informer.on('add', onRun);
    this.informer.on('update', onRun);
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
   * Creates n Runs named prefix-i with `create`, with `concurrency` creators or at `rate` Runs/s,
   * and resolves when every one is visibly terminal.
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

  /** The distinct resourceVersions the watch saw for these Runs, in total. */
  versionsSeen(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) n += this.versions.get(name)?.size ?? 0;
    return n;
  }

  /** How many of those versions each phase (reason) accounts for: which writes a Run took. */
  versionsByPhase(names: Iterable<string>): Record<string, number> {
    return countLabels([...names].flatMap((name) => [...(this.versions.get(name)?.values() ?? [])]));
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
