// How `cluster up` and `npm run demo` show their steps: listr2's live renderer on a terminal, one
// timestamped line per step event otherwise (CI logs, pipes), nothing for quiet callers (the e2e
// suite's ensureCluster). Both renderers write to stderr, so `up` keeps stdout for its
// `export KUBECONFIG=…`. Also the small pure helpers steps share: elapsed time as text and the
// tail of a child's output.
import { Listr, ListrLogger, type ListrTask, PRESET_TIMER, PRESET_TIMESTAMP, ProcessOutput } from 'listr2';

export const ProgressMode = {
  /** listr2's live task list (a terminal). */
  live: 'live',
  /** One timestamped line per step start, finish, skip and heartbeat. */
  lines: 'lines',
  quiet: 'quiet',
} as const;
export type ProgressMode = (typeof ProgressMode)[keyof typeof ProgressMode];

/** While a long step runs in `lines` mode, a line says it still does, this often. */
export const HEARTBEAT_MS = 60_000;

/** Live on a terminal that is not CI, plain lines otherwise, quiet unless progress was asked for. */
export function progressMode(wanted: boolean, isTTY: boolean, env: NodeJS.ProcessEnv): ProgressMode {
  if (!wanted) return ProgressMode.quiet;
  return isTTY && !env.CI && env.TERM !== 'dumb' ? ProgressMode.live : ProgressMode.lines;
}

export function currentProgressMode(wanted: boolean): ProgressMode {
  return progressMode(wanted, Boolean(process.stderr.isTTY), process.env);
}

/** 870 ms → "0.9s", 75 s → "1m15s", 3725 s → "62m05s". */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The last lines of a stream of chunks (a child's output), for error messages. */
export class OutputTail {
  private lines: string[] = [];
  private partial = '';
  /** Lines seen so far (a rough measure of progress: `go build -v` prints one per package). */
  count = 0;
  private readonly keep: number;

  constructor(keep = 40) {
    this.keep = keep;
  }

  /** Adds a chunk; returns the complete lines it finished. */
  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    const done = parts.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
    this.count += done.length;
    this.lines.push(...done);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    return done;
  }

  text(): string {
    return [...this.lines, ...(this.partial.trim() ? [this.partial] : [])].join('\n');
  }
}

/**
 * A failed step: the renderers show `message` (one line), the caller gets `detail` too (the tail of
 * the step's output) through runTasks.
 */
export class StepError extends Error {
  override name = 'StepError';
  readonly detail: string;

  constructor(message: string, detail: string) {
    super(message);
    this.detail = detail;
  }
}

/** Runs listr2 tasks with the renderer the mode calls for; rejects with the failed task's error, in full. */
export async function runTasks<T extends object>(mode: ProgressMode, tasks: ListrTask<T>[], ctx: T): Promise<T> {
  try {
    return await listr(mode, tasks, ctx).run();
  } catch (err) {
    if (err instanceof StepError) throw new Error(`${err.message}; its last lines:\n${err.detail}`, { cause: err });
    throw err;
  }
}

function listr<T extends object>(mode: ProgressMode, tasks: ListrTask<T>[], ctx: T): Listr<T> {
  const stderr = process.stderr;
  // Both of listr2's streams go to stderr: its renderers write task lines to "stdout".
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stderr, stderr) });
  return new Listr<T>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: 'default',
    // The error itself (with the tail of the step's output) is the caller's to print, once.
    rendererOptions: { logger, timer: PRESET_TIMER, collapseSubtasks: false, showErrorMessage: false },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { logger, timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP },
    fallbackRendererCondition: mode === ProgressMode.lines,
    silentRendererCondition: mode === ProgressMode.quiet,
  });
}
