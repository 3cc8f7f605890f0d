// listr2 progress for backup and restore, on stderr so stdout keeps only the result: the live
// renderer on a terminal, one line per finished task otherwise (CI logs, pipes).
import type { Writable } from 'node:stream';
import { Listr, type ListrTask, ProcessOutput } from 'listr2';
import type { Context } from '../context.ts';

export async function runTasks<T extends object>(ctx: Context, tasks: ListrTask<T>[], initial: T): Promise<T> {
  const stderr = ctx.io.stderr as Writable & { isTTY?: boolean };
  const output = new ProcessOutput(stderr as NodeJS.WriteStream, stderr as NodeJS.WriteStream);
  const list = new Listr<T>(tasks, {
    ctx: initial,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: stderr.isTTY ? 'default' : 'simple',
    fallbackRenderer: 'simple',
    rendererOptions: { collapseErrors: false },
    processOutput: output,
  } as never);
  return list.run();
}
