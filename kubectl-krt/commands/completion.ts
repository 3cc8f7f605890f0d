// kubectl krt completion bash|zsh|fish, and __complete: the completion protocol both the scripts
// and kubectl (through kubectl_complete-krt) call.
import type { Workflow } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import { allTasks } from '../../lib/workflow-names.ts';
import type { Command } from '../command.ts';
import { type CompletionRequest, Directive, planCompletion, renderCompletions } from '../completion/plan.ts';
import { completionScript, Shell } from '../completion/scripts.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { connect, contextNamespace, loadKubeConfig } from '../kube/connection.ts';

export const completionCommand: Command = {
  name: 'completion',
  summary: 'print a shell completion script (bash, zsh, fish)',
  usage: 'completion bash|zsh|fish',
  description: `Print a completion script for the kubectl-krt command. It completes commands, flags, and
the names of Runs, Runtimes, Workflows and their tasks from the cluster. For "kubectl krt <TAB>",
kubectl 1.26 and later use the kubectl_complete-krt executable installed next to kubectl-krt; no
script is needed.`,
  examples: [
    { comment: 'bash, for this shell', line: 'completion bash > /tmp/krt.bash && source /tmp/krt.bash' },
    {
      comment: 'zsh, permanently (a directory on your $fpath)',
      line: 'completion zsh > ~/.zfunc/_kubectl-krt',
    },
  ],
  flags: {},
  async run(ctx, args) {
    const shell = args.input[0];
    if (shell !== Shell.Bash && shell !== Shell.Zsh && shell !== Shell.Fish) {
      throw new UsageError(`name the shell: ${ctx.prog} completion bash|zsh|fish`);
    }
    ctx.out(completionScript(shell));
    return ExitCode.Ok;
  },
};

/** Lookups must not hang a shell: a short bound on the whole answer. */
const LOOKUP_TIMEOUT_MS = 5000;

async function candidates(request: CompletionRequest): Promise<{ values: string[]; directive: number }> {
  const plan = request.plan;
  if (plan.kind === 'values') return { values: [...plan.values], directive: Directive.NoFileComp };
  if (plan.kind === 'files') return { values: [], directive: Directive.Default };
  if (plan.kind === 'nothing') return { values: [], directive: Directive.NoFileComp };
  const kc = loadKubeConfig({ kubeconfig: request.kubeconfig, context: request.context });
  if (plan.kind === 'contexts')
    return { values: kc.getContexts().map((c) => c.name), directive: Directive.NoFileComp };
  const conn = await connect({ kubeconfig: request.kubeconfig, context: request.context });
  try {
    const ns = request.namespace ?? contextNamespace(kc);
    const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    if (plan.kind === 'tasks') {
      const workflow = await conn.client.get<Workflow>(Paths.workflow(ns, plan.workflow), { signal });
      return { values: allTasks(workflow).map((t) => t.task.name), directive: Directive.NoFileComp };
    }
    const path =
      plan.kind === 'namespaces'
        ? '/api/v1/namespaces'
        : plan.kind === 'runs'
          ? Paths.runs(ns)
          : plan.kind === 'workflows'
            ? Paths.workflows(ns)
            : Paths.runtimes(ns);
    const list = await conn.client.get<{ items: Array<{ metadata: { name: string } }> }>(path, { signal });
    return { values: list.items.map((i) => i.metadata.name), directive: Directive.NoFileComp };
  } finally {
    await conn.close();
  }
}

/** Built with the command list it completes (the registry), which itself lists this command. */
export function completeCommand(commands: () => Promise<readonly Command[]>): Command {
  return {
    name: '__complete',
    summary: 'completion protocol (for shells and kubectl)',
    usage: '__complete [WORDS...] WORD',
    description: "Answer a shell's completion request in cobra's format.",
    examples: [],
    flags: {},
    hidden: true,
    rawArgs: true,
    async run(ctx: Context, args) {
      const request = planCompletion(args.input, await commands());
      let answer: { values: string[]; directive: number };
      try {
        answer = await candidates(request);
      } catch {
        // No cluster, no permission, no kubeconfig: complete nothing rather than print errors into a prompt.
        answer = { values: [], directive: Directive.NoFileComp };
      }
      ctx.out(renderCompletions(answer.values, request.prefix, answer.directive));
      return ExitCode.Ok;
    },
  };
}
