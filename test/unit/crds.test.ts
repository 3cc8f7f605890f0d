// The CRDs in manifests/crds against lib/api.ts and lib/validation.ts: names, printer columns and
// subresources as the docs promise them, the same fields, the same limits and defaults, and the
// same CEL messages. The apiserver's own checks of the rules run in test/e2e/crd-validation.e2e.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  RETRYABLE_REASONS,
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_CAPACITY_RUNS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REPLICAS,
  GROUP,
  Limits,
  Plural,
  RunPhase,
  type RunResources,
  type RunSpec,
  type RunStatus,
  type RuntimeSpec,
  type RuntimeStatus,
  VERSION,
  WorkflowPhase,
  type WorkflowSpec,
  type WorkflowStatus,
  type WorkflowParam,
  type WorkflowTask,
  type WorkflowTaskStatus,
} from '../../lib/api.ts';
import { CelMessage } from '../../lib/validation.ts';

const CRD_DIR = path.resolve(import.meta.dirname, '../../manifests/crds');

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  [key: string]: unknown;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string } };
      additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

function load(plural: string): Crd {
  return YAML.parse(fs.readFileSync(path.join(CRD_DIR, `${plural}.${GROUP}.yaml`), 'utf8')) as Crd;
}

const run = load(Plural.Run);
const runtime = load(Plural.Runtime);
const workflow = load(Plural.Workflow);

const root = (crd: Crd) => crd.spec.versions[0].schema.openAPIV3Schema;
/** The schema at a dotted path; `[]` steps into array items, `*` into map values. */
function at(schema: Schema, dotted: string): Schema {
  let s = schema;
  for (const step of dotted.split('.')) {
    const next = step === '[]' ? s.items : step === '*' ? s.additionalProperties : s.properties?.[step];
    assert.ok(next, `no schema at ${dotted} (step ${step})`);
    s = next;
  }
  return s;
}

function rulesOf(schema: Schema): Rule[] {
  const out: Rule[] = [...(schema['x-kubernetes-validations'] ?? [])];
  for (const child of [
    ...Object.values(schema.properties ?? {}),
    ...(schema.items ? [schema.items] : []),
    ...(schema.additionalProperties ? [schema.additionalProperties] : []),
  ]) {
    out.push(...rulesOf(child));
  }
  return out;
}

/** Fails to compile when `keys` misses a field of T: the CRD test then covers every field. */
function fieldsOf<T>() {
  return <const K extends readonly (keyof T)[]>(
    keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? K : never),
  ) => [...keys].sort();
}

describe('CRDs', () => {
  describe('names and serving', () => {
    const cases = [
      { crd: run, kind: 'Run', plural: Plural.Run, short: 'rn' },
      { crd: runtime, kind: 'Runtime', plural: Plural.Runtime, short: 'rt' },
      { crd: workflow, kind: 'Workflow', plural: Plural.Workflow, short: 'wf' },
    ];
    for (const { crd, kind, plural, short } of cases) {
      it(`${kind}: names, scope, version, status subresource`, () => {
        assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
        assert.equal(crd.kind, 'CustomResourceDefinition');
        assert.equal(crd.metadata.name, `${plural}.${GROUP}`);
        assert.equal(crd.spec.group, GROUP);
        assert.equal(crd.spec.scope, 'Namespaced');
        assert.equal(crd.spec.names.kind, kind);
        assert.equal(crd.spec.names.plural, plural);
        assert.equal(crd.spec.names.singular, kind.toLowerCase());
        assert.deepEqual(crd.spec.names.shortNames, [short]);
        assert.deepEqual(crd.spec.names.categories, ['kruntimes']);
        assert.equal(crd.spec.versions.length, 1);
        const [v] = crd.spec.versions;
        assert.equal(v.name, VERSION);
        assert.ok(v.served && v.storage);
        assert.deepEqual(v.subresources?.status, {});
        assert.deepEqual(root(crd).required, ['spec']);
      });
    }

    it('Runtime has a scale subresource on spec.replicas', () => {
      assert.deepEqual(runtime.spec.versions[0].subresources?.scale, {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
      });
    });
  });

  describe('printer columns', () => {
    const columns = (crd: Crd, priority: number) =>
      crd.spec.versions[0].additionalPrinterColumns
        .filter((c) => (c.priority ?? 0) === priority)
        .map((c) => [c.name, c.jsonPath]);

    it('Run: Phase, Assigned Pod, Runtime, Age; wide adds Attempt, Reason, Message', () => {
      assert.deepEqual(columns(run, 0), [
        ['Phase', '.status.phase'],
        ['Assigned Pod', '.status.assignedPod'],
        ['Runtime', '.spec.runtime'],
        ['Age', '.metadata.creationTimestamp'],
      ]);
      assert.deepEqual(columns(run, 1), [
        ['Attempt', '.status.attempt'],
        ['Reason', '.status.reason'],
        ['Message', '.status.message'],
      ]);
    });

    it('Runtime: Image, Replicas, Ready, Age', () => {
      assert.deepEqual(columns(runtime, 0), [
        ['Image', '.spec.template.spec.containers[0].image'],
        ['Replicas', '.spec.replicas'],
        ['Ready', '.status.readyReplicas'],
        ['Age', '.metadata.creationTimestamp'],
      ]);
    });

    it('Workflow: Phase, Reason, Age', () => {
      assert.deepEqual(columns(workflow, 0), [
        ['Phase', '.status.phase'],
        ['Reason', '.status.reason'],
        ['Age', '.metadata.creationTimestamp'],
      ]);
    });
  });

  describe('fields match lib/api.ts', () => {
    const props = (s: Schema) => Object.keys(s.properties ?? {}).sort();

    it('Run', () => {
      const spec = fieldsOf<RunSpec>()([
        'runtime',
        'args',
        'env',
        'source',
        'entrypoint',
        'timeoutSeconds',
        'retryPolicy',
        'resources',
        'cancelRequested',
        'ttlSecondsAfterFinished',
      ]);
      assert.deepEqual(props(at(root(run), 'spec')), spec);
      assert.deepEqual(props(at(root(run), 'spec.source')), ['git', 'inline']);
      assert.deepEqual(props(at(root(run), 'spec.source.git')), ['commit', 'ref', 'repository', 'subPath']);
      assert.deepEqual(props(at(root(run), 'spec.retryPolicy')), ['backoffSeconds', 'maxAttempts', 'retryOn']);
      assert.deepEqual(at(root(run), 'spec.retryPolicy.retryOn').items?.enum, [...RETRYABLE_REASONS]);
      assert.deepEqual(props(at(root(run), 'spec.resources')), fieldsOf<RunResources>()(['requests']));
      const status = fieldsOf<RunStatus>()([
        'phase',
        'message',
        'reason',
        'assignedPod',
        'assignedPodUID',
        'attempt',
        'scheduledTime',
        'startTime',
        'retryAfter',
        'completionTime',
        'exitCode',
        'outputs',
        'artifactRefs',
        'artifactStore',
        'conditions',
      ]);
      assert.deepEqual(props(at(root(run), 'status')), status);
      assert.deepEqual(props(at(root(run), 'status.artifactRefs.[]')), [
        'contentType',
        'digest',
        'key',
        'name',
        'size',
        'type',
      ]);
      assert.deepEqual(at(root(run), 'status.phase').enum, Object.values(RunPhase));
    });

    it('Runtime', () => {
      const spec = fieldsOf<RuntimeSpec>()([
        'replicas',
        'capacity',
        'template',
        'daemonImage',
        'runtimed',
        'git',
        'artifactStore',
      ]);
      assert.deepEqual(props(at(root(runtime), 'spec')), spec);
      assert.deepEqual(props(at(root(runtime), 'spec.runtimed')), ['resources', 'securityContext']);
      assert.deepEqual(props(at(root(runtime), 'spec.git')), ['caBundleRef']);
      assert.deepEqual(props(at(root(runtime), 'spec.git.caBundleRef')), ['key', 'name']);
      assert.deepEqual(props(at(root(runtime), 'spec.artifactStore')), ['filesystem', 's3']);
      assert.deepEqual(props(at(root(runtime), 'spec.artifactStore.s3')), [
        'bucket',
        'credentialsSecretRef',
        'endpoint',
        'forcePathStyle',
        'prefix',
        'region',
      ]);
      assert.deepEqual(props(at(root(runtime), 'spec.artifactStore.filesystem')), ['claimName', 'subPath']);
      const status = fieldsOf<RuntimeStatus>()([
        'replicas',
        'readyReplicas',
        'observedGeneration',
        'conditions',
      ]);
      assert.deepEqual(props(at(root(runtime), 'status')), status);
    });

    it('Workflow', () => {
      assert.deepEqual(
        props(at(root(workflow), 'spec')),
        fieldsOf<WorkflowSpec>()([
          'params',
          'tasks',
          'finally',
          'outputs',
          'failFast',
          'cancelRequested',
          'ttlSecondsAfterFinished',
        ]),
      );
      for (const list of ['tasks', 'finally'])
        assert.deepEqual(
          props(at(root(workflow), `spec.${list}.[]`)),
          fieldsOf<WorkflowTask>()(['name', 'dependsOn', 'run']),
        );
      assert.deepEqual(
        at(root(workflow), 'spec.finally.[]'),
        at(root(workflow), 'spec.tasks.[]'),
        'a finally task has the schema of a task',
      );
      assert.deepEqual(
        props(at(root(workflow), 'spec.params.[]')),
        fieldsOf<WorkflowParam>()(['name', 'default', 'description', 'value']),
      );
      assert.deepEqual(
        props(at(root(workflow), 'status.tasks.*')),
        fieldsOf<WorkflowTaskStatus>()(['runName', 'phase', 'reason', 'message', 'attempt', 'startTime', 'completionTime']),
      );
      const status = fieldsOf<WorkflowStatus>()([
        'phase',
        'reason',
        'message',
        'startTime',
        'completionTime',
        'outputs',
        'tasks',
        'observedGeneration',
        'conditions',
      ]);
      assert.deepEqual(props(at(root(workflow), 'status')), status);
      assert.deepEqual(at(root(workflow), 'status.phase').enum, Object.values(WorkflowPhase));
    });

    it('conditions are list-maps keyed by type', () => {
      for (const crd of [run, runtime, workflow]) {
        const c = at(root(crd), 'status.conditions');
        assert.equal(c['x-kubernetes-list-type'], 'map');
        assert.deepEqual(c['x-kubernetes-list-map-keys'], ['type']);
        assert.deepEqual(c.items?.required, ['type', 'status']);
        assert.ok(c.maxItems);
      }
    });
  });

  describe('limits and defaults match lib/api.ts', () => {
    const r = root(run);
    const cases: Array<[string, number | undefined, number]> = [
      ['spec.runtime maxLength', at(r, 'spec.runtime').maxLength, Limits.nameBytes],
      ['spec.args maxItems', at(r, 'spec.args').maxItems, Limits.args],
      ['spec.args[] maxLength', at(r, 'spec.args.[]').maxLength, Limits.argBytes],
      ['spec.env maxProperties', at(r, 'spec.env').maxProperties, Limits.envEntries],
      ['spec.env values maxLength', at(r, 'spec.env.*').maxLength, Limits.envValueBytes],
      ['spec.source.inline maxLength', at(r, 'spec.source.inline').maxLength, Limits.inlineSourceBytes],
      [
        'spec.source.git.repository maxLength',
        at(r, 'spec.source.git.repository').maxLength,
        Limits.gitRepositoryBytes,
      ],
      ['spec.source.git.ref maxLength', at(r, 'spec.source.git.ref').maxLength, Limits.gitRefBytes],
      ['spec.source.git.subPath maxLength', at(r, 'spec.source.git.subPath').maxLength, Limits.gitSubPathBytes],
      ['spec.entrypoint maxLength', at(r, 'spec.entrypoint').maxLength, Limits.entrypointBytes],
      ['spec.timeoutSeconds maximum', at(r, 'spec.timeoutSeconds').maximum, Limits.timeoutSecondsMax],
      [
        'spec.retryPolicy.maxAttempts maximum',
        at(r, 'spec.retryPolicy.maxAttempts').maximum,
        Limits.maxAttemptsMax,
      ],
      [
        'spec.retryPolicy.backoffSeconds maximum',
        at(r, 'spec.retryPolicy.backoffSeconds').maximum,
        Limits.backoffSecondsMax,
      ],
      [
        'spec.resources.requests maxProperties',
        at(r, 'spec.resources.requests').maxProperties,
        Limits.resourceNames,
      ],
      [
        'spec.resources.requests values maximum',
        at(r, 'spec.resources.requests.*').maximum,
        Limits.resourceAmountMax,
      ],
      [
        'Runtime spec.capacity.resources maxProperties',
        at(root(runtime), 'spec.capacity.resources').maxProperties,
        Limits.resourceNames,
      ],
      ['status.message maxLength', at(r, 'status.message').maxLength, Limits.messageBytes],
      ['status.outputs maxProperties', at(r, 'status.outputs').maxProperties, Limits.outputsKeys],
      ['status.outputs values maxLength', at(r, 'status.outputs.*').maxLength, Limits.outputValueBytes],
      ['status.artifactRefs maxItems', at(r, 'status.artifactRefs').maxItems, Limits.artifactRefs],
      ['Workflow spec.tasks maxItems', at(root(workflow), 'spec.tasks').maxItems, Limits.workflowTasks],
      [
        'Workflow spec.tasks[].dependsOn maxItems',
        at(root(workflow), 'spec.tasks.[].dependsOn').maxItems,
        Limits.workflowDependsOn,
      ],
      ['Workflow task name maxLength', at(root(workflow), 'spec.tasks.[].name').maxLength, Limits.nameBytes],
      [
        'Workflow status.message maxLength',
        at(root(workflow), 'status.message').maxLength,
        Limits.messageBytes,
      ],
    ];
    for (const [what, schema, limit] of cases) {
      it(`${what} = ${limit}`, () => assert.equal(schema, limit));
    }

    it('bounds in CEL rules: env names, output keys, Runtime names', () => {
      const envRule = at(r, 'spec.env')['x-kubernetes-validations']?.[0].rule ?? '';
      assert.match(envRule, new RegExp(`size\\(k\\) <= ${Limits.envNameBytes}\\b`));
      const outputsRule = at(r, 'status.outputs')['x-kubernetes-validations']?.[0].rule ?? '';
      assert.match(outputsRule, new RegExp(`size\\(k\\) <= ${Limits.outputKeyBytes}\\b`));
      const nameRule = root(runtime)['x-kubernetes-validations']?.[0].rule ?? '';
      assert.match(nameRule, new RegExp(`size\\(self.metadata.name\\) <= ${Limits.nameBytes}\\b`));
      for (const names of [at(root(runtime), 'spec.capacity.resources'), at(r, 'spec.resources.requests')]) {
        const rule = names['x-kubernetes-validations']?.find((v) => v.rule.includes('size(k)'))?.rule ?? '';
        assert.match(rule, new RegExp(`size\\(k\\) <= ${Limits.resourceNameBytes}\\b`));
      }
    });

    it('defaults', () => {
      assert.deepEqual(at(r, 'spec.retryPolicy').default, {});
      assert.equal(at(r, 'spec.retryPolicy.maxAttempts').default, DEFAULT_MAX_ATTEMPTS);
      assert.equal(at(r, 'spec.retryPolicy.backoffSeconds').default, DEFAULT_BACKOFF_SECONDS);
      assert.equal(at(root(runtime), 'spec.replicas').default, DEFAULT_REPLICAS);
      assert.deepEqual(at(root(runtime), 'spec.capacity').default, {});
      assert.deepEqual(at(root(runtime), 'spec.capacity.resources').default, { runs: DEFAULT_CAPACITY_RUNS });
    });
  });

  describe('CEL rules', () => {
    const all = [run, runtime, workflow].flatMap((crd) => rulesOf(root(crd)));

    it('every rule has a message', () => {
      for (const rule of all) assert.ok(rule.message, `rule without a message: ${rule.rule}`);
    });

    it('lib/validation.ts uses the messages of the CRDs word for word', () => {
      const messages = new Set(all.map((r) => r.message));
      const expressions = all.map((r) => r.messageExpression ?? '').join('\n');
      for (const [name, message] of Object.entries(CelMessage)) {
        if (typeof message === 'string')
          assert.ok(messages.has(message), `CelMessage.${name} is not in the CRDs`);
        else
          assert.ok(
            expressions.includes(`'${message('%s')}'.format(`),
            `CelMessage.${name} is not in the CRDs`,
          );
      }
    });

    it('the immutable Run fields each have a rule with fieldPath and Forbidden', () => {
      const rules = at(root(run), 'spec')['x-kubernetes-validations'] ?? [];
      for (const field of ['args', 'env', 'source', 'entrypoint', 'timeoutSeconds', 'retryPolicy', 'resources']) {
        const rule = rules.find((r) => r.message === `spec.${field} is immutable`);
        assert.ok(rule, field);
        assert.equal(rule.fieldPath, `.${field}`);
        assert.equal(rule.reason, 'FieldValueForbidden');
        assert.match(rule.rule, /oldSelf/);
      }
    });

    it("a Workflow task's run is Run.spec without the transition rules, cancel and TTL", () => {
      const strip = (s: Schema): Schema => {
        const out: Schema = { ...s };
        delete out.description;
        const rules = s['x-kubernetes-validations']?.filter((r) => !r.rule.includes('oldSelf'));
        if (rules?.length) out['x-kubernetes-validations'] = rules;
        else delete out['x-kubernetes-validations'];
        if (s.properties) {
          out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strip(v)]));
        }
        if (s.items) out.items = strip(s.items);
        if (s.additionalProperties) out.additionalProperties = strip(s.additionalProperties);
        return out;
      };
      const runSpec = strip(at(root(run), 'spec'));
      delete runSpec.properties?.cancelRequested;
      delete runSpec.properties?.ttlSecondsAfterFinished;
      assert.deepEqual(strip(at(root(workflow), 'spec.tasks.[].run')), runSpec);
    });
  });
});
