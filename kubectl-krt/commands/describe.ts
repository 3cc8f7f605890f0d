// kubectl krt describe RUN...: phase, attempts, timing, pod, outputs, artifacts, conditions,
// recent events, and in plain words why it waits or how it failed.
import { Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { type Connection, ForbiddenError } from '../kube/connection.ts';
import { getRun, RunNotFoundError } from '../kube/observe-run.ts';
import { describeRun, type KubeEvent } from '../output/describe-run.ts';

/** The Events about one object (by UID) in the namespace; none, with a note, when you may not list them. */
export async function eventsAbout(ctx: Context, conn: Connection, uid: string | undefined): Promise<KubeEvent[]> {
  try {
    return (
      await conn.client.get<{ items: KubeEvent[] }>(Paths.events(ctx.namespace), {
        query: { fieldSelector: `involvedObject.uid=${uid}` },
      })
    ).items;
  } catch (err) {
    // Events are a help, not the point: describe the object without them.
    if (!(err instanceof ForbiddenError)) throw err;
    ctx.note(`events not shown: you may not list events in namespace ${ctx.namespace}`);
    return [];
  }
}

export const describeCommand: Command = {
  name: 'describe',
  summary: 'explain a Run: phase, attempts, timing, outputs, conditions, events',
  usage: 'describe RUN... [flags]',
  description:
    'Describe Runs in detail: phase and reason with a plain-language explanation of why a Run waits or how it failed, attempts, timing between creation, scheduling, start and completion, the assigned pod, outputs, artifact references, conditions and the recent Events about it.',
  examples: [{ comment: 'Why is my Run still Pending?', line: 'describe hello-x7k2p' }],
  flags: {},
  async run(ctx, args) {
    if (args.input.length === 0) throw new UsageError('name the Runs to describe');
    const conn = await ctx.connection();
    let missing = false;
    let first = true;
    for (const name of args.input) {
      let run: Awaited<ReturnType<typeof getRun>>;
      try {
        run = await getRun(conn, ctx.namespace, name);
      } catch (err) {
        if (!(err instanceof RunNotFoundError)) throw err;
        ctx.error(err.message);
        missing = true;
        continue;
      }
      const events = await eventsAbout(ctx, conn, run.metadata.uid);
      if (!first) ctx.out('\n');
      first = false;
      ctx.out(describeRun(run, events, ctx.chalk, Date.now()));
    }
    return missing ? ExitCode.Error : ExitCode.Ok;
  },
};
