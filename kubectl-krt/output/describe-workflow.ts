// `kubectl krt workflow describe NAME`: everything about one Workflow a person needs to see where
// it is: phase and reason, the spec in short (tasks and what each waits for, params with their
// effective values, outputs), each task's child Run and how it stands, conditions and Events.
import type { ChalkInstance } from 'chalk';
import type { Workflow } from '../../lib/api.ts';
import { paramValue } from '../parse/workflow-spec.ts';
import { type KubeEvent, renderConditionsSection, renderEventsSection } from './describe-run.ts';
import { age, preciseDuration, secondsAsDuration } from './format.ts';
import { colorPhase } from './run-table.ts';
import { indent, renderFields, renderTable } from './table.ts';
import { renderTaskTable, taskProgress, taskRows, workflowDuration, workflowPhaseOf } from './workflow-table.ts';

function specFields(workflow: Workflow): Array<[string, string]> {
  const sp = workflow.spec;
  const rows = taskRows(workflow);
  const list = (finallyTasks: boolean) =>
    rows
      .filter((r) => r.isFinally === finallyTasks)
      .map((r) => (r.dependsOn.length ? `${r.name} (after ${r.dependsOn.join(', ')})` : r.name))
      .join(', ');
  const fields: Array<[string, string]> = [['Tasks', list(false)]];
  if (sp.finally?.length) fields.push(['Finally', list(true)]);
  fields.push(['Fail Fast', sp.failFast ? 'true (the first failed task cancels the others)' : 'false']);
  if (sp.ttlSecondsAfterFinished !== undefined) {
    fields.push(['TTL', `deleted ${secondsAsDuration(sp.ttlSecondsAfterFinished)} after it finishes`]);
  }
  if (sp.cancelRequested) fields.push(['Cancel Requested', 'true']);
  return fields;
}

function paramsSection(workflow: Workflow): string {
  const params = workflow.spec.params ?? [];
  if (params.length === 0) return 'Params:  <none>\n';
  return `Params:\n${indent(
    renderTable(
      ['NAME', 'VALUE', 'DEFAULT', 'DESCRIPTION'],
      params.map((p) => [
        p.name,
        paramValue(p) ?? '<none>',
        p.default ?? '',
        (p.description ?? '').replace(/\s*\n\s*/g, ' '),
      ]),
    ),
  )}`;
}

function outputsSection(workflow: Workflow): string {
  const declared = Object.entries(workflow.spec.outputs ?? {});
  const resolved = workflow.status?.outputs ?? {};
  const names = [...new Set([...declared.map(([k]) => k), ...Object.keys(resolved)])];
  if (names.length === 0) return 'Outputs:  <none>\n';
  return `Outputs:\n${indent(
    renderTable(
      ['NAME', 'VALUE', 'FROM'],
      names.map((n) => [n, resolved[n] ?? '', workflow.spec.outputs?.[n] ?? '']),
    ),
  )}`;
}

export function describeWorkflow(
  workflow: Workflow,
  events: readonly KubeEvent[],
  chalk: ChalkInstance,
  now: number,
): string {
  const s = workflow.status ?? {};
  const m = workflow.metadata;
  const labels = Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  const duration = workflowDuration(workflow, now);
  const header: Array<[string, string]> = [
    ['Name', m.name ?? ''],
    ['Namespace', m.namespace ?? ''],
    ['UID', m.uid ?? ''],
    ['Labels', labels.length ? labels.join(', ') : '<none>'],
    ['Phase', colorPhase(chalk, workflowPhaseOf(workflow))],
    ['Reason', s.reason ?? ''],
    ['Message', s.message ? s.message.replace(/\n/g, '\n  ') : ''],
    ['Tasks Done', taskProgress(workflow)],
    ['Created', m.creationTimestamp ? `${m.creationTimestamp} (${age(m.creationTimestamp, now)} ago)` : ''],
    ['Started', s.startTime ?? ''],
    ['Completed', s.completionTime ?? ''],
    ['Duration', duration === undefined ? '' : preciseDuration(duration)],
  ];
  let out = renderFields(header.filter(([, v]) => v !== ''));
  out += `Spec:\n${renderFields(specFields(workflow), '  ')}`;
  out += paramsSection(workflow);
  out += `Task Runs:\n${indent(renderTaskTable(workflow, chalk, now))}`;
  out += outputsSection(workflow);
  out += renderConditionsSection(s.conditions ?? [], now);
  out += renderEventsSection(events, now);
  return out;
}
