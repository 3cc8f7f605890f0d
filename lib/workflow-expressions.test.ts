import assert from 'node:assert/strict';
import type { WorkflowSpec, WorkflowTask } from './api.ts';
import { checkWorkflow, paramValues, parseTemplate, type ResolveContext, resolveTemplate, upstreamOf } from './workflow-expressions.ts';

const t = (name: string, dependsOn?: string[], args?: string[], env?: Record<string, string>): WorkflowTask => ({
  name,
  ...(dependsOn ? { dependsOn } : {}),
  run: { runtime: 'bash', args: args ?? ['true'], ...(env ? { env } : {}) },
});

describe('Workflow expressions', () => {
  describe('parseTemplate', () => {
    it('splits text and references', () => {
      assert.deepEqual(parseTemplate('a $(params.x) b $(tasks.fetch.outputs.sha) $(tasks.t-1.phase)'), {
        segments: [
          { text: 'a ' },
          { ref: { kind: 'param', name: 'x' }, source: '$(params.x)' },
          { text: ' b ' },
          { ref: { kind: 'output', task: 'fetch', key: 'sha' }, source: '$(tasks.fetch.outputs.sha)' },
          { text: ' ' },
          { ref: { kind: 'phase', task: 't-1' }, source: '$(tasks.t-1.phase)' },
        ],
      });
    });
    it('keeps $$( as a literal $( and plain text as it is', () => {
      assert.deepEqual(parseTemplate('echo $$(date) $HOME'), { segments: [{ text: 'echo $(date) $HOME' }] });
      assert.deepEqual(parseTemplate(''), { segments: [{ text: '' }] });
    });
    it('refuses malformed and unterminated expressions', () => {
      assert.match((parseTemplate('$(date)') as { error: string }).error, /malformed expression "\$\(date\)"/);
      assert.match((parseTemplate('x $(params.a') as { error: string }).error, /unterminated expression/);
      assert.match((parseTemplate('$(tasks.A.outputs.k)') as { error: string }).error, /malformed/);
      assert.match((parseTemplate('$(tasks.a.outputs.)') as { error: string }).error, /malformed/);
    });
  });

  describe('resolveTemplate', () => {
    const ctx: ResolveContext = {
      params: new Map([['who', 'world']]),
      outputs: (task: string): Record<string, string> | undefined =>
        task === 'a' ? { n: '1', 'x.y': 'dots' } : task === 'b' ? {} : undefined,
      phase: (task: string) => (task === 'a' ? 'Succeeded' : undefined),
    };
    it('fills in params, outputs and phases', () => {
      assert.deepEqual(resolveTemplate('hi $(params.who) $(tasks.a.outputs.n)$(tasks.a.outputs.x.y) $(tasks.a.phase)', ctx), {
        value: 'hi world 1dots Succeeded',
      });
    });
    it('reports the output an upstream task did not write', () => {
      assert.deepEqual(resolveTemplate('$(tasks.b.outputs.n)', ctx), { missing: { task: 'b', key: 'n' } });
    });
  });

  it('paramValues: value, else default', () => {
    const spec: WorkflowSpec = {
      params: [{ name: 'a', default: 'd', value: 'v' }, { name: 'b', default: 'd' }, { name: 'c' }],
      tasks: [t('x')],
    };
    assert.deepEqual([...paramValues(spec)], [['a', 'v'], ['b', 'd']]);
  });

  it('upstreamOf follows dependencies transitively', () => {
    const tasks = [t('a'), t('b', ['a']), t('c', ['b']), t('d')];
    assert.deepEqual([...upstreamOf(tasks, 'c')].sort(), ['a', 'b']);
    assert.deepEqual([...upstreamOf(tasks, 'd')], []);
  });

  describe('checkWorkflow', () => {
    it('accepts a diamond passing values, params, finally phases and outputs', () => {
      const spec: WorkflowSpec = {
        params: [{ name: 'repo', default: 'r' }],
        tasks: [
          t('fetch', undefined, ['$(params.repo)']),
          t('test', ['fetch'], ['$(tasks.fetch.outputs.sha)']),
          t('lint', ['fetch']),
          t('report', ['test', 'lint'], ['$(tasks.fetch.outputs.sha)'], { R: '$(tasks.test.outputs.result)' }),
        ],
        finally: [t('notify', undefined, ['$(tasks.report.phase)', '$(tasks.test.outputs.result)'])],
        outputs: { summary: '$(tasks.report.outputs.summary)' },
      };
      assert.deepEqual(checkWorkflow(spec), []);
    });
    it('names a cycle of any length', () => {
      assert.deepEqual(checkWorkflow({ tasks: [t('a', ['c']), t('b', ['a']), t('c', ['b'])] }), [
        'spec.tasks have a dependency cycle: a -> c -> b -> a',
      ]);
    });
    it('names unknown dependencies and finally tasks depending on main tasks', () => {
      assert.deepEqual(checkWorkflow({ tasks: [t('a', ['nope'])], finally: [t('f', ['a'])] }), [
        'spec.tasks[0].dependsOn: task "nope" does not exist',
        'spec.finally[0].dependsOn: "a" is in spec.tasks; a finally task runs after every task anyway and may depend only on other finally tasks',
      ]);
    });
    it('names each bad reference with its field', () => {
      const spec: WorkflowSpec = {
        params: [{ name: 'p' }],
        tasks: [
          t('a', undefined, ['$(params.nope)', '$(tasks.b.outputs.x)'], { E: '$(tasks.ghost.outputs.x)' }),
          t('b', undefined, ['$(tasks.b.phase)', '$(oops)']),
        ],
        finally: [t('f', undefined, ['$(tasks.g.outputs.k)']), t('g')],
        outputs: { o: '$(tasks.zzz.outputs.k)' },
      };
      assert.deepEqual(checkWorkflow(spec), [
        'spec.params[0] (p) has no value and no default',
        'spec.tasks[0].run.args[0]: $(params.nope) references param "nope", which is not in spec.params',
        'spec.tasks[0].run.args[1]: $(tasks.b.outputs.x) references task "b", which is not upstream of task "a" (add it to dependsOn)',
        'spec.tasks[0].run.env.E: $(tasks.ghost.outputs.x) references task "ghost", which does not exist',
        'spec.tasks[1].run.args[0]: $(tasks.b.phase) is only available to spec.finally tasks',
        'spec.tasks[1].run.args[1]: malformed expression "$(oops)": expected $(params.NAME), $(tasks.TASK.outputs.KEY) or $(tasks.TASK.phase) (write $$( for a literal $( )',
        'spec.finally[0].run.args[0]: $(tasks.g.outputs.k) references finally task "g", which is not upstream of task "f" (add it to dependsOn)',
        'spec.outputs.o: $(tasks.zzz.outputs.k) references task "zzz", which does not exist',
      ]);
    });
    it('never looks into inline source (bash $(...) is the script\'s own)', () => {
      const spec: WorkflowSpec = {
        tasks: [{ name: 'a', run: { runtime: 'bash', entrypoint: 's.sh', source: { inline: 'echo $(date) $(params.x)' } } }],
      };
      assert.deepEqual(checkWorkflow(spec), []);
    });
  });
});
