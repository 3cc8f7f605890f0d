// The CRDs' validation as pure functions, for the CLI (reject bad input before it reaches the
// apiserver) and for runtimed and the controllers (defence in depth: never act on a spec the API
// would have refused, e.g. one stored before a rule existed).
//
// The CEL messages below are the CRDs' messages word for word (test/unit/crds.test.ts checks that
// each one appears in manifests/crds). Lengths are counted in characters (Unicode code points),
// as the apiserver counts maxLength, so these helpers accept exactly what the apiserver accepts.
import {
  Limits,
  RESOURCE_RUNS,
  RETRYABLE_REASONS,
  RUNTIME_CONTAINER,
  RUNTIMED_CONTAINER,
  type RunSpec,
  type RuntimeSpec,
  type WorkflowSpec,
  type WorkflowTask,
} from './api.ts';
import { isValidResourceName, wholeAmount } from './resources.ts';

/** The messages of the CEL rules in manifests/crds. */
export const CelMessage = {
  nothingToRun: 'spec must set at least one of source, entrypoint or args',
  inlineNeedsEntrypoint: 'spec.entrypoint is required when spec.source.inline is set',
  entrypointAbsolute: 'spec.entrypoint must be a relative path',
  entrypointDotDot: "spec.entrypoint must not contain a '..' path segment",
  entrypointNul: 'spec.entrypoint must not contain a NUL character',
  envName:
    "spec.env keys must be environment variable names: a letter or '_' followed by letters, digits or '_', at most 256 characters",
  sourceExactlyOne: 'spec.source must set exactly one of inline or git',
  gitRepositoryDash: "spec.source.git.repository must not start with '-'",
  gitRefDash: "spec.source.git.ref must not start with '-'",
  gitSubPath: "spec.source.git.subPath must be a relative path without a '..' segment",
  runtimeImmutable: 'spec.runtime is immutable',
  argsImmutable: 'spec.args is immutable',
  envImmutable: 'spec.env is immutable',
  sourceImmutable: 'spec.source is immutable',
  entrypointImmutable: 'spec.entrypoint is immutable',
  timeoutSecondsImmutable: 'spec.timeoutSeconds is immutable',
  retryPolicyImmutable: 'spec.retryPolicy is immutable',
  cancelOneWay: 'spec.cancelRequested cannot be set back to false once it is true',
  terminalPhase: 'status.phase is terminal and cannot change',
  outputKey: 'status.outputs keys must be 1 to 128 characters long',
  runtimeName:
    "metadata.name of a Runtime must be a DNS-1123 label: lowercase alphanumerics or '-', at most 63 characters",
  firstContainer: 'spec.template.spec.containers[0].name must be "runtime"',
  runtimedReserved:
    'spec.template.spec.containers must not contain a container named "runtimed"; kruntimes injects it',
  capacityRuns: 'spec.capacity.resources.runs must be an integer of at least 1',
  capacityNames:
    "spec.capacity.resources names must be lowercase alphanumerics, '-' or '.', at most 54 characters",
  capacityAmounts: 'spec.capacity.resources values must be non-negative whole numbers',
  requestNames:
    "spec.resources.requests names must be lowercase alphanumerics, '-' or '.', at most 54 characters",
  requestRuns: 'spec.resources.requests.runs must be at least 1',
  resourcesImmutable: 'spec.resources is immutable',
  artifactStoreExactlyOne: 'spec.artifactStore must set exactly one of filesystem or s3',
  artifactPathDotDot: "spec.artifactStore.filesystem.subPath must not contain a '..' path segment",
  tasksImmutable: 'spec.tasks is immutable',
  taskDuplicate: (name: string) => `spec.tasks has more than one task named "${name}"`,
  taskUnknownDependency: (name: string) => `task "${name}" depends on a task that does not exist`,
  taskCycle: (name: string) => `task "${name}" is part of a dependency cycle`,
  taskSelfDependency: (name: string) => `task "${name}" cannot depend on itself`,
} as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GIT_COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const DOT_DOT_SEGMENT = /(^|\/)\.\.(\/|$)/;

/** Length in characters (code points), the unit of the CRD's maxLength. */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** True when the string has at most `max` characters; cheap for the common short case. */
function fits(s: string, max: number): boolean {
  return s.length <= max || charLength(s) <= max;
}

/** Why an entrypoint is refused, or undefined when it is a valid relative path in the workspace. */
export function validateEntrypoint(path: string): string | undefined {
  if (path.length === 0) return 'spec.entrypoint must not be empty';
  if (!fits(path, Limits.entrypointBytes)) {
    return `spec.entrypoint must be at most ${Limits.entrypointBytes} characters`;
  }
  if (path.startsWith('/')) return CelMessage.entrypointAbsolute;
  if (DOT_DOT_SEGMENT.test(path)) return CelMessage.entrypointDotDot;
  if (path.includes('\0')) return CelMessage.entrypointNul;
  return undefined;
}

/** A name the workload sees in its environment: [A-Za-z_][A-Za-z0-9_]*, at most 256 characters. */
export function isValidEnvName(name: string): boolean {
  return name.length <= Limits.envNameBytes && ENV_NAME.test(name);
}

export function isValidRuntimeName(name: string): boolean {
  return name.length <= Limits.nameBytes && DNS_LABEL.test(name);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function checkIntRange(errors: string[], field: string, v: unknown, min: number, max?: number): void {
  if (v === undefined) return;
  if (!isInt(v)) errors.push(`${field} must be an integer`);
  else if (v < min) errors.push(`${field} must be at least ${min}`);
  else if (max !== undefined && v > max) errors.push(`${field} must be at most ${max}`);
}

/**
 * Every reason the apiserver would refuse this Run spec on create (schema and CEL), as messages;
 * empty when the spec is valid. The execution-defining part is shared with Workflow task runs.
 */
export function validateRunSpec(spec: RunSpec): string[] {
  const errors: string[] = [];
  if (typeof spec.runtime !== 'string' || spec.runtime === '') errors.push('spec.runtime is required');
  else if (!isValidRuntimeName(spec.runtime)) {
    errors.push(
      `spec.runtime must be a Runtime name (DNS-1123 label, at most ${Limits.nameBytes} characters)`,
    );
  }

  if (spec.args !== undefined) {
    if (spec.args.length > Limits.args) errors.push(`spec.args must have at most ${Limits.args} items`);
    spec.args.forEach((arg, i) => {
      if (typeof arg !== 'string') errors.push(`spec.args[${i}] must be a string`);
      else if (!fits(arg, Limits.argBytes))
        errors.push(`spec.args[${i}] must be at most ${Limits.argBytes} characters`);
    });
  }

  if (spec.env !== undefined) {
    const names = Object.keys(spec.env);
    if (names.length > Limits.envEntries)
      errors.push(`spec.env must have at most ${Limits.envEntries} entries`);
    if (!names.every(isValidEnvName)) errors.push(CelMessage.envName);
    for (const name of names) {
      const value = spec.env[name];
      if (typeof value !== 'string') errors.push(`spec.env.${name} must be a string`);
      else if (!fits(value, Limits.envValueBytes)) {
        errors.push(`spec.env.${name} must be at most ${Limits.envValueBytes} characters`);
      }
    }
  }

  const source = spec.source;
  if (source !== undefined) {
    if ((source.inline !== undefined) === (source.git !== undefined))
      errors.push(CelMessage.sourceExactlyOne);
    if (source.inline !== undefined && !fits(source.inline, Limits.inlineSourceBytes)) {
      errors.push(`spec.source.inline must be at most ${Limits.inlineSourceBytes} characters`);
    }
    const git = source.git;
    if (git !== undefined) {
      if (!git.repository) errors.push('spec.source.git.repository is required');
      else {
        if (!fits(git.repository, Limits.gitRepositoryBytes)) {
          errors.push(`spec.source.git.repository must be at most ${Limits.gitRepositoryBytes} characters`);
        }
        if (git.repository.startsWith('-')) errors.push(CelMessage.gitRepositoryDash);
      }
      if (git.ref !== undefined) {
        if (git.ref === '' || !fits(git.ref, Limits.gitRefBytes)) {
          errors.push(`spec.source.git.ref must be 1 to ${Limits.gitRefBytes} characters`);
        }
        if (git.ref.startsWith('-')) errors.push(CelMessage.gitRefDash);
      }
      if (git.commit !== undefined && !GIT_COMMIT.test(git.commit)) {
        errors.push('spec.source.git.commit must be a full commit hash (40 or 64 lowercase hex digits)');
      }
      if (git.subPath !== undefined) {
        if (git.subPath === '' || !fits(git.subPath, Limits.gitSubPathBytes)) {
          errors.push(`spec.source.git.subPath must be 1 to ${Limits.gitSubPathBytes} characters`);
        }
        if (git.subPath.startsWith('/') || DOT_DOT_SEGMENT.test(git.subPath)) errors.push(CelMessage.gitSubPath);
      }
    }
  }

  if (spec.entrypoint !== undefined) {
    const problem = validateEntrypoint(spec.entrypoint);
    if (problem) errors.push(problem);
  }
  if (source === undefined && spec.entrypoint === undefined && spec.args === undefined) {
    errors.push(CelMessage.nothingToRun);
  }
  if (source?.inline !== undefined && spec.entrypoint === undefined)
    errors.push(CelMessage.inlineNeedsEntrypoint);

  checkIntRange(errors, 'spec.timeoutSeconds', spec.timeoutSeconds, 1, Limits.timeoutSecondsMax);
  checkIntRange(
    errors,
    'spec.retryPolicy.maxAttempts',
    spec.retryPolicy?.maxAttempts,
    1,
    Limits.maxAttemptsMax,
  );
  checkIntRange(
    errors,
    'spec.retryPolicy.backoffSeconds',
    spec.retryPolicy?.backoffSeconds,
    0,
    Limits.backoffSecondsMax,
  );
  const retryOn = spec.retryPolicy?.retryOn;
  if (retryOn !== undefined) {
    if (!Array.isArray(retryOn)) errors.push('spec.retryPolicy.retryOn must be a list of reasons');
    else {
      // The apiserver's messages for an enum item and for a repeated item of a set list.
      retryOn.forEach((reason, i) => {
        const field = `spec.retryPolicy.retryOn[${i}]`;
        if (!(RETRYABLE_REASONS as readonly unknown[]).includes(reason)) {
          const supported = RETRYABLE_REASONS.map((r) => JSON.stringify(r)).join(', ');
          errors.push(`${field}: Unsupported value: ${JSON.stringify(reason)}: supported values: ${supported}`);
        } else if (retryOn.indexOf(reason) < i) errors.push(`${field}: Duplicate value: ${JSON.stringify(reason)}`);
      });
    }
  }
  const requests = spec.resources?.requests;
  if (requests !== undefined) {
    const names = Object.keys(requests);
    if (names.length > Limits.resourceNames)
      errors.push(`spec.resources.requests must have at most ${Limits.resourceNames} entries`);
    if (!names.every(isValidResourceName)) errors.push(CelMessage.requestNames);
    for (const name of names) {
      checkIntRange(errors, `spec.resources.requests.${name}`, requests[name], 0, Limits.resourceAmountMax);
    }
    if (isInt(requests[RESOURCE_RUNS]) && requests[RESOURCE_RUNS] < 1) errors.push(CelMessage.requestRuns);
  }
  checkIntRange(errors, 'spec.ttlSecondsAfterFinished', spec.ttlSecondsAfterFinished, 0, 2 ** 31 - 1);
  if (spec.cancelRequested !== undefined && typeof spec.cancelRequested !== 'boolean') {
    errors.push('spec.cancelRequested must be a boolean');
  }
  return errors;
}

/** Deep equality of JSON values, as CEL's == compares the API's lists and maps. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length &&
    ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

const IMMUTABLE_RUN_FIELDS = [
  ['runtime', CelMessage.runtimeImmutable],
  ['args', CelMessage.argsImmutable],
  ['env', CelMessage.envImmutable],
  ['source', CelMessage.sourceImmutable],
  ['entrypoint', CelMessage.entrypointImmutable],
  ['timeoutSeconds', CelMessage.timeoutSecondsImmutable],
  ['retryPolicy', CelMessage.retryPolicyImmutable],
  ['resources', CelMessage.resourcesImmutable],
] as const satisfies ReadonlyArray<readonly [keyof RunSpec, string]>;

/**
 * The CRD's transition rules for an update of a Run's spec: what defines the execution is
 * immutable, and a requested cancellation cannot be withdrawn. Compare specs as the apiserver
 * stores them (with defaults applied), or an added default reads as a change.
 */
export function validateRunSpecUpdate(oldSpec: RunSpec, newSpec: RunSpec): string[] {
  const errors: string[] = [];
  for (const [field, message] of IMMUTABLE_RUN_FIELDS) {
    if (!jsonEqual(oldSpec[field], newSpec[field])) errors.push(message);
  }
  if (oldSpec.cancelRequested === true && newSpec.cancelRequested !== true)
    errors.push(CelMessage.cancelOneWay);
  return errors;
}

/** Every reason the apiserver would refuse this Runtime spec, mirroring the CRD's CEL rules. */
export function validateRuntimeSpec(spec: RuntimeSpec, name?: string): string[] {
  const errors: string[] = [];
  if (name !== undefined && !isValidRuntimeName(name)) errors.push(CelMessage.runtimeName);
  checkIntRange(errors, 'spec.replicas', spec.replicas, 0, 2 ** 31 - 1);

  const resources = spec.capacity?.resources;
  if (resources !== undefined) {
    if (resources.runs !== undefined && !(isInt(resources.runs) && resources.runs >= 1)) {
      errors.push(CelMessage.capacityRuns);
    }
    if (!Object.keys(resources).every(isValidResourceName)) errors.push(CelMessage.capacityNames);
    if (!Object.values(resources).every((v) => v === undefined || wholeAmount(v) !== undefined))
      errors.push(CelMessage.capacityAmounts);
  }

  const containers = spec.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push('spec.template.spec.containers must have at least one container');
  } else {
    if (containers[0].name !== RUNTIME_CONTAINER) errors.push(CelMessage.firstContainer);
    if (containers.some((c) => c.name === RUNTIMED_CONTAINER)) errors.push(CelMessage.runtimedReserved);
    containers.forEach((c, i) => {
      if (typeof c.name !== 'string' || c.name === '')
        errors.push(`spec.template.spec.containers[${i}].name is required`);
      if (typeof c.image !== 'string' || c.image === '') {
        errors.push(`spec.template.spec.containers[${i}].image is required`);
      }
    });
  }

  const store = spec.artifactStore;
  if (store !== undefined) {
    if ((store.filesystem !== undefined) === (store.s3 !== undefined))
      errors.push(CelMessage.artifactStoreExactlyOne);
    const path = store.filesystem?.subPath;
    if (path !== undefined && DOT_DOT_SEGMENT.test(path)) errors.push(CelMessage.artifactPathDotDot);
  }
  return errors;
}

/**
 * A dependency cycle among the tasks, as the task names along it (first name repeated at the
 * end), or undefined. CEL only sees cycles of one and two tasks; the Workflow controller uses this
 * for the rest. Dependencies on unknown tasks are ignored here.
 */
export function findDependencyCycle(tasks: readonly WorkflowTask[]): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.name, t.dependsOn ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of deps.get(name) ?? []) {
      if (!deps.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const t of tasks) {
    const cycle = visit(t.name);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Every reason the apiserver would refuse this Workflow spec (CEL names the first offending task
 * of each rule; so do these messages), plus cycles longer than CEL can see.
 */
export function validateWorkflowSpec(spec: WorkflowSpec): string[] {
  const errors: string[] = [];
  const tasks = spec.tasks ?? [];
  if (tasks.length === 0) errors.push('spec.tasks must have at least one task');
  if (tasks.length > Limits.workflowTasks)
    errors.push(`spec.tasks must have at most ${Limits.workflowTasks} tasks`);
  const names = new Set(tasks.map((t) => t.name));
  const count = (name: string) => tasks.filter((t) => t.name === name).length;

  const duplicate = tasks.find((t) => count(t.name) > 1);
  if (duplicate) errors.push(CelMessage.taskDuplicate(duplicate.name));
  const unknown = tasks.find((t) => (t.dependsOn ?? []).some((d) => !names.has(d)));
  if (unknown) errors.push(CelMessage.taskUnknownDependency(unknown.name));
  const mutual = tasks.find((t) =>
    tasks.some(
      (u) =>
        u.name !== t.name && (t.dependsOn ?? []).includes(u.name) && (u.dependsOn ?? []).includes(t.name),
    ),
  );
  if (mutual) errors.push(CelMessage.taskCycle(mutual.name));

  tasks.forEach((task, i) => {
    const at = `spec.tasks[${i}]`;
    if (!isValidRuntimeName(task.name ?? '')) {
      errors.push(`${at}.name must be a DNS-1123 label of at most ${Limits.nameBytes} characters`);
    }
    const dependsOn = task.dependsOn ?? [];
    if (dependsOn.includes(task.name)) errors.push(CelMessage.taskSelfDependency(task.name));
    if (dependsOn.length > Limits.workflowDependsOn) {
      errors.push(`${at}.dependsOn must have at most ${Limits.workflowDependsOn} items`);
    }
    if (new Set(dependsOn).size !== dependsOn.length) errors.push(`${at}.dependsOn must not repeat a task`);
    if (task.run === undefined) errors.push(`${at}.run is required`);
    else for (const e of validateRunSpec(task.run)) errors.push(`${at}.run: ${e}`);
  });

  // Longer cycles: the same check the Workflow controller makes.
  if (!mutual && !tasks.some((t) => (t.dependsOn ?? []).includes(t.name))) {
    const cycle = findDependencyCycle(tasks);
    if (cycle) errors.push(`spec.tasks have a dependency cycle: ${cycle.join(' -> ')}`);
  }
  return errors;
}
