import assert from 'node:assert/strict';
import { UsageError } from '../errors.ts';
import { applyParams, buildWorkflow, parseParamFlags, readWorkflowDocument, workflowProblems } from './workflow-spec.ts';

const YAML = `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata:
  generateName: etl-
spec:
  params:
    - name: region
      default: eu
    - name: date
      description: the day to process
  tasks:
    - name: extract
      run: { runtime: bash, args: ["echo $(params.region) $(params.date)"] }
    - name: load
      dependsOn: [extract]
      run: { runtime: bash, args: [echo, done] }
`;

const input = { text: YAML, source: 'wf.yaml', params: ['date=2026-01-02'], defaultNamespace: () => 'dev' };

const usage = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof UsageError && message.test(err.message));

describe('workflow run: params', () => {
  it('reads -p NAME=VALUE, later wins, empty values allowed', () => {
    assert.deepEqual([...parseParamFlags(['a=1', 'b=x=y', 'a=2', 'c='])], [
      ['a', '2'],
      ['b', 'x=y'],
      ['c', ''],
    ]);
    usage(() => parseParamFlags(['nope']), /^-p "nope" must be NAME=VALUE/);
    usage(() => parseParamFlags(['=v']), /must be NAME=VALUE/);
  });
  it('sets the value of declared params and refuses undeclared ones, naming the declared', () => {
    const spec = readWorkflowDocument(YAML, 'wf.yaml').spec;
    const set = applyParams(spec, new Map([['region', 'us']]));
    assert.deepEqual(set.params, [
      { name: 'region', default: 'eu', value: 'us' },
      { name: 'date', description: 'the day to process' },
    ]);
    assert.equal(spec.params?.[0].value, undefined, 'the input is not changed');
    usage(
      () => applyParams(spec, new Map([['regoin', 'us']])),
      /^-p regoin: the Workflow has no param "regoin"; its params are region, date$/,
    );
    usage(() => applyParams({ tasks: [] }, new Map([['x', '1']])), /it declares no params$/);
  });
  it('says which param has no value, in the controller\'s words', () => {
    const spec = readWorkflowDocument(YAML, 'wf.yaml').spec;
    assert.deepEqual(workflowProblems(spec), [
      'spec.params[1] (date) has no value: give one with -p date=VALUE',
    ]);
  });
});

describe('workflow run: the Workflow built', () => {
  it('sets apiVersion, kind, the namespace of the context and the params', () => {
    assert.deepEqual(buildWorkflow(input), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Workflow',
      metadata: { generateName: 'etl-', namespace: 'dev' },
      spec: {
        ...readWorkflowDocument(YAML, 'wf.yaml').spec,
        params: [
          { name: 'region', default: 'eu' },
          { name: 'date', description: 'the day to process', value: '2026-01-02' },
        ],
      },
    });
  });
  it('takes the file\'s namespace unless -n disagrees, and drops what the apiserver set', () => {
    const text = YAML.replace('  generateName: etl-', '  name: etl\n  namespace: team\n  uid: abc\n  resourceVersion: "7"');
    assert.deepEqual(buildWorkflow({ ...input, text }).metadata, { name: 'etl', namespace: 'team' });
    assert.equal(buildWorkflow({ ...input, text, namespaceFlag: 'team' }).metadata.namespace, 'team');
    usage(() => buildWorkflow({ ...input, text, namespaceFlag: 'prod' }), /is for namespace team, but -n says prod/);
  });
  it('refuses what the apiserver or the controller would, with every reason', () => {
    const cycle = YAML.replace('      run: { runtime: bash, args: ["echo', '      dependsOn: [load]\n      run: { runtime: bash, args: ["echo');
    usage(() => buildWorkflow({ ...input, text: cycle }), /^the Workflow would be refused: task "extract" is part of a dependency cycle$/);
    usage(() => buildWorkflow({ ...input, params: [] }), /^the Workflow would be refused: spec\.params\[1\] \(date\) has no value/);
    usage(() => buildWorkflow({ ...input, text: YAML.replace('runtime: bash, args: [echo, done]', 'runtime: bash') }), /spec\.tasks\[1\]\.run: /);
  });
  it('says what is wrong with the file itself', () => {
    usage(() => buildWorkflow({ ...input, text: '' }), /^wf\.yaml holds no Workflow$/);
    usage(() => buildWorkflow({ ...input, text: `${YAML}---\n${YAML}` }), /holds 2 YAML documents/);
    usage(() => buildWorkflow({ ...input, text: 'spec: [' }), /^wf\.yaml is not valid YAML: /);
    usage(() => buildWorkflow({ ...input, text: YAML.replace('kind: Workflow', 'kind: Run') }), /kind is "Run", not Workflow/);
    usage(() => buildWorkflow({ ...input, text: YAML.replace('v1alpha1', 'v1') }), /apiVersion is "kruntimes.io\/v1"/);
    usage(() => buildWorkflow({ ...input, text: YAML.replace('  generateName: etl-', '  labels: {}') }), /names no Workflow: set metadata\.name/);
    usage(() => buildWorkflow({ ...input, text: YAML.replace('generateName: etl-', 'name: ETL') }), /metadata\.name "ETL" is not a valid name/);
    usage(() => buildWorkflow({ ...input, text: 'kind: Workflow\nmetadata: {name: x}\n' }), /has no spec/);
  });
});
