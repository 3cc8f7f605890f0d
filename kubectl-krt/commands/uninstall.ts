// kubectl krt uninstall: the built-in Runtimes first (their Pods drain while the controller still
// runs), then the platform. CRDs stay (deleting them deletes every Run, Runtime and Workflow)
// unless --delete-crds, which says what goes with them and asks first (--yes for scripts).
import { createInterface } from 'node:readline/promises';
import { API_VERSION, Plural } from '../../lib/api.ts';
import type { KubeClient } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean } from '../flags.ts';
import { serviceMonitorServed } from '../install/apply-plan.ts';
import { deleteObject, describeObject, exists } from '../install/objects.ts';
import { Mode } from '../install/preflight.ts';
import { preflight } from '../install/preflight-run.ts';
import { deleteInstallRecord, readInstallRecord } from '../install/record.ts';
import { type K8sObject, renderCrds, renderPlatform, renderRuntimes } from '../install/render.ts';
import { runSteps, type Step } from '../install/tasks.ts';
import { defaultPlatformValues } from '../install/values.ts';
import { PLATFORM_NAMESPACE } from '../platform-version.ts';
import { CLIENT_VERSION } from '../version.ts';

async function countAll(client: KubeClient, plural: string): Promise<number> {
  const list = await client.get<{ items: unknown[] }>(`/apis/${API_VERSION}/${plural}`);
  return list.items.length;
}

/** What deleting the CRDs deletes with them: `3 Runs, 2 Runtimes and 0 Workflows in all namespaces`. */
export function crdLossSentence(counts: { runs: number; runtimes: number; workflows: number }): string {
  const n = (k: number, one: string) => `${k} ${one}${k === 1 ? '' : 's'}`;
  return `${n(counts.runs, 'Run')}, ${n(counts.runtimes, 'Runtime')} and ${n(counts.workflows, 'Workflow')} in all namespaces`;
}

export const uninstallCommand: Command = {
  name: 'uninstall',
  summary: 'remove the built-in Runtimes, then the platform; CRDs only with --delete-crds',
  usage: 'uninstall [flags]',
  description: `Remove what kubectl krt install installed: the built-in Runtimes in every recorded namespace
first, then the platform (Deployments, RBAC, Services, the install record). The namespace
kruntimes-system and workload namespaces stay. The CRDs stay too, and with them every Run, Runtime
and Workflow, unless --delete-crds: that deletes them all cluster-wide, so it says how many and asks
for confirmation (--yes answers it for scripts).`,
  examples: [
    { comment: 'Remove the platform, keep the CRDs and all objects', line: 'uninstall --wait' },
    { comment: 'Remove everything, without a prompt', line: 'uninstall --delete-crds --yes' },
  ],
  flags: {
    deleteCrds: { type: 'boolean', description: 'also delete the CRDs and with them every Run, Runtime and Workflow' },
    yes: { type: 'boolean', shortFlag: 'y', description: 'confirm --delete-crds without a prompt' },
    dryRun: { type: 'boolean', description: 'list what it would delete; change nothing' },
    wait: { type: 'boolean', shortFlag: 'w', description: 'wait until the deleted objects are gone' },
  },
  async run(ctx, args) {
    const deleteCrds = flagBoolean(args, 'deleteCrds');
    if (flagBoolean(args, 'yes') && !deleteCrds) throw new UsageError('--yes confirms --delete-crds; without --delete-crds there is nothing to confirm');
    const conn = await ctx.connection();
    const client = conn.client;
    const record = await readInstallRecord(client);
    const platformValues = record?.platformValues ?? defaultPlatformValues(CLIENT_VERSION);
    const runtimes = record ? record.runtimesNamespaces.flatMap((ns) => renderRuntimes(record.runtimesValues, ns)) : [];
    const platform = renderPlatform(platformValues, {
      namespace: PLATFORM_NAMESPACE,
      capabilities: { serviceMonitor: await serviceMonitorServed(client) },
      includeNamespace: false,
    }).reverse();
    const crds = deleteCrds ? renderCrds() : [];
    const all: K8sObject[] = [...runtimes, ...platform, ...crds];
    if (flagBoolean(args, 'dryRun')) {
      for (const o of all) if (await exists(client, o)) ctx.out(`would delete ${describeObject(o)}\n`);
      if (record) ctx.out(`would delete configmap/kruntimes-install -n ${PLATFORM_NAMESPACE}\n`);
      return ExitCode.Ok;
    }
    await preflight(ctx, client, { mode: Mode.Uninstall, objects: all, record, force: false, verbs: ['delete'] });
    if (deleteCrds) {
      const counts = {
        runs: await countAll(client, Plural.Run),
        runtimes: await countAll(client, Plural.Runtime),
        workflows: await countAll(client, Plural.Workflow),
      };
      const loss = `--delete-crds deletes the CRDs ${crds.map((c) => c.metadata.name).join(', ')} and with them ${crdLossSentence(counts)}`;
      if (!flagBoolean(args, 'yes')) {
        if (!(ctx.io.stdin as NodeJS.ReadStream).isTTY) {
          throw new CliError(`${loss}. Refusing without confirmation: run it in a terminal, or pass --yes (back up first: kubectl krt backup -A)`, ExitCode.Usage);
        }
        const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
        const answer = await rl.question(`${loss}.\nType yes to continue: `);
        rl.close();
        if (answer.trim() !== 'yes') throw new CliError('not confirmed; nothing deleted', ExitCode.Usage);
      } else ctx.warn(loss);
    }
    const deleteAll = (objects: K8sObject[]): Step[] =>
      objects.map((o) => ({
        title: `delete ${describeObject(o)}`,
        task: async (_c, task) => {
          if (!(await deleteObject(client, o))) task.skip(`${describeObject(o)} was not there`);
        },
      }));
    const gone = (objects: K8sObject[]): Step => ({
      title: 'wait until they are gone',
      task: async () => {
        for (const o of objects) {
          while (await exists(client, o)) {
            if (ctx.signal.aborted) throw new CliError('interrupted while waiting for deletion');
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      },
    });
    const wait = flagBoolean(args, 'wait');
    const steps: Step[] = [];
    if (runtimes.length > 0) {
      steps.push({ title: 'built-in Runtimes', task: (_c, task) => task.newListr([...deleteAll(runtimes), ...(wait ? [gone(runtimes)] : [])]) });
    }
    steps.push({ title: `platform in ${PLATFORM_NAMESPACE}`, task: (_c, task) => task.newListr([...deleteAll(platform), ...(wait ? [gone(platform)] : [])]) });
    steps.push({ title: 'install record', task: () => deleteInstallRecord(client) });
    if (deleteCrds) steps.push({ title: 'CustomResourceDefinitions', task: (_c, task) => task.newListr([...deleteAll(crds), ...(wait ? [gone(crds)] : [])]) });
    await runSteps(ctx, steps);
    ctx.out(`kruntimes uninstalled${deleteCrds ? ' with its CRDs' : `; CRDs kept (${renderCrds().map((c) => c.metadata.name).join(', ')})`}\n`);
    return ExitCode.Ok;
  },
};
