// Workflows as table rows (kubectl krt workflow get/list), their tasks as a table (describe, the
// summary after run --wait), and the one-line result of a finished Workflow.
import type { ChalkInstance } from 'chalk';
import {
  isTerminal,
  isWorkflowTerminal,
  TaskPhase,
  type Workflow,
  WorkflowPhase,
  type WorkflowTaskStatus,
} from '../../lib/api.ts';
import { allTasks } from '../../lib/workflow-names.ts';
import { age, between, preciseDuration } from './format.ts';
import { colorPhase, renderOutputMap } from './run-table.ts';
import { renderTable } from './table.ts';

export function workflowPhaseOf(workflow: Workflow): string {
  return workflow.status?.phase ?? WorkflowPhase.Pending;
}

export function colorTaskPhase(chalk: ChalkInstance, phase: string): string {
  return phase === TaskPhase.Skipped ? chalk.dim(phase) : colorPhase(chalk, phase);
}

/** A task that will not change any more: its Run ended, or it was Skipped. */
export function isTaskDone(phase: string | undefined): boolean {
  return phase === TaskPhase.Skipped || isTerminal(phase);
}

/** One task of the Workflow with its status summary, in the order of the spec (tasks, then finally). */
export interface TaskRow {
  name: string;
  isFinally: boolean;
  dependsOn: readonly string[];
  status: WorkflowTaskStatus;
  /** status.phase, or Pending when the controller has not written one. */
  phase: string;
}

export function taskRows(workflow: Workflow): TaskRow[] {
  const statuses = workflow.status?.tasks ?? {};
  const rows: TaskRow[] = allTasks(workflow).map(({ task, isFinally }) => {
    const status = statuses[task.name] ?? {};
    return {
      name: task.name,
      isFinally,
      dependsOn: task.dependsOn ?? [],
      status,
      phase: status.phase ?? TaskPhase.Pending,
    };
  });
  return rows;
}

/** `2/5`: tasks done (ended or Skipped) of all tasks, finally tasks included. */
export function taskProgress(workflow: Workflow): string {
  const rows = taskRows(workflow);
  return `${rows.filter((r) => isTaskDone(r.phase)).length}/${rows.length}`;
}

/** How long something with these times has run: start to completion, or to now while it goes on. */
export function spanDuration(
  times: { startTime?: string; completionTime?: string },
  done: boolean,
  now: number,
): number | undefined {
  if (!times.startTime) return undefined;
  if (times.completionTime) return between(times.startTime, times.completionTime);
  if (done) return undefined;
  return now - Date.parse(times.startTime);
}

export function taskDuration(row: TaskRow, now: number): number | undefined {
  return spanDuration(row.status, isTaskDone(row.phase), now);
}

export function workflowDuration(workflow: Workflow, now: number): number | undefined {
  return spanDuration(workflow.status ?? {}, isWorkflowTerminal(workflow.status?.phase), now);
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

const formatDuration = (ms: number | undefined) => (ms === undefined ? '' : preciseDuration(ms));

export interface WorkflowTableOptions {
  wide: boolean;
  /** Show a NAMESPACE column (-A). */
  namespaces: boolean;
  now: number;
}

export function workflowHeader(o: WorkflowTableOptions): string[] {
  return [
    ...(o.namespaces ? ['NAMESPACE'] : []),
    'NAME',
    'PHASE',
    'TASKS',
    'DURATION',
    'AGE',
    ...(o.wide ? ['REASON', 'MESSAGE'] : []),
  ];
}

export function workflowRow(workflow: Workflow, chalk: ChalkInstance, o: WorkflowTableOptions): string[] {
  const s = workflow.status ?? {};
  return [
    ...(o.namespaces ? [workflow.metadata.namespace ?? ''] : []),
    workflow.metadata.name ?? '',
    colorPhase(chalk, workflowPhaseOf(workflow)),
    taskProgress(workflow),
    formatDuration(workflowDuration(workflow, o.now)),
    age(workflow.metadata.creationTimestamp, o.now),
    ...(o.wide ? [s.reason ?? '', oneLine(s.message)] : []),
  ];
}

export function renderWorkflowTable(
  workflows: readonly Workflow[],
  chalk: ChalkInstance,
  o: WorkflowTableOptions,
): string {
  return renderTable(
    workflowHeader(o),
    workflows.map((w) => workflowRow(w, chalk, o)),
  );
}

/** The tasks as a table: TASK PHASE RUN ATTEMPT DURATION REASON MESSAGE; finally tasks marked. */
export function renderTaskTable(workflow: Workflow, chalk: ChalkInstance, now: number): string {
  return renderTable(
    ['TASK', 'PHASE', 'RUN', 'ATTEMPT', 'DURATION', 'REASON', 'MESSAGE'],
    taskRows(workflow).map((row) => [
      row.isFinally ? `${row.name} (finally)` : row.name,
      colorTaskPhase(chalk, row.phase),
      row.status.runName ?? '',
      row.status.attempt === undefined ? '' : String(row.status.attempt),
      formatDuration(taskDuration(row, now)),
      row.status.reason ?? '',
      oneLine(row.status.message),
    ]),
  );
}

/** `Workflow etl-x2 Failed in 12.3s (2 of 3 tasks succeeded): task load failed` */
export function workflowResultLine(workflow: Workflow, chalk: ChalkInstance): string {
  const s = workflow.status ?? {};
  const rows = taskRows(workflow);
  const duration = between(s.startTime, s.completionTime);
  let line = `Workflow ${workflow.metadata.name} ${colorPhase(chalk, workflowPhaseOf(workflow))}`;
  if (duration !== undefined) line += ` in ${preciseDuration(duration)}`;
  const succeeded = rows.filter((r) => r.phase === TaskPhase.Succeeded).length;
  line += ` (${succeeded} of ${rows.length} task${rows.length === 1 ? '' : 's'} succeeded)`;
  if (s.phase !== WorkflowPhase.Succeeded && (s.reason || s.message)) {
    line += `: ${[s.reason, oneLine(s.message)].filter(Boolean).join(': ')}`;
  }
  return `${line}\n`;
}

/** The Workflow's outputs as `KEY=VALUE` lines under a heading, or nothing when there are none. */
export function renderWorkflowOutputs(workflow: Workflow): string {
  return renderOutputMap(workflow.status?.outputs);
}
