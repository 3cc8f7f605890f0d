// `npm run bench -- --workflow`: runs the chain and the fan-out/fan-in Workflows of
// workflow-shapes.ts against the running cluster, one at a time, waits for each to end through a
// watch, reads its child Runs' timestamps and prints what workflow-stats.ts makes of them:
// per-edge orchestration overhead, and wall time against the sum of task durations and the
// critical path.
import { Annotation, isWorkflowTerminal, Label, type Run, type Workflow, WorkflowPhase } from '../../lib/api.ts';
import { createInformer } from '../../lib/informer.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { childRunSelector } from '../../lib/workflow-names.ts';
import { chainWorkflow, expectedOutput, fanOutWorkflow, SHAPE_TASKS, WorkflowShape } from './workflow-shapes.ts';
import {
  type ChildTimes,
  edgeOverheadsMs,
  parseCreatedAt,
  parseMicros,
  percentiles,
  readyToCreatedMs,
  type WorkflowReport,
  workflowReport,
} from './workflow-stats.ts';

/** How long one Workflow may take before the benchmark gives up on it. */
const WORKFLOW_TIMEOUT_MS = 10 * 60_000;

interface Finished {
  workflow: Workflow;
  /** When the watch delivered the terminal phase, µs (client clock). */
  seenUs: number;
}

const nowUs = () => Date.now() * 1000;

/** The child Runs of a finished Workflow, by task, reduced to their timestamps. */
async function childTimes(client: KubeClient, namespace: string, name: string): Promise<Map<string, ChildTimes>> {
  const runs = await client.get<{ items: Run[] }>(Paths.runs(namespace), {
    query: { labelSelector: childRunSelector(name) },
  });
  const children = new Map<string, ChildTimes>();
  for (const run of runs.items) {
    const task = run.metadata.labels?.[Label.WorkflowTask];
    const created = run.metadata.annotations?.[Annotation.CreatedAt];
    const { startTime, completionTime } = run.status ?? {};
    if (!task) continue;
    if (!created) throw new Error(`child Run ${run.metadata.name} has no ${Annotation.CreatedAt} annotation`);
    if (!startTime || !completionTime)
      throw new Error(`child Run ${run.metadata.name} ended ${run.status?.phase} without startTime or completionTime`);
    children.set(task, {
      createdUs: parseCreatedAt(created),
      startUs: parseMicros(startTime),
      completionUs: parseMicros(completionTime),
    });
  }
  return children;
}

/** Why a Workflow did not succeed, from its status: the phase, reason, message and failed tasks. */
function failure(wf: Workflow): string {
  const s = wf.status ?? {};
  const tasks = Object.entries(s.tasks ?? {})
    .filter(([, t]) => t.phase !== WorkflowPhase.Succeeded)
    .map(([name, t]) => `${name}: ${t.phase}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message}` : ''}`);
  return `Workflow ${wf.metadata.name} ended ${s.phase} (${s.reason ?? 'no reason'}): ${s.message ?? ''}${tasks.length ? `\n  ${tasks.join('\n  ')}` : ''}`;
}

export async function benchWorkflows(options: {
  client: KubeClient;
  namespace: string;
  runtime: string;
  repeat: number;
}): Promise<void> {
  const { client, namespace, runtime, repeat } = options;
  const finished = new Map<string, Finished>();
  const waiters = new Map<string, () => void>();
  const informer = createInformer<Workflow>({ client, path: Paths.workflows(namespace) });
  const onWorkflow = (wf: Workflow) => {
    if (!isWorkflowTerminal(wf.status?.phase) || finished.has(wf.metadata.name!)) return;
    finished.set(wf.metadata.name!, { workflow: wf, seenUs: nowUs() });
    waiters.get(wf.metadata.name!)?.();
  };
  informer.on('add', onWorkflow);
  informer.on('update', onWorkflow);
  await informer.start();

  const stamp = Date.now().toString(36);
  const results: Record<string, { reports: WorkflowReport[]; edges: number[]; ready: number[]; wallFrom: Set<string> }> = {};
  for (let r = 0; r < repeat; r++) {
    for (const shape of [WorkflowShape.Chain, WorkflowShape.FanOutFanIn]) {
      const name = `${shape === WorkflowShape.Chain ? 'chain' : 'fan'}-${stamp}-${r}`;
      const start = r * 1000;
      const wf = shape === WorkflowShape.Chain ? chainWorkflow(name, runtime) : fanOutWorkflow(name, runtime);
      wf.spec.params = wf.spec.params?.map((p) => (p.name === 'start' ? { ...p, value: String(start) } : p));
      const ended = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Workflow ${name} did not end within ${WORKFLOW_TIMEOUT_MS / 1000} s`)),
          WORKFLOW_TIMEOUT_MS,
        );
        waiters.set(name, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const createdUs = nowUs();
      await client.create(Paths.workflows(namespace), wf);
      await ended;
      const { workflow: done, seenUs } = finished.get(name)!;
      if (done.status?.phase !== WorkflowPhase.Succeeded) throw new Error(failure(done));
      const want = expectedOutput(shape, SHAPE_TASKS[shape], start);
      if (done.status.outputs?.n !== want)
        throw new Error(`Workflow ${name} output n is ${JSON.stringify(done.status.outputs?.n)}, expected ${want}`);
      const children = await childTimes(client, namespace, name);
      // The Workflow's completionTime when it has sub-second precision, else when the watch saw it end.
      const completion = done.status.completionTime;
      const precise = completion !== undefined && /\.\d+/.test(completion);
      const report = workflowReport({
        tasks: wf.spec.tasks,
        children,
        createdUs,
        completionUs: precise ? parseMicros(completion) : seenUs,
      });
      const into = (results[shape] ??= { reports: [], edges: [], ready: [], wallFrom: new Set() });
      into.reports.push(report);
      into.edges.push(...edgeOverheadsMs(wf.spec.tasks, children).map((e) => e.ms));
      into.ready.push(...readyToCreatedMs(wf.spec.tasks, children).map((e) => e.ms));
      into.wallFrom.add(precise ? 'status.completionTime' : 'watch event');
      console.error(`${name}: ${report.wallMs} ms wall, critical path ${report.criticalPathMs} ms`);
    }
  }
  await informer.stop();

  const summary = Object.fromEntries(
    Object.entries(results).map(([shape, r]) => [
      shape,
      {
        workflows: r.reports,
        wallEnd: [...r.wallFrom].join(', '),
        edgeOverheadMs: percentiles(r.edges),
        readyToCreatedMs: percentiles(r.ready),
      },
    ]),
  );
  console.log(JSON.stringify({ repeat, workflows: summary }, null, 2));
  console.log('');
  console.log('| Workflow | tasks | edges | wall ms | Σ task ms | critical path ms | wall − critical path ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [shape, r] of Object.entries(results))
    for (const w of r.reports)
      console.log(
        `| ${shape} | ${w.tasks} | ${w.edges} | ${w.wallMs} | ${w.sumOfTaskMs} | ${w.criticalPathMs} | ${w.overheadOnCriticalPathMs} |`,
      );
  console.log('');
  console.log('| orchestration overhead | samples | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [shape, s] of Object.entries(summary)) {
    for (const [what, p] of [
      ['per edge: upstream completionTime → downstream created-at', s.edgeOverheadMs],
      ['per task: last upstream completionTime → created-at', s.readyToCreatedMs],
    ] as const)
      console.log(`| ${shape}, ${what} | ${p.count} | ${p.p50} | ${p.p95} | ${p.p99} | ${p.max} |`);
  }
}
