// The two Workflows `npm run bench -- --workflow` runs: a chain, each task handing a counter to
// the next through $(tasks.PREV.outputs.n), and a fan-out/fan-in (one root, parallel tasks, one
// join). Tasks are as cheap as a Run gets (`true`, or `echo` into $KRUNTIME_OUTPUTS), so what is
// measured is the orchestration around them.
import type { Workflow, WorkflowTask } from '../../lib/api.ts';

export const WorkflowShape = {
  Chain: 'chain',
  FanOutFanIn: 'fan-out-fan-in',
} as const;
export type WorkflowShape = (typeof WorkflowShape)[keyof typeof WorkflowShape];

/** Tasks per shape: a 20-task chain, and 1 root → 48 parallel → 1 join (50 tasks). */
export const SHAPE_TASKS = { [WorkflowShape.Chain]: 20, [WorkflowShape.FanOutFanIn]: 50 } as const;

const pad = (i: number) => String(i).padStart(2, '0');

/** `n=$((N + 1))` into the outputs file: the task's output is one more than its input N. */
const INCREMENT = 'echo "n=$((N + 1))" >> "$KRUNTIME_OUTPUTS"\n';

const workflow = (name: string, tasks: WorkflowTask[], outputs?: Record<string, string>): Workflow => ({
  apiVersion: 'kruntimes.io/v1alpha1',
  kind: 'Workflow',
  metadata: { name },
  spec: {
    params: [{ name: 'start', default: '0', description: 'the counter the first task starts from' }],
    tasks,
    ...(outputs ? { outputs } : {}),
  },
});

/**
 * `tasks` tasks t00, t01, …, each depending on the previous one and setting N from its output; the
 * Workflow's output `n` is the last task's, so it ends equal to start + tasks.
 */
export function chainWorkflow(name: string, runtime: string, tasks: number = SHAPE_TASKS.chain): Workflow {
  const list: WorkflowTask[] = Array.from({ length: tasks }, (_, i) => ({
    name: `t${pad(i)}`,
    ...(i > 0 ? { dependsOn: [`t${pad(i - 1)}`] } : {}),
    run: {
      runtime,
      source: { inline: INCREMENT },
      entrypoint: 'step.sh',
      env: { N: i === 0 ? '$(params.start)' : `$(tasks.t${pad(i - 1)}.outputs.n)` },
    },
  }));
  return workflow(name, list, { n: `$(tasks.t${pad(tasks - 1)}.outputs.n)` });
}

/** `root` → `p00` … `p47` in parallel (`true`) → `join`, which reads root's output. */
export function fanOutWorkflow(name: string, runtime: string, tasks: number = SHAPE_TASKS['fan-out-fan-in']): Workflow {
  const parallel = Array.from({ length: tasks - 2 }, (_, i) => `p${pad(i)}`);
  return workflow(
    name,
    [
      { name: 'root', run: { runtime, source: { inline: INCREMENT }, entrypoint: 'step.sh', env: { N: '$(params.start)' } } },
      ...parallel.map((p) => ({ name: p, dependsOn: ['root'], run: { runtime, args: ['true'] } })),
      { name: 'join', dependsOn: parallel, run: { runtime, args: ['echo', '$(tasks.root.outputs.n)'] } },
    ],
    { n: '$(tasks.root.outputs.n)' },
  );
}

/** The Workflow output `n` a shape of `tasks` tasks ends with when param start is `start`. */
export function expectedOutput(shape: WorkflowShape, tasks: number, start: number): string {
  return String(start + (shape === WorkflowShape.Chain ? tasks : 1));
}
