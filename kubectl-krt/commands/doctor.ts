// kubectl krt doctor: every check of the Operations Guide's Troubleshooting section, with evidence
// and the next command for each, and an exit code a script can act on.
import { type Run } from '../../lib/api.ts';
import { isNotFound, Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import { allChecks, checksForRun } from '../doctor/checks.ts';
import { gatherSnapshot } from '../doctor/gather.ts';
import { findingsJson, renderFindings, summarize } from '../doctor/render.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagString, OutputFormat, outputFlag } from '../flags.ts';
import { CLIENT_VERSION } from '../version.ts';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the installation, Runtimes, Runs and your permissions; say what is wrong and what to run',
  usage: 'doctor [RUN] [-A | -n NAMESPACE] [-o table|json]',
  description: `Runs every check of the Operations Guide's Troubleshooting section and reports each as ok,
warning or problem, with the evidence and the command to run next:
the CRDs (present, Established, schema equal to this plugin's), the control-plane Deployments in
kruntimes-system (present, ready, version), per namespace each Runtime with its generated
Deployment and Runtime Pods (image pull failures, unschedulable pods, missing Secrets or
ConfigMaps, invalid Pod template fields, crashing containers, a Runtime Server failing its health
check), runtimed's heartbeat on each pod and the capacity in use, Pending Runs and why,
Scheduled Runs that runtimed has not started and their pod's state, Runs stuck on the
kruntimes.io/artifact-cleanup finalizer with the runtime maintainer's state, Workflows that cannot
progress (a spec the controller refused as InvalidSpec, a task whose child Run waits for a Runtime
that does not exist), and your own permissions (get runs, get pods, create pods/portforward).
With RUN, only what concerns that Run: the platform, its Runtime, the Run itself, your permissions.
Exits 7 when it found a problem, 0 otherwise (warnings included).`,
  examples: [
    { comment: 'The namespace of the current context', line: 'doctor' },
    { comment: 'Why is this Run not running?', line: 'doctor hello-x7k2p -n team-a' },
    { comment: 'Every namespace, for a script', line: 'doctor -A -o json' },
  ],
  flags: {
    allNamespaces: { type: 'boolean', shortFlag: 'A', description: 'check every namespace that has Runtimes, Runs or Workflows' },
    output: outputFlag([OutputFormat.Table, OutputFormat.Json]),
  },
  async run(ctx, args) {
    if (args.input.length > 1) throw new UsageError(`doctor takes at most one Run name, got ${args.input.length}`);
    const runName = args.input[0];
    const all = flagBoolean(args, 'allNamespaces');
    if (all && runName) throw new UsageError('-A checks every namespace; with a RUN name, give its namespace with -n instead');
    if (all && flagString(args, 'namespace')) throw new UsageError('-A and -n exclude each other');
    const conn = await ctx.connection();
    const snapshot = await gatherSnapshot(conn.client, {
      namespace: ctx.namespace,
      allNamespaces: all,
      pluginVersion: CLIENT_VERSION,
    });
    let findings = allChecks(snapshot);
    if (runName) {
      let run = snapshot.runs.find((r) => r.metadata.name === runName);
      if (!run && snapshot.crds.every((c) => c.present)) {
        try {
          run = await conn.client.get<Run>(Paths.run(ctx.namespace, runName));
        } catch (err) {
          if (!isNotFound(err) || err instanceof CliError) throw err;
          throw new CliError(`no Run named "${runName}" in namespace ${ctx.namespace}: list them with ${ctx.prog} list`);
        }
      }
      if (run) findings = checksForRun({ ...snapshot, runs: [...snapshot.runs.filter((r) => r !== run), run] }, run);
    }
    ctx.out(flagString(args, 'output') === OutputFormat.Json ? findingsJson(findings) : renderFindings(findings, ctx.chalk));
    return summarize(findings).problem > 0 ? ExitCode.ProblemFound : ExitCode.Ok;
  },
};
