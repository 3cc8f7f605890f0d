// kubectl krt upgrade: platform first (CRDs updated in place, then the Deployments), then the
// built-in Runtimes in every recorded namespace, from the recorded values plus the new flags.
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean } from '../flags.ts';
import { executePlan, makePlan, planObjects, planYaml, serviceMonitorServed } from '../install/apply-plan.ts';
import { runtimesNamespaces, userValues, VALUES_FLAGS } from '../install/options.ts';
import { Mode } from '../install/preflight.ts';
import { preflight } from '../install/preflight-run.ts';
import { type InstallRecord, readInstallRecord } from '../install/record.ts';
import { upgradeValues } from '../install/values.ts';
import { CLIENT_VERSION } from '../version.ts';

export const upgradeCommand: Command = {
  name: 'upgrade',
  summary: 'upgrade the platform, then the built-in Runtimes, reusing the recorded values',
  usage: 'upgrade [flags]',
  description: `Upgrade what kubectl krt install installed to this plugin's version: the CRDs in place and the
platform first, then the built-in Runtimes in every recorded namespace (plus any --runtimes-namespace).
Reuses the values recorded at install; --set, -f and the image flags change them. Refuses to
downgrade (a plugin older than the installed version) unless --force.`,
  examples: [
    { comment: 'Upgrade to this plugin\'s version, keeping every value', line: 'upgrade --wait' },
    { comment: 'Change a setting', line: 'upgrade --set logLevel=debug --set bash.capacity=8' },
  ],
  flags: {
    ...VALUES_FLAGS,
    force: { type: 'boolean', description: 'upgrade even when it is a downgrade' },
  },
  async run(ctx, args) {
    const user = userValues(args);
    const conn = await ctx.connection();
    const client = conn.client;
    const recorded = await readInstallRecord(client);
    const force = flagBoolean(args, 'force');
    if (!recorded) {
      await preflight(ctx, client, { mode: Mode.Upgrade, objects: [], record: undefined, force, verbs: [] });
      return ExitCode.Error;
    }
    const values = upgradeValues(recorded, user, CLIENT_VERSION);
    const record: InstallRecord = {
      version: CLIENT_VERSION,
      platformValues: values.platform,
      runtimesValues: values.runtimes,
      runtimesNamespaces: [...new Set([...recorded.runtimesNamespaces, ...runtimesNamespaces(args)])],
      installedAt: recorded.installedAt,
      upgradedAt: new Date().toISOString(),
    };
    const plan = makePlan(record, { serviceMonitor: await serviceMonitorServed(client) });
    if (flagBoolean(args, 'dryRun')) {
      ctx.out(planYaml(plan));
      return ExitCode.Ok;
    }
    await preflight(ctx, client, { mode: Mode.Upgrade, objects: planObjects(plan), record: recorded, force, verbs: ['create', 'patch'] });
    await executePlan(ctx, client, plan, { wait: flagBoolean(args, 'wait') });
    ctx.out(`kruntimes upgraded from ${recorded.version} to ${CLIENT_VERSION}${record.runtimesNamespaces.length ? `; built-in Runtimes in ${record.runtimesNamespaces.join(', ')}` : ''}\n`);
    return ExitCode.Ok;
  },
};
