// Getting one attempt's output to the user: from runtimed's log server through port-forwarding,
// and when that is not possible, from runtimed's container log, saying so.
import { createInterface } from 'node:readline';
import { RUNTIMED_CONTAINER, RUNTIMED_HTTP_PORT, type Run } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import type { Context } from '../context.ts';
import { CliError } from '../errors.ts';
import { type Connection, explainForbidden, ForbiddenError } from '../kube/connection.ts';
import { openPortForward, PortForwardError, PortForwardFailure } from '../kube/port-forward.ts';
import { streamGet } from '../kube/stream-get.ts';
import { humanBytes } from '../output/format.ts';
import type { LogChunk, StreamSelection } from './chunk.ts';
import { filterChunks, parseContainerLogLine } from './container-log.ts';
import { fetchRunLog, type LogEnd, NoRunLogError, RuntimedLogError } from './runtimed-log.ts';
import type { LogWriter } from './writer.ts';

export interface LogOptions {
  stream: StreamSelection;
  tailLines?: number;
  sinceTime?: string;
}

/** The Runtime Pod that ran the Run is gone, and with it runtimed and its container log. */
export class PodGoneError extends CliError {
  constructor(run: Run) {
    super(
      `the Runtime Pod ${run.status?.assignedPod} that ran Run ${run.metadata.name} no longer exists, and its logs went with it: the Run's status (kubectl krt describe ${run.metadata.name}) still has its outcome and outputs`,
    );
    this.name = 'PodGoneError';
  }
}

/** Streams the attempt's log from runtimed; throws when it cannot (see fallBack for the why). */
export async function streamFromRuntimed(
  conn: Connection,
  run: Run,
  options: LogOptions & { follow: boolean },
  writer: LogWriter,
  signal?: AbortSignal,
): Promise<LogEnd> {
  const socket = await openPortForward(
    conn,
    run.metadata.namespace!,
    run.status!.assignedPod!,
    RUNTIMED_HTTP_PORT,
  );
  return fetchRunLog(
    socket,
    {
      runUID: run.metadata.uid!,
      stream: options.stream,
      follow: options.follow,
      tailLines: options.tailLines,
      sinceTime: options.sinceTime,
    },
    (chunk) => writer.write(chunk),
    signal,
  );
}

/** Warnings about what runtimed's answer says of the output's completeness. */
export function reportLogEnd(ctx: Context, run: Run, end: LogEnd): void {
  if (end.truncated) {
    ctx.warn(
      `runtimed's on-disk bound dropped part of the output of Run ${run.metadata.name}: what is shown is incomplete`,
    );
  }
  if (!end.complete) {
    ctx.warn(
      `the log stream from runtimed ended before the end of the output: run ${ctx.prog} logs ${run.metadata.name} again`,
    );
  }
}

/**
 * Why runtimed cannot give us the log, as the first half of the fallback note; throws for errors
 * that are not about reaching runtimed, and PodGoneError when the pod no longer exists.
 */
export async function fallbackReason(
  ctx: Context,
  conn: Connection,
  run: Run,
  err: unknown,
): Promise<string> {
  const pod = run.status?.assignedPod;
  if (err instanceof NoRunLogError) return `runtimed on pod ${pod} has no log for this Run (${err.message})`;
  if (err instanceof RuntimedLogError)
    return `runtimed on pod ${pod} could not serve the log (${err.message})`;
  if (err instanceof PortForwardError) {
    if (err.kind === PortForwardFailure.PodNotFound) throw new PodGoneError(run);
    if (err.kind === PortForwardFailure.Forbidden) {
      ctx.warn(
        await explainForbidden(
          conn,
          new ForbiddenError(err.access, err.message),
          'needed to read the Run\'s log from runtimed',
        ),
      );
      return 'port-forwarding to runtimed is not allowed';
    }
    await checkPodExists(conn, run);
    return `runtimed on pod ${pod} unreachable (${err.message})`;
  }
  const code = (err as { code?: string })?.code;
  if (code === 'ECONNRESET' || code === 'EPIPE' || (err as Error)?.message === 'aborted') {
    await checkPodExists(conn, run);
    return `runtimed on pod ${pod} unreachable (the connection broke)`;
  }
  throw err;
}

/** Throws PodGoneError when the assigned pod is gone or is another pod with the same name. */
async function checkPodExists(conn: Connection, run: Run): Promise<void> {
  try {
    const pod = await conn.client.get<{ metadata: { uid?: string } }>(
      Paths.pod(run.metadata.namespace!, run.status!.assignedPod!),
    );
    if (run.status?.assignedPodUID && pod.metadata.uid !== run.status.assignedPodUID)
      throw new PodGoneError(run);
  } catch (err) {
    if (isNotFound(err)) throw new PodGoneError(run);
    if (err instanceof PodGoneError) throw err;
    // Not allowed to read pods, or another problem: the container log request will tell.
  }
}

/**
 * The fallback: runtimed's container log, filtered to this Run's output lines. Returns how many
 * chunks it found.
 */
export async function writeFromContainerLog(
  ctx: Context,
  conn: Connection,
  run: Run,
  options: LogOptions,
  writer: LogWriter,
  signal?: AbortSignal,
): Promise<number> {
  const ns = run.metadata.namespace!;
  const pod = run.status!.assignedPod!;
  let body: Awaited<ReturnType<typeof streamGet>>;
  try {
    body = await streamGet(conn, `${Paths.pod(ns, pod)}/log`, { container: RUNTIMED_CONTAINER }, signal);
  } catch (err) {
    if (isNotFound(err)) throw new PodGoneError(run);
    throw err;
  }
  const chunks: LogChunk[] = [];
  const uid = run.metadata.uid!;
  let truncatedAt: number | undefined;
  for await (const line of createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY })) {
    const entry = parseContainerLogLine(line, uid);
    if (entry === undefined) continue;
    if ('chunk' in entry) chunks.push(entry.chunk);
    else truncatedAt = entry.truncatedAt;
  }
  const kept = filterChunks(chunks, options);
  for (const chunk of kept) writer.write(chunk);
  if (truncatedAt !== undefined) {
    ctx.warn(
      `runtimed copied only the first ${humanBytes(truncatedAt)} of this Run's output to its container log`,
    );
  }
  return kept.length;
}

/** One attempt's log, start to end, with the fallback; for `logs` without -f. */
export async function showAttemptLog(
  ctx: Context,
  conn: Connection,
  run: Run,
  options: LogOptions,
  writer: LogWriter,
): Promise<void> {
  try {
    const end = await streamFromRuntimed(conn, run, { ...options, follow: false }, writer, ctx.signal);
    reportLogEnd(ctx, run, end);
    return;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const reason = await fallbackReason(ctx, conn, run, err);
    ctx.note(`${reason}; showing the container log, which may be incomplete`);
  }
  const found = await writeFromContainerLog(ctx, conn, run, options, writer, ctx.signal);
  if (found === 0)
    ctx.note(`runtimed's container log on pod ${run.status?.assignedPod} holds no output of this Run`);
}
