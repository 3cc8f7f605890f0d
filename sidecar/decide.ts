// What runtimed does about one observed Run: a pure decision, unit-tested without a cluster.
import { isTerminal, type Run, RunPhase } from '../lib/api.ts';

export type RunAction = 'claim' | 'cancel-unstarted' | 'cancel' | 'adopt' | 'none';

export interface RunObservation {
  run: Run;
  podName: string;
  podUID: string;
  /** runtimed's own record of the Run, if it is handling it. */
  local?: { stage: 'claiming' | 'executing' | 'finishing'; cancelSent: boolean };
  /** runtimed already finished this Run (a late watch event must not re-adopt it). */
  finished?: boolean;
  /** False once the pod is terminating: no new claims. */
  accepting: boolean;
}

export function decideRunAction(o: RunObservation): RunAction {
  const { run, local } = o;
  const status = run.status ?? {};
  const mine =
    status.assignedPod === o.podName && (!status.assignedPodUID || status.assignedPodUID === o.podUID);
  if (!mine || isTerminal(status.phase) || o.finished) return 'none';
  if (status.phase === RunPhase.Scheduled) {
    if (local) return 'none';
    if (run.spec.cancelRequested) return 'cancel-unstarted';
    return o.accepting ? 'claim' : 'none';
  }
  if (status.phase === RunPhase.Running) {
    if (!local) return 'adopt';
    if (run.spec.cancelRequested && local.stage === 'executing' && !local.cancelSent) return 'cancel';
  }
  return 'none';
}
