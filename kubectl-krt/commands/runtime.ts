// kubectl krt runtime list|get: the Runtime pools, how full they are, and the heartbeat of each pod.
import { Label, type Run, RunPhase, type Runtime } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagString, isMachineFormat, OutputFormat, outputFlag } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { ResourceName, renderObjects } from '../output/print.ts';
import {
  describeRuntime,
  type PodInfo,
  podsOf,
  type RuntimeRow,
  renderRuntimeTable,
} from '../output/runtime-table.ts';

async function activeRuns(conn: Connection, namespace: string | undefined, runtime?: string): Promise<Run[]> {
  // Field selectors cannot OR, so one list per phase that holds a slot.
  const lists = await Promise.all(
    [RunPhase.Scheduled, RunPhase.Running].map((phase) =>
      conn.client.get<{ items: Run[] }>(Paths.runs(namespace), {
        query: {
          fieldSelector: [`status.phase=${phase}`, ...(runtime ? [`spec.runtime=${runtime}`] : [])].join(','),
        },
      }),
    ),
  );
  return lists.flatMap((l) => l.items);
}

async function runtimePods(
  conn: Connection,
  namespace: string | undefined,
  runtime?: string,
): Promise<PodInfo[]> {
  const list = await conn.client.get<{ items: PodInfo[] }>(Paths.pods(namespace), {
    query: { labelSelector: runtime ? `${Label.Runtime}=${runtime}` : Label.Runtime },
  });
  return list.items;
}

function rowsFor(runtimes: readonly Runtime[], pods: readonly PodInfo[], runs: readonly Run[]): RuntimeRow[] {
  return runtimes.map((runtime) => ({
    runtime,
    pods: podsOf(runtime, pods),
    runs: runs.filter(
      (r) => r.spec.runtime === runtime.metadata.name && r.metadata.namespace === runtime.metadata.namespace,
    ),
  }));
}

export const runtimeCommand: Command = {
  name: 'runtime',
  aliases: ['runtimes', 'rt'],
  summary: 'list Runtimes or show one with its pods (runtime list|get)',
  usage: 'runtime list|get [NAME...] [flags]',
  description: `Show Runtimes: replicas and ready pods, capacity per pod, slots in use (Runs Scheduled or
Running), and with "get" each Runtime Pod with its readiness, runtimed's heartbeat (the pod
condition kruntimes.io/RuntimedReady and the age of its last probe) and its slots in use.`,
  examples: [
    { comment: 'All Runtimes of the namespace', line: 'runtime list' },
    { comment: 'One Runtime and its pods', line: 'runtime get bash' },
  ],
  flags: {
    allNamespaces: { type: 'boolean', shortFlag: 'A', description: 'Runtimes of every namespace (list)' },
    output: outputFlag([
      OutputFormat.Table,
      OutputFormat.Wide,
      OutputFormat.Json,
      OutputFormat.Yaml,
      OutputFormat.Name,
    ]),
  },
  async run(ctx, args) {
    const [verb, ...names] = args.input;
    const output = flagString(args, 'output');
    const all = flagBoolean(args, 'allNamespaces');
    if (verb === 'list' || verb === 'ls') {
      if (names.length > 0)
        throw new UsageError(
          `runtime list takes no names; to show some: ${ctx.prog} runtime get ${names.join(' ')}`,
        );
      const ns = all ? undefined : ctx.namespace;
      const conn = await ctx.connection();
      const runtimes = (await conn.client.get<{ items: Runtime[] }>(Paths.runtimes(ns))).items;
      if (isMachineFormat(output)) {
        ctx.out(renderObjects(runtimes, output, ResourceName.Runtime, false));
        return ExitCode.Ok;
      }
      if (runtimes.length === 0) {
        ctx.note(all ? 'no Runtimes found' : `no Runtimes found in namespace ${ctx.namespace}`);
        return ExitCode.Ok;
      }
      const [pods, runs] = await Promise.all([runtimePods(conn, ns), activeRuns(conn, ns)]);
      ctx.out(
        renderRuntimeTable(rowsFor(runtimes, pods, runs), {
          wide: output === OutputFormat.Wide,
          namespaces: all,
          now: Date.now(),
        }),
      );
      return ExitCode.Ok;
    }
    if (verb === 'get') {
      if (names.length === 0)
        throw new UsageError(`name the Runtimes to show; to list them: ${ctx.prog} runtime list`);
      const conn = await ctx.connection();
      const found: Runtime[] = [];
      let missing = false;
      for (const name of names) {
        try {
          found.push(await conn.client.get<Runtime>(Paths.runtime(ctx.namespace, name)));
        } catch (err) {
          if (!isNotFound(err) || err instanceof CliError) throw err;
          ctx.error(
            `no Runtime named "${name}" in namespace ${ctx.namespace}: list them with ${ctx.prog} runtime list`,
          );
          missing = true;
        }
      }
      if (isMachineFormat(output)) {
        if (found.length > 0) ctx.out(renderObjects(found, output, ResourceName.Runtime, names.length === 1));
      } else {
        let first = true;
        for (const runtime of found) {
          const name = runtime.metadata.name!;
          const [pods, runs] = await Promise.all([
            runtimePods(conn, ctx.namespace, name),
            activeRuns(conn, ctx.namespace, name),
          ]);
          if (!first) ctx.out('\n');
          first = false;
          ctx.out(describeRuntime({ runtime, pods, runs }, ctx.chalk, Date.now()));
        }
      }
      return missing ? ExitCode.Error : ExitCode.Ok;
    }
    throw new UsageError(
      verb === undefined
        ? `say what to do: ${ctx.prog} runtime list, or ${ctx.prog} runtime get NAME`
        : `unknown runtime command "${verb}": use list or get`,
    );
  },
};
