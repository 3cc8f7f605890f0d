// ttlSecondsAfterFinished: when a finished Run is due for deletion. Pure.
import { isTerminal, type Run } from '../../lib/api.ts';

/** The time (ms since epoch) the Run is to be deleted, or undefined if it is not to be. */
export function ttlDeadlineMs(run: Run): number | undefined {
  const ttl = run.spec.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || !isTerminal(run.status?.phase)) return undefined;
  if (run.metadata.deletionTimestamp) return undefined;
  const done = Date.parse(run.status?.completionTime ?? '');
  if (!Number.isFinite(done)) return undefined;
  return done + ttl * 1000;
}
