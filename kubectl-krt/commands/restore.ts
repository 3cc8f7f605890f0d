// kubectl krt restore: a backup archive back into the cluster, in the Operations Guide's order,
// with status, so finished Runs stay finished and are never executed again.
import { readFile } from 'node:fs/promises';
import { ArchiveError, readArchive } from '../backup/archive.ts';
import { clusterState, platformState, Restorer, retryWhileBusy } from '../backup/cluster.ts';
import { describeStep, planRestore, type Step, StepAction, StepKind } from '../backup/restore-plan.ts';
import { runTasks } from '../backup/tasks.ts';
import type { Command } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean } from '../flags.ts';
import { executePlan, makePlan, serviceMonitorServed } from '../install/apply-plan.ts';
import { parseInstallRecord } from '../install/record.ts';
import { OPERATOR_DEPLOYMENTS } from '../platform-version.ts';

const PHASES: ReadonlyArray<{ title: string; kinds: readonly StepKind[] }> = [
  { title: 'External dependencies: namespaces and Secrets', kinds: [StepKind.Namespace, StepKind.Secret] },
  { title: 'Runtimes', kinds: [StepKind.Runtime] },
  { title: 'Workflows', kinds: [StepKind.Workflow] },
  { title: 'Runs', kinds: [StepKind.Run] },
];

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore a backup: Secrets, Runtimes, then Runs and Workflows with their status',
  usage: 'restore FILE [--dry-run] [--install]',
  description: `Restores an archive written by kubectl krt backup, after checking every file against
the checksums in its manifest, in the Operations Guide's order: namespaces and Secrets (external
dependencies), then the platform (it must be installed: CRDs and control plane; the install record
is put back if missing), then Runtimes, then Workflows and Runs — only those whose Runtime and
artifact store (its Secret or PersistentVolumeClaim) are there; the others are listed as skipped
with the reason, and a later restore picks them up.
Runs and Workflows get their status back: a finished Run keeps its phase, outputs and times and
never runs again (it is created with the annotation kruntimes.io/restoring, which the scheduler
waits on until its status is written). A Run that was Scheduled or Running when backed up lost
that attempt with its pod and runs again. The original creation time is kept in the annotation
kruntimes.io/original-creation-timestamp. Restoring again is safe: what exists is left alone
(Runtimes are updated to the backed-up spec), a restore cut short is finished.
When the platform is missing, --install installs it first from the values the backup recorded
(what kubectl krt install did, with the same record); without it, restore stops and says so.`,
  examples: [
    { comment: 'See what would be restored', line: 'restore kruntimes.tar.gz --dry-run' },
    { comment: 'Restore', line: 'restore kruntimes.tar.gz' },
    { comment: 'Into an empty cluster: the platform from the recorded values, then the objects', line: 'restore kruntimes.tar.gz --install' },
  ],
  flags: {
    dryRun: { type: 'boolean', description: 'print the plan (each object and what would be done) and change nothing' },
    install: {
      type: 'boolean',
      description: 'when the platform is missing, install it from the values the backup recorded (as kubectl krt install)',
    },
  },
  async run(ctx, args) {
    if (args.input.length !== 1)
      throw new UsageError(args.input.length === 0 ? 'name the backup archive: restore FILE' : `restore takes one archive, got ${args.input.length}`);
    const file = args.input[0];
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let archive;
    try {
      archive = await readArchive(data);
    } catch (err) {
      if (err instanceof ArchiveError) throw new CliError(`${file}: ${err.message}`);
      throw err;
    }
    const { manifest, contents } = archive;
    const dryRun = flagBoolean(args, 'dryRun');
    ctx.note(
      `${file}: backup of ${manifest.allNamespaces ? 'every namespace' : `namespace ${manifest.namespaces.join(', ')}`} taken ${manifest.created} by kubectl krt ${manifest.version}; checksums verified`,
    );
    const conn = await ctx.connection();
    retryWhileBusy(conn.client);
    let platform = await platformState(conn.client, OPERATOR_DEPLOYMENTS);
    const recorded = contents.installRecord?.version ? ` (the backup records version ${contents.installRecord.version})` : '';
    const platformMissing = platform.missingCrds.length > 0 || platform.missingDeployments.length > 0;
    if (platformMissing && flagBoolean(args, 'install') && !dryRun) {
      if (!contents.installRecord) {
        throw new CliError(
          `${file} holds no install record (the platform it came from was not installed with ${ctx.prog} install): install the platform yourself (${ctx.prog} install), then restore without --install`,
        );
      }
      const record = parseInstallRecord(contents.installRecord);
      ctx.note(`installing the platform ${record.version} from the values the backup recorded`);
      await executePlan(ctx, conn.client, makePlan(record, { serviceMonitor: await serviceMonitorServed(conn.client) }), {
        wait: true,
      });
      platform = await platformState(conn.client, OPERATOR_DEPLOYMENTS);
    }
    if (platform.missingCrds.length > 0 && !dryRun) {
      throw new CliError(
        `the platform is not installed (no CRD ${platform.missingCrds.join(', ')}): install it first with ${ctx.prog} install${recorded}${
          contents.installRecord ? ', or pass --install to install it from the values the backup recorded' : ''
        }, then run ${ctx.prog} restore ${file} again`,
      );
    }
    if (platform.missingDeployments.length > 0) {
      ctx.warn(
        `the control plane is incomplete (no Deployment ${platform.missingDeployments.join(', ')} in kruntimes-system): restored Pending Runs wait until it runs; repair it with ${ctx.prog} install or ${ctx.prog} upgrade`,
      );
    }
    const cluster = await clusterState(conn.client, contents, platform.missingCrds.length === 0);
    const steps = planRestore(contents, cluster);
    if (dryRun) {
      if (platform.missingCrds.length > 0) {
        ctx.out(
          flagBoolean(args, 'install') && contents.installRecord
            ? `Platform: install ${contents.installRecord.version ?? ''} from the recorded values (no CRD ${platform.missingCrds.join(', ')})\n`
            : `Platform: missing (no CRD ${platform.missingCrds.join(', ')}): install it first with ${ctx.prog} install${recorded}\n`,
        );
      }
      for (const step of steps) ctx.out(`${describeStep(step)}\n`);
      ctx.note('dry run: nothing was changed');
      return ExitCode.Ok;
    }
    const restorer = new Restorer({ client: conn.client, backup: contents, cluster });
    await runTasks(
      ctx,
      PHASES.map((phase) => {
        const mine = steps.filter((s) => phase.kinds.includes(s.kind));
        const todo = mine.filter((s) => s.action !== StepAction.Skip && s.action !== StepAction.Unchanged);
        return {
          title: `${phase.title} (${todo.length} to restore of ${mine.length})`,
          skip: () => mine.length === 0,
          task: async () => {
            for (const step of todo) await restorer.apply(step);
          },
        };
      }),
      {},
    );
    const count = (action: StepAction) =>
      steps.filter((s: Step) => s.action === action && s.kind !== StepKind.Namespace).length;
    for (const step of steps.filter((s) => s.action === StepAction.Skip)) {
      if (step.kind === StepKind.InstallRecord) ctx.note(describeStep(step));
      else ctx.warn(`not restored: ${describeStep(step)}`);
    }
    ctx.out(
      `restored from ${file}: ${count(StepAction.Create)} created, ${count(StepAction.Update)} updated, ${count(StepAction.Resume)} resumed, ${count(StepAction.Unchanged)} already there, ${count(StepAction.Skip)} skipped\n`,
    );
    return ExitCode.Ok;
  },
};
