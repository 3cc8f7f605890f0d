// The floor: what the apiserver and etcd alone cost for the writes one Run needs in our design,
// measured the way the bench measures us (run-batch.ts). Per Run, in order, each a merge patch with
// the previous write's resourceVersion as precondition, with the bodies built by the same lib/
// functions our components call, so the requests and their sizes are the same:
//   1. POST runs                       the user's create (the same body as the bench's)
//   2. PATCH runs/status  Scheduled    the scheduler's assignment (scheduledStatus)
//   3. PATCH runs/status  Succeeded    runtimed's terminal write (endOfAttemptStatus of outcomeOf),
//                                      with startTime: a Run that ends within its claim window
//                                      (lib/claim-window.ts) is never written Running
// Each Run's status chain starts when its create returns (no watch hop, no execution), at most
// pods × slots chains at a time, as many as our Runtime can hold.
//
// Nothing of ours may act on these Runs or add load meanwhile: the platform Deployments in
// kruntimes-system (scheduler, controller: every component that watches Runs cluster-wide) are
// scaled to 0 for the floor's duration and restored afterwards, also on failure or Ctrl-C. The
// floor's namespace has no Runtime, and runtimed watches only its own namespace, so the bench
// Runtime's pods never see these Runs (their pods/status heartbeat goes on, as it does for us).
// Naming a missing Runtime instead would not do: the scheduler writes RuntimeNotFound on such Runs.
import { microTime, type Run } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { endOfAttemptStatus, scheduledStatus } from '../../lib/run-status.ts';
import { ExecutionState, type StatusResponse } from '../../lib/runtime-proto.ts';
import { outcomeOf } from '../../sidecar/outcome.ts';
import { kubectl } from '../support/platform.ts';

export const PLATFORM_NAMESPACE = 'kruntimes-system';

/** The status patches one Run goes through after its create, in order (pure: unit-tested). */
export function floorStatusWrites(pod: { name: string; uid: string }) {
  const success = outcomeOf({ state: ExecutionState.Succeeded, exitCode: 0 } as StatusResponse, '');
  return [
    (run: Run) => scheduledStatus(run, pod, microTime()),
    // As runtimed writes it for a Run that ended within its claim window: startTime is when the
    // execution started (here: when the chain reached this write), not when it was written.
    (run: Run) => {
      const now = Date.now();
      return { ...endOfAttemptStatus(run, success, now).status, startTime: microTime(new Date(now)) };
    },
  ] as const;
}

/** Creates the Run, then writes its status chain; resolves when the create returned. */
export function floorCreator(
  client: KubeClient,
  namespace: string,
  body: (name: string) => unknown,
  pod: { name: string; uid: string },
  maxInFlight: number,
): { create: (name: string) => Promise<unknown>; errors: unknown[] } {
  const writes = floorStatusWrites(pod);
  const errors: unknown[] = [];
  let inFlight = 0;
  const queue: Array<() => void> = [];
  const chain = async (created: Run) => {
    if (inFlight >= maxInFlight) await new Promise<void>((r) => queue.push(r));
    inFlight++;
    try {
      let run = created;
      for (const status of writes)
        run = await client.mergePatch<Run>(Paths.runStatus(namespace, run.metadata.name!), {
          metadata: { resourceVersion: run.metadata.resourceVersion },
          status: status(run),
        });
    } catch (err) {
      errors.push(err);
    } finally {
      inFlight--;
      queue.shift()?.();
    }
  };
  return {
    errors,
    async create(name: string) {
      const created = await client.create<Run>(Paths.runs(namespace), body(name));
      void chain(created);
      return created;
    },
  };
}

/**
 * Scales every Deployment in kruntimes-system to 0 and waits for their pods to be gone; returns
 * what puts them back (idempotent), also registered for SIGINT/SIGTERM and process exit.
 */
export async function quiescePlatform(): Promise<() => Promise<void>> {
  const list = JSON.parse(
    (await kubectl(['get', 'deployments', '-n', PLATFORM_NAMESPACE, '-o', 'json'])).stdout,
  ) as { items: Array<{ metadata: { name: string }; spec: { replicas?: number } }> };
  const replicas = list.items.map((d) => [d.metadata.name, d.spec.replicas ?? 1] as const);
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    for (const [name, n] of replicas)
      await kubectl(['scale', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, `--replicas=${n}`], { check: false });
    for (const [name] of replicas)
      await kubectl(['rollout', 'status', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, '--timeout=180s'], {
        check: false,
      });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    void restore().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [name] of replicas)
      await kubectl(['scale', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, '--replicas=0']);
    // Gone means no process of ours left watching Runs cluster-wide.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const pods = (await kubectl(['get', 'pods', '-n', PLATFORM_NAMESPACE, '-o', 'name'])).stdout.trim();
      if (!pods) break;
      if (Date.now() > deadline) throw new Error(`platform pods still present: ${pods}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    await restore();
    throw err;
  }
  return restore;
}
