// Following a Run's output live while it runs (run --follow, logs -f): the Run is watched, and
// each attempt's log is streamed from runtimed from the moment the attempt is assigned to a pod
// until its output ends. Streaming starts at Scheduled, not Running: runtimed starts a fresh
// assignment at once and writes Running only if it still runs after its claim window
// (lib/claim-window.ts), so a short attempt goes from Scheduled to its end without Running.
// When runtimed cannot be reached, the container log is shown once the Run has finished.
import { setTimeout as delay } from 'node:timers/promises';
import { isTerminal, type Run, RunPhase } from '../../lib/api.ts';
import type { Context } from '../context.ts';
import type { Connection } from '../kube/connection.ts';
import { observeRun } from '../kube/observe-run.ts';
import { NoRunLogError } from './runtimed-log.ts';
import {
  fallbackReason,
  type LogOptions,
  reportLogEnd,
  streamFromRuntimed,
  writeFromContainerLog,
} from './show.ts';
import type { LogWriter } from './writer.ts';

/** After the Run finished, how long its log stream may take to deliver the rest and close. */
const DRAIN_MS = 15_000;
/** runtimed answers 404 until the execution's log exists: while the attempt is Scheduled (not
 * started yet, or preparing its workspace) the stream asks again at these intervals, then every
 * second; once it runs or has ended, it asks this many times before falling back to the container log. */
const NOT_YET_RETRY_MS = [100, 200, 400, 800, 1000] as const;

export interface FollowHooks {
  /** Called with every version of the Run (progress notes). */
  onRun?: (run: Run) => void;
}

function attemptOf(run: Run): number {
  return run.status?.attempt ?? 1;
}

/** Streams the Run's output until it is terminal; resolves with the terminal Run (or the last seen, if interrupted). */
export async function followRun(
  ctx: Context,
  conn: Connection,
  initial: Run,
  options: LogOptions,
  writer: LogWriter,
  hooks: FollowHooks = {},
): Promise<Run> {
  const ns = initial.metadata.namespace!;
  const name = initial.metadata.name!;
  const streams = new AbortController();
  const stopStreams = () => streams.abort();
  ctx.signal.addEventListener('abort', stopStreams, { once: true });

  let current = initial;
  const started = new Set<number>();
  let active: Promise<void> | undefined;
  let fallback: { run: Run; reason: string } | undefined;

  const canStream = (run: Run) =>
    Boolean(run.status?.assignedPod) &&
    (run.status?.phase === RunPhase.Scheduled || run.status?.phase === RunPhase.Running || isTerminal(run.status?.phase));

  const streamAttempt = async (run: Run): Promise<void> => {
    const attempt = attemptOf(run);
    let tries = 0;
    let notYet = 0;
    for (;;) {
      try {
        const end = await streamFromRuntimed(conn, run, { ...options, follow: true }, writer, streams.signal);
        if (!streams.signal.aborted) reportLogEnd(ctx, run, end);
        return;
      } catch (err) {
        if (streams.signal.aborted) return;
        const sameAttempt = attemptOf(current) === attempt;
        const notStarted = current.status?.phase === RunPhase.Scheduled;
        if (err instanceof NoRunLogError && sameAttempt && (notStarted || notYet < NOT_YET_RETRY_MS.length)) {
          const wait = NOT_YET_RETRY_MS[Math.min(tries++, NOT_YET_RETRY_MS.length - 1)];
          if (!notStarted) notYet++;
          await delay(wait, undefined, { signal: streams.signal }).catch(() => {});
          continue;
        }
        fallback = { run, reason: await fallbackReason(ctx, conn, run, err) };
        return;
      }
    }
  };

  let failure: unknown;
  const maybeStart = () => {
    if (active || streams.signal.aborted || !canStream(current)) return;
    const attempt = attemptOf(current);
    if (started.has(attempt)) return;
    started.add(attempt);
    if (attempt > 1) ctx.note(`attempt ${attempt} on pod ${current.status?.assignedPod}`);
    active = streamAttempt(current)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        active = undefined;
        maybeStart();
      });
  };

  let final: Run;
  try {
    final = await observeRun(
      conn,
      ns,
      name,
      (run) => {
        current = run;
        hooks.onRun?.(run);
        maybeStart();
        return isTerminal(run.status?.phase);
      },
      ctx.signal,
    );
    // The output ends with the execution; give the stream a bounded time to deliver the rest.
    if (active && !ctx.signal.aborted) {
      const timer = setTimeout(() => {
        ctx.warn(`the log stream did not end ${DRAIN_MS / 1000}s after the Run finished; stopping it`);
        streams.abort();
      }, DRAIN_MS);
      // A finishing stream may start the last attempt's, hence the loop.
      while (active) await active;
      clearTimeout(timer);
    }
  } finally {
    ctx.signal.removeEventListener('abort', stopStreams);
    streams.abort();
  }
  if (failure) throw failure;
  if (fallback && !ctx.signal.aborted) {
    ctx.note(`${fallback.reason}; showing the container log, which may be incomplete`);
    await writeFromContainerLog(ctx, conn, fallback.run, options, writer, ctx.signal);
  }
  return final;
}
