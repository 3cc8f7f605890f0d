// kubectl krt backup: Runtimes, Runs and Workflows with their status, the install record and, when
// asked, the Secrets the Runtimes reference, into one verified archive.
import { rename, stat, writeFile } from 'node:fs/promises';
import { writeArchive } from '../backup/archive.ts';
import { type Collected, collectBackup } from '../backup/cluster.ts';
import { runTasks } from '../backup/tasks.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagString } from '../flags.ts';
import { CLIENT_VERSION } from '../version.ts';

export const backupCommand: Command = {
  name: 'backup',
  summary: 'back up Runtimes, Runs and Workflows (with status) and the install values to one archive',
  usage: 'backup [-A | -n NAMESPACE] -o FILE [--include-secrets]',
  description: `Writes one tar.gz archive: manifest.json (plugin version, creation time, counts and the
sha256 of every file) and the Runtime, Run and Workflow objects of the namespace (or of every
namespace with -A) with their status, plus the install record kubectl krt install keeps (the
values it installed with). With --include-secrets it also holds the Secrets the Runtimes reference
(artifact store credentials, Secrets their Pod template mounts or reads): keep such an archive as
safely as the Secrets themselves. PVC contents and object store buckets are not included: back
them up with their own tools. Restore with kubectl krt restore FILE.`,
  examples: [
    { comment: 'One namespace', line: 'backup -n team-a -o team-a.tar.gz' },
    { comment: 'Everything, with the Secrets the Runtimes need', line: 'backup -A --include-secrets -o kruntimes.tar.gz' },
  ],
  flags: {
    allNamespaces: { type: 'boolean', shortFlag: 'A', description: 'back up every namespace' },
    output: { type: 'string', shortFlag: 'o', valueName: 'FILE', description: 'the archive to write (tar.gz)' },
    includeSecrets: {
      type: 'boolean',
      description: 'include the Secrets the Runtimes reference (credentials: keep the archive safe)',
    },
    overwrite: { type: 'boolean', description: 'replace FILE if it exists' },
  },
  async run(ctx, args) {
    const file = flagString(args, 'output');
    if (!file) throw new UsageError('say where to write the archive: -o FILE (for example -o kruntimes-backup.tar.gz)');
    if (args.input.length > 0) throw new UsageError(`backup takes no arguments (got "${args.input.join(' ')}"); name the file with -o`);
    const all = flagBoolean(args, 'allNamespaces');
    if (all && flagString(args, 'namespace'))
      throw new UsageError('-A and -n exclude each other: back up every namespace (-A) or one (-n NAMESPACE)');
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (exists && !flagBoolean(args, 'overwrite'))
      throw new UsageError(`${file} exists: choose another file or pass --overwrite`);
    const includeSecrets = flagBoolean(args, 'includeSecrets');
    const namespaces = all ? undefined : [ctx.namespace];
    const conn = await ctx.connection();
    const created = new Date().toISOString();
    const state: { collected?: Collected; sha?: string; bytes?: number } = {};
    const where = all ? 'every namespace' : `namespace ${ctx.namespace}`;
    await runTasks(
      ctx,
      [
        {
          title: `Reading Runtimes, Runs and Workflows of ${where}${includeSecrets ? ' and their Secrets' : ''}`,
          task: async (_c, task) => {
            state.collected = await collectBackup(conn.client, { namespaces, includeSecrets });
            const n = state.collected.contents;
            task.title = `Read ${n.runtimes.length} Runtimes, ${n.runs.length} Runs, ${n.workflows.length} Workflows${
              n.secrets ? `, ${n.secrets.length} Secrets` : ''
            }${n.installRecord ? ' and the install record' : ''}`;
          },
        },
        {
          title: `Writing ${file}`,
          task: async (_c, task) => {
            const { data } = await writeArchive(state.collected!.contents, {
              version: CLIENT_VERSION,
              created,
              namespaces: namespaces ?? [],
              allNamespaces: all,
            });
            // Written aside and renamed: an interrupted backup never leaves a truncated archive under FILE.
            const tmp = `${file}.partial-${process.pid}`;
            await writeFile(tmp, data, { mode: 0o600 });
            await rename(tmp, file);
            state.bytes = data.length;
            task.title = `Wrote ${file} (${data.length} bytes)`;
          },
        },
      ],
      {},
    );
    const { contents, missingSecrets } = state.collected!;
    if (includeSecrets) {
      ctx.warn(
        `${file} holds ${contents.secrets!.length} Secret(s) in clear (base64): store it as safely as the credentials themselves`,
      );
    }
    for (const m of missingSecrets) ctx.warn(`Secret ${m} does not exist, so it is not in the backup`);
    if (!contents.installRecord)
      ctx.note('no install record (ConfigMap kruntimes-install in kruntimes-system): the platform was not installed with kubectl krt install; back up its Helm values with helm get values');
    ctx.out(
      `backup written to ${file}: ${contents.runtimes.length} Runtimes, ${contents.runs.length} Runs, ${contents.workflows.length} Workflows, ${
        contents.secrets?.length ?? 0
      } Secrets, ${contents.installRecord ? 'the install record' : 'no install record'}\n`,
    );
    return ExitCode.Ok;
  },
};
