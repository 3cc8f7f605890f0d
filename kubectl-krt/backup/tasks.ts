// listr2 progress for backup and restore, on stderr so stdout keeps only the result: the live
// renderer on a terminal, one line per task otherwise (CI logs, pipes).
import { Listr, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import type { Context } from '../context.ts';

export async function runTasks<T extends object>(ctx: Context, tasks: ListrTask<T>[], initial: T): Promise<T> {
  const stderr = ctx.io.stderr as NodeJS.WriteStream;
  // Both of listr2's streams go to stderr: its renderers write task lines to "stdout".
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stderr, stderr) });
  const interactive = Boolean(stderr.isTTY) && ctx.io.stdoutIsTTY;
  return new Listr<T>(tasks, {
    ctx: initial,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: 'default',
    rendererOptions: { logger, collapseErrors: false },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { logger },
    fallbackRendererCondition: !interactive,
  }).run();
}
