// listr2 progress for install, upgrade and uninstall, on stderr so stdout stays for --dry-run YAML.
import { Listr, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import type { Context } from '../context.ts';

export type Step = ListrTask<Record<string, never>>;

export async function runSteps(ctx: Context, steps: Step[]): Promise<void> {
  const stderr = ctx.io.stderr as NodeJS.WriteStream;
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stderr, stderr) });
  const interactive = Boolean(stderr.isTTY) && ctx.io.stdoutIsTTY;
  await new Listr(steps, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: 'default',
    rendererOptions: { logger },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { logger },
    fallbackRendererCondition: !interactive,
  }).run({});
}
