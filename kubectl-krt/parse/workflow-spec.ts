// The Workflow `kubectl krt workflow run` creates: read from a YAML file (or stdin), its params
// set from `-p NAME=VALUE`, and checked with the rules the apiserver and the Workflow controller
// apply (lib/validation.ts) so that a mistake is reported, with exit code 2, before anything is sent.
import { parseAllDocuments } from 'yaml';
import { API_VERSION, type Workflow, type WorkflowParam, type WorkflowSpec } from '../../lib/api.ts';
import { validateWorkflowSpec } from '../../lib/validation.ts';
import { UsageError } from '../errors.ts';
import { checkObjectName } from './run-spec.ts';

/** Fields the apiserver sets; a Workflow saved with `workflow get -o yaml` can be run again. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields'] as const;

/** `-p NAME=VALUE` values in the order given; a later value for the same name wins. */
export function parseParamFlags(values: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`-p ${JSON.stringify(value)} must be NAME=VALUE (the value may be empty: -p NAME=)`);
    }
    params.set(value.slice(0, eq), value.slice(eq + 1));
  }
  return params;
}

function declared(params: readonly WorkflowParam[]): string {
  return params.length === 0
    ? 'it declares no params'
    : `its params are ${params.map((p) => p.name).join(', ')}`;
}

/** The spec with `value` set on each param given; a name the spec does not declare is a usage error. */
export function applyParams(spec: WorkflowSpec, given: ReadonlyMap<string, string>): WorkflowSpec {
  const params = spec.params ?? [];
  for (const name of given.keys()) {
    if (!params.some((p) => p.name === name)) {
      throw new UsageError(`-p ${name}: the Workflow has no param "${name}"; ${declared(params)}`);
    }
  }
  if (params.length === 0) return spec;
  return {
    ...spec,
    params: params.map((p) => (given.has(p.name) ? { ...p, value: given.get(p.name) } : p)),
  };
}

/** The effective value of a param: its value, else its default; undefined when it has neither. */
export function paramValue(param: WorkflowParam): string | undefined {
  return param.value ?? param.default;
}

/** Every reason the Workflow would be refused or failed before it runs, in the controller's words where it has them. */
export function workflowProblems(spec: WorkflowSpec): string[] {
  const problems = validateWorkflowSpec(spec);
  (spec.params ?? []).forEach((p, i) => {
    if (typeof p?.name !== 'string' || p.name === '') problems.push(`spec.params[${i}].name is required`);
    else if (paramValue(p) === undefined)
      problems.push(`spec.params[${i}] (${p.name}) has no value: give one with -p ${p.name}=VALUE`);
  });
  const names = (spec.params ?? []).map((p) => p?.name);
  const repeated = names.find((n, i) => n && names.indexOf(n) !== i);
  if (repeated) problems.push(`spec.params names "${repeated}" more than once`);
  return problems;
}

/** The one Workflow a YAML text holds, as written (apiVersion and kind checked when present). */
export function readWorkflowDocument(text: string, source: string): Workflow {
  const docs = parseAllDocuments(text).filter((d) => !(d.contents === null && d.errors.length === 0));
  if (docs.length === 0) throw new UsageError(`${source} holds no Workflow`);
  if (docs.length > 1) throw new UsageError(`${source} holds ${docs.length} YAML documents: give one Workflow per file`);
  const [doc] = docs;
  if (doc.errors.length > 0) {
    throw new UsageError(`${source} is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${source} must hold a Workflow object (apiVersion, kind, metadata, spec)`);
  }
  const object = value as Partial<Workflow> & { apiVersion?: unknown; kind?: unknown };
  if (object.apiVersion !== undefined && object.apiVersion !== API_VERSION) {
    throw new UsageError(`${source}: apiVersion is ${JSON.stringify(object.apiVersion)}, not ${API_VERSION}`);
  }
  if (object.kind !== undefined && object.kind !== 'Workflow') {
    throw new UsageError(`${source}: kind is ${JSON.stringify(object.kind)}, not Workflow`);
  }
  if (object.spec === null || typeof object.spec !== 'object' || Array.isArray(object.spec)) {
    throw new UsageError(`${source} has no spec: a Workflow needs spec.tasks`);
  }
  return { ...object, metadata: { ...(object.metadata ?? {}) }, spec: object.spec } as Workflow;
}

export interface WorkflowInput {
  /** The YAML text and where it came from (`wf.yaml`, `stdin`), for messages. */
  text: string;
  source: string;
  /** `-p` values. */
  params: readonly string[];
  /** -n when given: the file's own namespace must then agree. */
  namespaceFlag?: string;
  /** The namespace of the kubeconfig context (or default), for a file without one; read only then. */
  defaultNamespace: () => string;
}

/** The Workflow to create: the file's, with params set, namespace resolved, server fields dropped; checked. */
export function buildWorkflow(input: WorkflowInput): Workflow {
  const doc = readWorkflowDocument(input.text, input.source);
  const metadata = { ...doc.metadata };
  for (const key of SERVER_METADATA) delete metadata[key as keyof typeof metadata];
  if (metadata.name === undefined && metadata.generateName === undefined) {
    throw new UsageError(`${input.source} names no Workflow: set metadata.name, or metadata.generateName for a fresh name per run`);
  }
  if (metadata.name !== undefined) checkObjectName(String(metadata.name), 'metadata.name');
  // generateName gets random characters appended, so check it with one.
  else checkObjectName(`${String(metadata.generateName)}x`, 'metadata.generateName');
  if (input.namespaceFlag && metadata.namespace && metadata.namespace !== input.namespaceFlag) {
    throw new UsageError(
      `${input.source} is for namespace ${metadata.namespace}, but -n says ${input.namespaceFlag}: drop one of them`,
    );
  }
  metadata.namespace = input.namespaceFlag ?? metadata.namespace ?? input.defaultNamespace();

  const spec = applyParams(doc.spec, parseParamFlags(input.params));
  const problems = workflowProblems(spec);
  if (problems.length > 0) throw new UsageError(`the Workflow would be refused: ${problems.join('; ')}`);
  return { apiVersion: API_VERSION, kind: 'Workflow', metadata, spec };
}
