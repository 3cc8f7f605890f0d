// Workflows end to end: Workflows applied as YAML, child Runs created by the Workflow controller
// in the operator, executed on real Runtime Pods; outcomes read back from the API (phase, reason,
// message, per-task summaries, outputs, child Runs and their owners).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { Annotation, isTerminal, Label, type Run, type Workflow, type WorkflowSpec } from '../../lib/api.ts';
import { type KubeClient, Paths } from '../../lib/kube-client.ts';
import { childRunName, childRunSelector } from '../../lib/workflow-names.ts';
import { killOperator, waitOperatorsAvailable } from '../support/faults.ts';
import {
  applyYaml,
  bashRuntimeYaml,
  createNamespace,
  deleteNamespace,
  kubectl,
  REPO,
  run,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const example = (name: string) => readFileSync(new URL(`../../docs/examples/${name}`, import.meta.url), 'utf8');

/** A task running a bash script (the Runtime's entrypoint form), with optional args and env. */
function task(name: string, script: string, o: { dependsOn?: string[]; env?: Record<string, string>; args?: string[] } = {}) {
  return {
    name,
    ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
    run: {
      runtime: 'bash',
      entrypoint: 'main.sh',
      source: { inline: script },
      ...(o.env ? { env: o.env } : {}),
      ...(o.args ? { args: o.args } : {}),
    },
  };
}

function workflowYaml(name: string, spec: Partial<WorkflowSpec>): string {
  return stringify({ apiVersion: 'kruntimes.io/v1alpha1', kind: 'Workflow', metadata: { name }, spec });
}

describe('Workflows', function () {
  this.timeout(300_000);
  let client: KubeClient;
  let ns: string;

  const getWorkflow = (name: string) => client.get<Workflow>(Paths.workflow(ns, name));
  const childRuns = async (name: string) =>
    (await client.get<{ items: Run[] }>(Paths.runs(ns), { query: { labelSelector: childRunSelector(name) } })).items;
  const waitWorkflow = (name: string, done: (w: Workflow) => boolean = (w) => isTerminalPhase(w), timeoutMs = 120_000) =>
    waitFor(`Workflow ${ns}/${name}`, async () => {
      const w = await getWorkflow(name);
      return done(w) ? w : undefined;
    }, { timeoutMs, intervalMs: 100 });
  const isTerminalPhase = (w: Workflow) => ['Succeeded', 'Failed', 'Cancelled'].includes(w.status?.phase ?? '');

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-wf');
    await applyYaml(ns, example('runtime-bash.yaml'));
    // One slot in all: the cancel test keeps children Pending at capacity behind a running one.
    await applyYaml(
      ns,
      bashRuntimeYaml({ name: 'single', replicas: 1, runs: 1 }),
    );
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForRuntimeReady(client, ns, 'single');
    await waitForSchedulable(ns, 'bash', 2);
    await waitForSchedulable(ns, 'single', 1);
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('runs a diamond, passing outputs and a param between tasks, into Workflow outputs', async () => {
    await applyYaml(
      ns,
      workflowYaml('diamond', {
        params: [{ name: 'greeting', default: 'hello' }],
        tasks: [
          task('fetch', 'echo "sha=abc123" >> "$KRUNTIME_OUTPUTS"; echo "msg=$GREETING" >> "$KRUNTIME_OUTPUTS"', {
            env: { GREETING: '$(params.greeting)' },
          }),
          task('test', 'echo "result=tested-$1" >> "$KRUNTIME_OUTPUTS"', { dependsOn: ['fetch'], args: ['$(tasks.fetch.outputs.sha)'] }),
          task('lint', 'echo "result=linted-$SHA" >> "$KRUNTIME_OUTPUTS"', { dependsOn: ['fetch'], env: { SHA: '$(tasks.fetch.outputs.sha)' } }),
          task('report', 'echo "summary=$T/$L/$M" >> "$KRUNTIME_OUTPUTS"', {
            dependsOn: ['test', 'lint'],
            env: { T: '$(tasks.test.outputs.result)', L: '$(tasks.lint.outputs.result)', M: '$(tasks.fetch.outputs.msg)' },
          }),
        ],
        outputs: { summary: '$(tasks.report.outputs.summary)', literal: 'cost $$(none)' },
      }),
    );
    const wf = await waitWorkflow('diamond');
    assert.equal(wf.status?.phase, 'Succeeded', JSON.stringify(wf.status));
    assert.equal(wf.status?.reason, 'Succeeded');
    assert.deepEqual(wf.status?.outputs, { summary: 'tested-abc123/linted-abc123/hello', literal: 'cost $(none)' });
    assert.deepEqual(Object.keys(wf.status?.tasks ?? {}).sort(), ['fetch', 'lint', 'report', 'test']);
    for (const [name, t] of Object.entries(wf.status!.tasks!)) {
      assert.equal(t.phase, 'Succeeded');
      assert.equal(t.runName, childRunName('diamond', name));
      assert.equal(t.attempt, 1);
      assert.ok(t.startTime && t.completionTime);
    }
    const runs = await childRuns('diamond');
    assert.equal(runs.length, 4);
    for (const r of runs) {
      assert.deepEqual(r.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [
        ['Workflow', 'diamond', wf.metadata.uid, true],
      ]);
      assert.equal(r.metadata.labels?.[Label.WorkflowTask], r.metadata.name!.replace('diamond-', ''));
      assert.match(r.metadata.annotations?.[Annotation.CreatedAt] ?? '', /\.\d{6}Z$/);
    }
    // Downstream starts only after upstream completed.
    const byTask = new Map(runs.map((r) => [r.metadata.labels![Label.WorkflowTask], r]));
    const created = (t: string) => Date.parse(byTask.get(t)!.metadata.annotations![Annotation.CreatedAt]);
    const completed = (t: string) => Date.parse(byTask.get(t)!.status!.completionTime!);
    assert.ok(created('test') >= completed('fetch') && created('lint') >= completed('fetch'));
    assert.ok(created('report') >= Math.max(completed('test'), completed('lint')));
    assert.deepEqual(byTask.get('test')!.spec.args, ['abc123']);
    const events = JSON.parse(
      (await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=Workflow,involvedObject.name=diamond', '-o', 'json'])).stdout,
    ).items as Array<{ reason: string }>;
    const reasons = events.map((e) => e.reason);
    assert.equal(reasons.filter((r) => r === 'TaskStarted').length, 4);
    assert.equal(reasons.filter((r) => r === 'TaskSucceeded').length, 4);
    assert.ok(reasons.includes('Succeeded'));
  });

  it('skips the dependents of a failed task while an independent branch completes', async () => {
    await applyYaml(
      ns,
      workflowYaml('branches', {
        tasks: [
          task('build', 'echo broken >&2; exit 3'),
          task('deploy', 'echo never', { dependsOn: ['build'] }),
          task('announce', 'echo never', { dependsOn: ['deploy'] }),
          task('docs', 'sleep 1; echo docs'),
        ],
      }),
    );
    const wf = await waitWorkflow('branches');
    assert.deepEqual([wf.status?.phase, wf.status?.reason], ['Failed', 'TaskFailed']);
    assert.match(wf.status?.message ?? '', /^task build ended Failed/);
    const t = wf.status!.tasks!;
    assert.deepEqual([t.build.phase, t.docs.phase], ['Failed', 'Succeeded']);
    assert.deepEqual([t.deploy.phase, t.deploy.reason, t.deploy.message], ['Skipped', 'UpstreamFailed', 'task build ended Failed']);
    assert.deepEqual([t.announce.phase, t.announce.reason], ['Skipped', 'UpstreamFailed']);
    assert.equal(t.deploy.runName, undefined);
    assert.deepEqual((await childRuns('branches')).map((r) => r.metadata.labels![Label.WorkflowTask]).sort(), ['build', 'docs']);
  });

  it('fail-fast cancels a running sibling and still runs finally', async () => {
    await applyYaml(
      ns,
      workflowYaml('fast', {
        failFast: true,
        tasks: [task('slow', 'sleep 60'), task('broken', 'sleep 1; exit 1'), task('later', 'echo never', { dependsOn: ['broken'] })],
        finally: [task('cleanup', 'echo "seen=$1" >> "$KRUNTIME_OUTPUTS"', { args: ['$(tasks.broken.phase)'] })],
      }),
    );
    const wf = await waitWorkflow('fast', isTerminalPhase, 60_000);
    const t = wf.status!.tasks!;
    assert.deepEqual([wf.status?.phase, wf.status?.message], ['Failed', 'task broken ended Failed: exit code 1']);
    assert.deepEqual([t.slow.phase, t.broken.phase, t.later.phase, t.cleanup.phase], ['Cancelled', 'Failed', 'Skipped', 'Succeeded']);
    const cleanup = (await childRuns('fast')).find((r) => r.metadata.labels![Label.WorkflowTask] === 'cleanup')!;
    assert.deepEqual(cleanup.status?.outputs, { seen: 'Failed' });
    // The sibling was stopped well before its 60 s sleep.
    assert.ok(Date.parse(t.slow.completionTime!) - Date.parse(t.slow.startTime!) < 20_000);
  });

  it('cancel reaches every active child, Pending ones at capacity included, within 1 s', async () => {
    const tasks = ['a', 'b', 'c'].map((n) => ({ ...task(n, 'sleep 120'), run: { ...task(n, 'sleep 120').run, runtime: 'single' } }));
    await client.create(Paths.workflows(ns), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'stop' },
      spec: { tasks, finally: [task('never', 'true')] },
    });
    await waitFor('one child Running and two Pending at capacity', async () => {
      const runs = await childRuns('stop');
      const phases = runs.map((r) => r.status?.phase).sort();
      return runs.length === 3 && phases.join() === 'Pending,Pending,Running' &&
        runs.filter((r) => r.status?.phase === 'Pending').every((r) => r.status?.reason === 'AtCapacity');
    }, { timeoutMs: 60_000 });
    const patched = Date.now();
    await client.mergePatch(Paths.workflow(ns, 'stop'), { spec: { cancelRequested: true } });
    const ended = await waitFor('every child terminal', async () => {
      const runs = await childRuns('stop');
      return runs.every((r) => isTerminal(r.status?.phase)) ? Date.now() : undefined;
    }, { timeoutMs: 10_000, intervalMs: 20 });
    assert.ok(ended - patched <= 1000, `children ended ${ended - patched} ms after the patch`);
    const runs = await childRuns('stop');
    assert.deepEqual(runs.map((r) => r.status?.phase), ['Cancelled', 'Cancelled', 'Cancelled']);
    const wf = await waitWorkflow('stop', isTerminalPhase, 10_000);
    assert.deepEqual([wf.status?.phase, wf.status?.reason], ['Cancelled', 'Cancelled']);
    assert.deepEqual([wf.status?.tasks?.never.phase, wf.status?.tasks?.never.reason], ['Skipped', 'WorkflowCancelled']);
    assert.equal(runs.length, 3, 'the finally task never started');
  });

  it('finishes with no duplicate Run when the controller is killed mid-Workflow', async () => {
    // Each step adds one to the count its predecessor wrote (key names that YAML 1.1 keeps as strings).
    const steps = Array.from({ length: 8 }, (_, i) =>
      task(
        `s${i}`,
        'sleep 0.4; echo "count=$(( ${COUNT:-0} + 1 ))" >> "$KRUNTIME_OUTPUTS"',
        i ? { dependsOn: [`s${i - 1}`], env: { COUNT: `$(tasks.s${i - 1}.outputs.count)` } } : {},
      ),
    );
    await applyYaml(ns, workflowYaml('survivor', { tasks: steps, outputs: { count: '$(tasks.s7.outputs.count)' } }));
    // A 0.4 s step ends within its claim window, so it is never written Running: kill the controller
    // once s2's Run exists, while s3..s7 are still to come.
    await waitWorkflow('survivor', (w) => w.status?.tasks?.s2?.runName !== undefined);
    await killOperator('controller');
    await waitOperatorsAvailable();
    const wf = await waitWorkflow('survivor');
    assert.equal(wf.status?.phase, 'Succeeded', JSON.stringify(wf.status));
    assert.deepEqual(wf.status?.outputs, { count: '8' });
    const runs = await childRuns('survivor');
    assert.equal(runs.length, 8);
    assert.ok(runs.every((r) => r.status?.attempt === 1), 'no task ran twice');
  });

  it('refuses a 3-task cycle and each bad reference before creating any Run, naming the field', async () => {
    const cases: Array<[string, Partial<WorkflowSpec>, string]> = [
      [
        'cycle',
        { tasks: [task('a', 'true', { dependsOn: ['c'] }), task('b', 'true', { dependsOn: ['a'] }), task('c', 'true', { dependsOn: ['b'] })] },
        'invalid Workflow: spec.tasks have a dependency cycle: a -> c -> b -> a',
      ],
      [
        'unknown-param',
        { tasks: [task('a', 'true', { args: ['$(params.nope)'] })] },
        'invalid Workflow: spec.tasks[0].run.args[0]: $(params.nope) references param "nope", which is not in spec.params',
      ],
      [
        'unknown-task',
        { tasks: [task('a', 'true', { env: { X: '$(tasks.ghost.outputs.k)' } })] },
        'invalid Workflow: spec.tasks[0].run.env.X: $(tasks.ghost.outputs.k) references task "ghost", which does not exist',
      ],
      [
        'not-upstream',
        { tasks: [task('a', 'true'), task('b', 'true', { args: ['$(tasks.a.outputs.k)'] })] },
        'invalid Workflow: spec.tasks[1].run.args[0]: $(tasks.a.outputs.k) references task "a", which is not upstream of task "b" (add it to dependsOn)',
      ],
      [
        'malformed',
        { tasks: [task('a', 'true', { args: ['$(date)'] })] },
        'invalid Workflow: spec.tasks[0].run.args[0]: malformed expression "$(date)": expected $(params.NAME), $(tasks.TASK.outputs.KEY) or $(tasks.TASK.phase) (write $$( for a literal $( )',
      ],
      [
        'no-value',
        { params: [{ name: 'p' }], tasks: [task('a', 'true', { args: ['$(params.p)'] })] },
        'invalid Workflow: spec.params[0] (p) has no value and no default',
      ],
    ];
    for (const [name, spec] of cases) await applyYaml(ns, workflowYaml(`bad-${name}`, spec));
    for (const [name, , message] of cases) {
      const wf = await waitWorkflow(`bad-${name}`);
      assert.deepEqual([wf.status?.phase, wf.status?.reason, wf.status?.message], ['Failed', 'InvalidSpec', message]);
      assert.deepEqual(
        wf.status?.conditions?.find((c) => c.type === 'Validated')?.status,
        'False',
      );
      assert.deepEqual(await childRuns(`bad-${name}`), []);
    }
  });

  it('kubectl krt doctor reports a Workflow waiting for a missing Runtime and one refused as invalid', async () => {
    await applyYaml(ns, workflowYaml('orphan', { tasks: [{ ...task('a', 'true'), run: { ...task('a', 'true').run, runtime: 'nope' } }] }));
    await waitFor('the orphan task Pending for its Runtime', async () =>
      (await getWorkflow('orphan')).status?.tasks?.a?.reason === 'RuntimeNotFound', { timeoutMs: 30_000 });
    const plugin = path.join(REPO, 'kubectl-krt', 'bin', 'kubectl-krt');
    const d = await run(plugin, ['doctor', '-n', ns], { env: { NO_COLOR: '1' } });
    assert.equal(d.code, 7, d.stdout + d.stderr);
    assert.match(d.stdout, new RegExp(`Workflow ${ns}/orphan cannot progress: task a waits for Runtime nope, which does not exist in ${ns}`));
    assert.match(d.stdout, new RegExp(`Workflow ${ns}/bad-cycle failed before running any task: its spec is invalid`));
    assert.match(d.stdout, /dependency cycle: a -> c -> b -> a/);
    await kubectl(['delete', 'workflow', 'orphan', '-n', ns]);
  });

  it('fails the dependents of a task that did not write an output they reference', async () => {
    await applyYaml(
      ns,
      workflowYaml('missing-output', {
        tasks: [task('a', 'true'), task('b', 'echo "$1"', { dependsOn: ['a'], args: ['$(tasks.a.outputs.sha)'] }), task('c', 'true', { dependsOn: ['b'] })],
      }),
    );
    const wf = await waitWorkflow('missing-output');
    const t = wf.status!.tasks!;
    assert.deepEqual([t.b.phase, t.b.reason, t.b.message], ['Failed', 'OutputMissing', 'run.args[0]: task a did not write output sha']);
    assert.equal(t.c.phase, 'Skipped');
    assert.deepEqual([wf.status?.phase, wf.status?.reason], ['Failed', 'TaskFailed']);
    assert.equal((await childRuns('missing-output')).length, 1);
  });

  it('runs a 64-task Workflow whose object stays well under 100 KiB', async () => {
    const tasks = [task('root', 'echo "v=1" >> "$KRUNTIME_OUTPUTS"')];
    for (let i = 1; i < 63; i++) tasks.push(task(`leaf-${i}`, 'echo "$1"', { dependsOn: ['root'], args: ['$(tasks.root.outputs.v)'] }));
    tasks.push(task('join', 'true', { dependsOn: tasks.slice(1).map((t) => t.name) }));
    assert.equal(tasks.length, 64);
    await applyYaml(ns, workflowYaml('wide', { tasks }));
    const wf = await waitWorkflow('wide', isTerminalPhase, 240_000);
    assert.equal(wf.status?.phase, 'Succeeded');
    const bytes = Buffer.byteLength(JSON.stringify(wf));
    assert.ok(bytes < 60 * 1024, `the Workflow object is ${bytes} bytes`);
    assert.equal((await childRuns('wide')).length, 64);
  });

  it('deleting a Workflow deletes its child Runs and stops the one running; ttlSecondsAfterFinished deletes a finished one', async () => {
    // Runtime Pods are processes on this machine (the node agent): the workload is visible to pgrep.
    const running = async (marker: string) => (await run('pgrep', ['-f', marker])).code === 0;
    await applyYaml(ns, workflowYaml('doomed', { tasks: [task('long', 'sleep 97.25')] }));
    await waitWorkflow('doomed', (w) => w.status?.tasks?.long?.phase === 'Running');
    await waitFor('the workload running', () => running('sleep 97.25'));
    await kubectl(['delete', 'workflow', 'doomed', '-n', ns, '--wait=true']);
    await waitFor('child Runs of doomed gone', async () => (await childRuns('doomed')).length === 0, { timeoutMs: 30_000 });
    await waitFor('the workload stopped', async () => !(await running('sleep 97.25')), { timeoutMs: 15_000 });

    // The same holds for a plain Run deleted while it runs.
    await client.create(Paths.runs(ns), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name: 'plain-doomed' },
      spec: task('x', 'sleep 96.75').run,
    });
    await waitFor('the plain workload running', () => running('sleep 96.75'), { timeoutMs: 30_000 });
    await kubectl(['delete', 'run', 'plain-doomed', '-n', ns, '--wait=true']);
    await waitFor('the plain workload stopped', async () => !(await running('sleep 96.75')), { timeoutMs: 15_000 });

    await applyYaml(ns, workflowYaml('brief', { ttlSecondsAfterFinished: 2, tasks: [task('a', 'true')] }));
    const done = await waitWorkflow('brief');
    assert.equal(done.status?.phase, 'Succeeded');
    await waitFor('Workflow brief deleted after its TTL', async () =>
      (await kubectl(['get', 'workflow', 'brief', '-n', ns], { check: false })).code !== 0, { timeoutMs: 20_000 });
    await waitFor('child Runs of brief gone', async () => (await childRuns('brief')).length === 0, { timeoutMs: 30_000 });
  });
});
