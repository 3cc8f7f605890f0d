// kubectl krt install: the platform into kruntimes-system and, with --runtimes-namespace, the
// built-in Runtimes; the same objects `helm install` of the charts creates from the same values.
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean } from '../flags.ts';
import { executePlan, makePlan, planObjects, planYaml, serviceMonitorServed } from '../install/apply-plan.ts';
import { runtimesNamespaces, userValues, VALUES_FLAGS } from '../install/options.ts';
import { Mode } from '../install/preflight.ts';
import { preflight } from '../install/preflight-run.ts';
import { readInstallRecord } from '../install/record.ts';
import { platformValues, runtimesValues } from '../install/values.ts';
import { CLIENT_VERSION } from '../version.ts';

export const installCommand: Command = {
  name: 'install',
  summary: 'install the platform (CRDs, scheduler, controller) and the built-in Runtimes',
  usage: 'install [flags]',
  description: `Install kruntimes into kruntimes-system: the CRDs, the scheduler and controller Deployments, their
RBAC and metrics Services, and with --runtimes-namespace the built-in bash and python Runtimes in
each namespace named. Values are the Helm charts' (charts/kruntimes, charts/kruntimes-runtimes);
images default to this plugin's version. First checks the cluster version, your permissions, that
kruntimes is not installed already and that no Helm release owns it. Applies with server-side apply
(field manager kubectl-krt) and records what it installed in ConfigMap kruntimes-install for
kubectl krt upgrade.`,
  examples: [
    { comment: 'Install, with the Runtimes in the namespace team-a, and wait until ready', line: 'install --runtimes-namespace team-a --wait' },
    { comment: 'Pinned images from a registry', line: 'install --scheduler-image reg.example/kruntimes-operator:0.1.0 --controller-image reg.example/kruntimes-operator:0.1.0' },
    { comment: 'See what would be applied', line: 'install --runtimes-namespace default --set logLevel=debug --dry-run' },
  ],
  flags: VALUES_FLAGS,
  async run(ctx, args) {
    const user = userValues(args);
    const record = {
      version: CLIENT_VERSION,
      platformValues: platformValues(CLIENT_VERSION, user.platform),
      runtimesValues: runtimesValues(CLIENT_VERSION, user.runtimes),
      runtimesNamespaces: runtimesNamespaces(args),
      installedAt: new Date().toISOString(),
    };
    const conn = await ctx.connection();
    const client = conn.client;
    const plan = makePlan(record, { serviceMonitor: await serviceMonitorServed(client) });
    if (record.platformValues.metrics.serviceMonitor.enabled && !plan.platform.some((o) => o.kind === 'ServiceMonitor')) {
      ctx.warn('metrics.serviceMonitor.enabled is set but the cluster has no monitoring.coreos.com/v1 ServiceMonitor CRD; skipping it');
    }
    if (flagBoolean(args, 'dryRun')) {
      ctx.out(planYaml(plan));
      return ExitCode.Ok;
    }
    await preflight(ctx, client, {
      mode: Mode.Install,
      objects: planObjects(plan),
      record: await readInstallRecord(client),
      force: false,
      verbs: ['create', 'patch'],
    });
    await executePlan(ctx, client, plan, { wait: flagBoolean(args, 'wait') });
    ctx.out(`kruntimes ${CLIENT_VERSION} installed in kruntimes-system${record.runtimesNamespaces.length ? `; built-in Runtimes in ${record.runtimesNamespaces.join(', ')}` : ''}\n`);
    return ExitCode.Ok;
  },
};
