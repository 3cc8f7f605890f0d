// How a Workflow names and labels its child Runs. Written once: the Workflow controller creates
// Runs with these names and labels, kubectl krt finds them by them.
import { createHash } from 'node:crypto';
import { Label, type Workflow } from './api.ts';

/** The longest object name the apiserver takes (a DNS subdomain) and the longest label value. */
const MAX_NAME = 253;
const MAX_LABEL_VALUE = 63;

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** `<workflow>-<task>`, or a shortened workflow name and a hash of the full one when that is too long. */
export function childRunName(workflowName: string, taskName: string): string {
  const plain = `${workflowName}-${taskName}`;
  if (plain.length <= MAX_NAME) return plain;
  const keep = MAX_NAME - taskName.length - 10; // "-" + hash + "-"
  return `${workflowName.slice(0, keep).replace(/[-.]+$/, '')}-${shortHash(workflowName)}-${taskName}`;
}

/** The value of the kruntimes.io/workflow label: the name, or a shortened name and a hash of it. */
export function workflowLabelValue(workflowName: string): string {
  if (workflowName.length <= MAX_LABEL_VALUE) return workflowName;
  const head = workflowName.slice(0, MAX_LABEL_VALUE - 9).replace(/[^a-z0-9]+$/, '');
  return `${head}-${shortHash(workflowName)}`;
}

/** The label selector of a Workflow's child Runs. */
export function childRunSelector(workflowName: string): string {
  return `${Label.Workflow}=${workflowLabelValue(workflowName)}`;
}

/** Every task of the Workflow, tasks first, then finally tasks, with which list each is in. */
export function allTasks(workflow: Workflow): Array<{ task: Workflow['spec']['tasks'][number]; isFinally: boolean }> {
  return [
    ...(workflow.spec.tasks ?? []).map((task) => ({ task, isFinally: false })),
    ...(workflow.spec.finally ?? []).map((task) => ({ task, isFinally: true })),
  ];
}
