// GET /containerLogs/{namespace}/{pod}/{container}: what `kubectl logs [-f]` reaches through the
// apiserver. Reads the CRI log file; with follow=true continues with the live writer's records
// until the container's run ends.
import fs from 'node:fs';
import type http from 'node:http';
import type { ContainerLogWriter } from './container-log-writer.ts';
import type { CriRecord, LogQuery } from './cri-log.ts';
import { FileLineReader, LogRenderer, parseLogQuery, TailBuffer } from './cri-log.ts';
import type { PodWorker } from './pod-worker.ts';

export class LogRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface LogSource {
  file: string;
  /** Present while the run is live: follow continues with its new records. */
  live?: ContainerLogWriter;
}

function logSource(worker: PodWorker, container: string, q: LogQuery): LogSource {
  const podName = worker.pod.metadata?.name;
  const runner = worker.containerRunner(container);
  if (!runner) throw new LogRequestError(400, `container ${container} is not valid for pod ${podName}`);
  if (q.previous) {
    const file = worker.dirs.logFile(container, runner.restartCount - 1);
    if (runner.restartCount < 1 || !fs.existsSync(file)) {
      throw new LogRequestError(
        400,
        `previous terminated container "${container}" in pod "${podName}" not found`,
      );
    }
    return { file };
  }
  const live = runner.currentLog;
  if (live) return { file: live.file, live: live.closed ? undefined : live };
  // After an agent restart the last run's file is still there.
  const file = worker.dirs.logFile(container, runner.restartCount);
  if (fs.existsSync(file)) return { file };
  const reason = runner.state.waiting?.reason ?? 'ContainerCreating';
  throw new LogRequestError(
    400,
    `container "${container}" in pod "${podName}" is waiting to start: ${reason}`,
  );
}

/** Streams the records of file bytes [0, end) to `emit`. */
async function readRecords(file: string, end: number, emit: (r: CriRecord) => void): Promise<void> {
  if (end <= 0) return;
  const reader = new FileLineReader();
  for await (const chunk of fs.createReadStream(file, {
    start: 0,
    end: end - 1,
    highWaterMark: 256 * 1024,
  })) {
    for (const r of reader.push(chunk as Buffer)) emit(r);
  }
}

export async function serveContainerLogs(
  worker: PodWorker,
  container: string,
  params: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  let q: LogQuery;
  let src: LogSource;
  try {
    q = parseLogQuery(params);
    src = logSource(worker, container, q);
  } catch (err) {
    const status = err instanceof LogRequestError ? err.status : 400;
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end((err as Error).message);
    return;
  }
  const renderer = new LogRenderer(q);
  let closed = false;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  const out = (r: CriRecord) => {
    const b = renderer.render(r);
    if (b && b.length > 0 && !closed) res.write(b);
  };

  // Follow: subscribe in the same tick as taking the file size, so no record is missed or doubled.
  const live = q.follow ? src.live : undefined;
  const end = live ? live.size : fs.statSync(src.file).size;
  const queued: CriRecord[] = [];
  let catchingUp = true;
  const onRecords = (records: CriRecord[]) => {
    if (catchingUp) queued.push(...records);
    else for (const r of records) out(r);
    if (renderer.done) finish();
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    live?.off('records', onRecords);
    live?.off('close', finish);
    res.end();
  };
  live?.on('records', onRecords);
  live?.on('close', finish);
  req.on('close', finish);

  try {
    if (q.tailLines !== undefined) {
      const tail = new TailBuffer(q.tailLines);
      await readRecords(src.file, end, (r) => tail.push(r));
      for (const r of tail.records()) out(r);
    } else {
      await readRecords(src.file, end, out);
    }
  } catch (err) {
    if (!closed) res.write(`\nerror reading log: ${(err as Error).message}\n`);
    finish();
    return;
  }
  catchingUp = false;
  for (const r of queued.splice(0)) out(r);
  if (!live || live.closed || renderer.done) finish();
}
