import assert from 'node:assert/strict';
import { loadCommands } from '../commands/registry.ts';
import { planCompletion, renderCompletions } from './plan.ts';

const COMMANDS = await loadCommands();
const plan = (...words: string[]) => planCompletion(words, COMMANDS);

describe('planCompletion', () => {
  it('completes subcommands first, without hidden ones', () => {
    const p = plan('');
    assert.equal(p.plan.kind, 'values');
    const values = p.plan.kind === 'values' ? p.plan.values : [];
    for (const name of [
      'run',
      'get',
      'list',
      'describe',
      'logs',
      'cancel',
      'wait',
      'runtime',
      'workflow',
      'version',
      'completion',
    ]) {
      assert.ok(values.includes(name), name);
    }
    assert.ok(!values.includes('__complete'));
  });
  it('completes Runtime names for run, Run names for the commands that take them', () => {
    assert.deepEqual(plan('run', '').plan, { kind: 'runtimes' });
    assert.deepEqual(plan('run', 'bash', '').plan, { kind: 'nothing' });
    assert.deepEqual(plan('run', 'bash', '--', 'ec').plan, { kind: 'files' });
    for (const c of ['get', 'describe', 'logs', 'cancel', 'wait'])
      assert.deepEqual(plan(c, 'h').plan, { kind: 'runs' }, c);
    assert.deepEqual(plan('runtime', '').plan, { kind: 'values', values: ['list', 'get'] });
    assert.deepEqual(plan('runtime', 'get', '').plan, { kind: 'runtimes' });
  });
  it('completes flags and their values', () => {
    const flagPlan = plan('logs', '--').plan;
    const flags = flagPlan.kind === 'values' ? flagPlan.values : [];
    assert.ok(flags.includes('--follow') && flags.includes('--namespace') && flags.includes('--timestamps'));
    assert.deepEqual(plan('logs', '--stream', '').plan, { kind: 'values', values: ['stdout', 'stderr'] });
    assert.deepEqual(plan('get', '-o', '').plan.kind, 'values');
    assert.deepEqual(plan('get', '-n', '').plan, { kind: 'namespaces' });
    assert.deepEqual(plan('--context', '').plan, { kind: 'contexts' });
    assert.deepEqual(plan('run', '--file', '').plan, { kind: 'files' });
    assert.deepEqual(plan('list', '--runtime', '').plan, { kind: 'runtimes' });
  });
  it('completes workflow commands, Workflow names, their flags and task names', () => {
    assert.deepEqual(plan('workflow', '').plan, {
      kind: 'values',
      values: ['run', 'get', 'list', 'describe', 'logs', 'cancel', 'wait'],
    });
    assert.deepEqual(plan('wf', '-n', 'team', '').plan.kind, 'values');
    for (const verb of ['get', 'describe', 'cancel', 'wait'])
      assert.deepEqual(plan('workflow', verb, 'etl', '').plan, { kind: 'workflows' }, verb);
    assert.deepEqual(plan('workflow', 'logs', '').plan, { kind: 'workflows' });
    assert.deepEqual(plan('workflow', 'logs', 'etl', '').plan, { kind: 'nothing' });
    assert.deepEqual(plan('workflow', 'list', '').plan, { kind: 'nothing' });
    assert.deepEqual(plan('workflow', 'run', '-f', '').plan, { kind: 'files' });
    assert.deepEqual(plan('workflow', 'logs', 'etl', '--task', '').plan, { kind: 'tasks', workflow: 'etl' });
    assert.deepEqual(plan('workflow', 'logs', '--task', '').plan, { kind: 'nothing' });
    // -f of logs is --follow (no value), so the Workflow name is still completed after it.
    assert.deepEqual(plan('workflow', 'logs', '-f', '').plan, { kind: 'workflows' });
    assert.deepEqual(plan('workflow', 'wait', 'etl', '--for', '').plan, {
      kind: 'values',
      values: ['terminal', 'succeeded'],
    });
    const flagPlan = plan('workflow', 'run', '--').plan;
    const flags = flagPlan.kind === 'values' ? flagPlan.values : [];
    assert.ok(flags.includes('--param') && flags.includes('--follow') && !flags.includes('--task'));
  });
  it('remembers the namespace and context typed for the lookups', () => {
    const p = plan('-n', 'team-a', 'logs', '--context=dev', '');
    assert.deepEqual(p, {
      plan: { kind: 'runs' },
      prefix: '',
      namespace: 'team-a',
      context: 'dev',
      kubeconfig: undefined,
    });
  });
});

describe('renderCompletions', () => {
  it('prints matching candidates and the directive', () => {
    assert.equal(renderCompletions(['hello', 'help', 'world'], 'hel', 4), 'hello\nhelp\n:4\n');
    assert.equal(renderCompletions([], '', 0), ':0\n');
  });
});
