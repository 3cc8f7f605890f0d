// Workflow expressions: `$(params.NAME)`, `$(tasks.TASK.outputs.KEY)` and `$(tasks.TASK.phase)`
// in a task's run.args items and run.env values, and in spec.outputs. `$$(` is a literal `$(`.
// Parsing and checking are pure and shared: the Workflow controller refuses a Workflow whose
// references can never resolve before it creates any Run, and kubectl krt refuses it before
// sending it. Resolution happens when the controller creates a task's Run.
import type { WorkflowSpec, WorkflowTask } from './api.ts';
import { findDependencyCycle } from './validation.ts';

export type Reference =
  | { kind: 'param'; name: string }
  | { kind: 'output'; task: string; key: string }
  | { kind: 'phase'; task: string };

export type Segment = { text: string } | { ref: Reference; source: string };

const PARAM = /^params\.([A-Za-z_][A-Za-z0-9_-]*)$/;
const OUTPUT = /^tasks\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.outputs\.([A-Za-z_][A-Za-z0-9_.-]*)$/;
const PHASE = /^tasks\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.phase$/;

/** Splits a template into literal text and references, or says why it is malformed. */
export function parseTemplate(text: string): { segments: Segment[] } | { error: string } {
  const segments: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$$(', i)) {
      literal += '$(';
      i += 3;
      continue;
    }
    if (!text.startsWith('$(', i)) {
      literal += text[i++];
      continue;
    }
    const close = text.indexOf(')', i + 2);
    if (close < 0) return { error: `unterminated expression "${text.slice(i, i + 40)}" (write $$( for a literal $( )` };
    const source = text.slice(i, close + 1);
    const body = text.slice(i + 2, close).trim();
    let ref: Reference | undefined;
    let m: RegExpExecArray | null;
    if ((m = PARAM.exec(body))) ref = { kind: 'param', name: m[1] };
    else if ((m = OUTPUT.exec(body))) ref = { kind: 'output', task: m[1], key: m[3] };
    else if ((m = PHASE.exec(body))) ref = { kind: 'phase', task: m[1] };
    if (!ref)
      return {
        error: `malformed expression "${source}": expected $(params.NAME), $(tasks.TASK.outputs.KEY) or $(tasks.TASK.phase) (write $$( for a literal $( )`,
      };
    if (literal) segments.push({ text: literal });
    literal = '';
    segments.push({ ref, source });
    i = close + 1;
  }
  if (literal || segments.length === 0) segments.push({ text: literal });
  return { segments };
}

/** What a resolution can read: parameter values, finished tasks' outputs and phases. */
export interface ResolveContext {
  params: ReadonlyMap<string, string>;
  outputs(task: string): Readonly<Record<string, string>> | undefined;
  phase(task: string): string | undefined;
}

export type Resolution = { value: string } | { missing: { task: string; key: string } };

/** Fills in a template that passed checkReferences; a missing output is reported, not guessed. */
export function resolveTemplate(text: string, ctx: ResolveContext): Resolution {
  const parsed = parseTemplate(text);
  if ('error' in parsed) throw new Error(parsed.error); // checked before any Run is created
  let value = '';
  for (const seg of parsed.segments) {
    if ('text' in seg) value += seg.text;
    else if (seg.ref.kind === 'param') value += ctx.params.get(seg.ref.name) ?? '';
    else if (seg.ref.kind === 'phase') value += ctx.phase(seg.ref.task) ?? '';
    else {
      const out = ctx.outputs(seg.ref.task)?.[seg.ref.key];
      if (out === undefined) return { missing: { task: seg.ref.task, key: seg.ref.key } };
      value += out;
    }
  }
  return { value };
}

/** The effective parameter values: value, else default; names without either are left out. */
export function paramValues(spec: WorkflowSpec): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of spec.params ?? []) {
    const v = p.value ?? p.default;
    if (v !== undefined) out.set(p.name, v);
  }
  return out;
}

/** Every task that `task` depends on, directly or transitively (within its own list). */
export function upstreamOf(tasks: readonly WorkflowTask[], task: string): Set<string> {
  const deps = new Map(tasks.map((t) => [t.name, t.dependsOn ?? []]));
  const seen = new Set<string>();
  const visit = (name: string) => {
    for (const d of deps.get(name) ?? [])
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
  };
  visit(task);
  return seen;
}

/** Each templated field of a task: its path in the spec and its text. */
function templatedFields(task: WorkflowTask, at: string): Array<{ field: string; text: string }> {
  const out: Array<{ field: string; text: string }> = [];
  (task.run?.args ?? []).forEach((text, i) => out.push({ field: `${at}.run.args[${i}]`, text }));
  for (const [name, text] of Object.entries(task.run?.env ?? {})) out.push({ field: `${at}.run.env.${name}`, text });
  return out;
}

/**
 * Every reason the Workflow can never run as written, each naming the field: dependency cycles
 * of any length and unknown dependencies, finally tasks depending on main tasks, parameters
 * without a value, and expressions that are malformed or reference an unknown parameter, an
 * unknown task, a task that is not upstream, or a phase outside spec.finally. Empty when it can run.
 */
export function checkWorkflow(spec: WorkflowSpec): string[] {
  const errors: string[] = [];
  const tasks = spec.tasks ?? [];
  const finallyTasks = spec.finally ?? [];
  const mainNames = new Set(tasks.map((t) => t.name));
  const finallyNames = new Set(finallyTasks.map((t) => t.name));

  (spec.params ?? []).forEach((p, i) => {
    if (p.value === undefined && p.default === undefined)
      errors.push(`spec.params[${i}] (${p.name}) has no value and no default`);
  });
  const declared = new Set((spec.params ?? []).map((p) => p.name));

  for (const [list, listTasks, own] of [
    ['tasks', tasks, mainNames],
    ['finally', finallyTasks, finallyNames],
  ] as const) {
    listTasks.forEach((t, i) => {
      for (const d of t.dependsOn ?? [])
        if (!own.has(d))
          errors.push(
            list === 'finally' && mainNames.has(d)
              ? `spec.finally[${i}].dependsOn: "${d}" is in spec.tasks; a finally task runs after every task anyway and may depend only on other finally tasks`
              : `spec.${list}[${i}].dependsOn: task "${d}" does not exist`,
          );
    });
    const cycle = findDependencyCycle(listTasks);
    if (cycle) errors.push(`spec.${list} have a dependency cycle: ${cycle.join(' -> ')}`);
  }

  const check = (field: string, text: string, allowed: (ref: Reference) => string | undefined) => {
    const parsed = parseTemplate(text);
    if ('error' in parsed) {
      errors.push(`${field}: ${parsed.error}`);
      return;
    }
    for (const seg of parsed.segments) {
      if (!('ref' in seg)) continue;
      const { ref, source } = seg;
      if (ref.kind === 'param') {
        if (!declared.has(ref.name)) errors.push(`${field}: ${source} references param "${ref.name}", which is not in spec.params`);
        continue;
      }
      if (!mainNames.has(ref.task) && !finallyNames.has(ref.task)) {
        errors.push(`${field}: ${source} references task "${ref.task}", which does not exist`);
        continue;
      }
      const why = allowed(ref);
      if (why) errors.push(`${field}: ${source} ${why}`);
    }
  };

  tasks.forEach((t, i) => {
    const upstream = upstreamOf(tasks, t.name);
    for (const { field, text } of templatedFields(t, `spec.tasks[${i}]`))
      check(field, text, (ref) => {
        if (ref.kind === 'phase') return 'is only available to spec.finally tasks';
        if (ref.kind === 'output' && !upstream.has(ref.task))
          return `references task "${ref.task}", which is not upstream of task "${t.name}" (add it to dependsOn)`;
        return undefined;
      });
  });
  finallyTasks.forEach((t, i) => {
    const upstream = upstreamOf(finallyTasks, t.name);
    for (const { field, text } of templatedFields(t, `spec.finally[${i}]`))
      check(field, text, (ref) =>
        'task' in ref && finallyNames.has(ref.task) && !upstream.has(ref.task)
          ? `references finally task "${ref.task}", which is not upstream of task "${t.name}" (add it to dependsOn)`
          : undefined,
      );
  });
  for (const [name, text] of Object.entries(spec.outputs ?? {}))
    check(`spec.outputs.${name}`, text, () => undefined);
  return errors;
}
