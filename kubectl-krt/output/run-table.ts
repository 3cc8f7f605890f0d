// Runs as table rows (kubectl krt get/list), and the one-line result of a finished Run.
import type { ChalkInstance } from 'chalk';
import { isTerminal, type Run, RunPhase } from '../../lib/api.ts';
import { age, between, preciseDuration } from './format.ts';
import { renderTable } from './table.ts';

export function phaseOf(run: Run): string {
  return run.status?.phase ?? RunPhase.Pending;
}

export function colorPhase(chalk: ChalkInstance, phase: string): string {
  switch (phase) {
    case RunPhase.Succeeded:
      return chalk.green(phase);
    case RunPhase.Failed:
      return chalk.red(phase);
    case RunPhase.Timeout:
    case RunPhase.Cancelled:
      return chalk.yellow(phase);
    case RunPhase.Running:
      return chalk.cyan(phase);
    default:
      return phase;
  }
}

/** How long the Run has executed: start to completion, or to now while it runs. */
export function runDuration(run: Run, now: number): number | undefined {
  const s = run.status;
  if (!s?.startTime) return undefined;
  if (s.completionTime) return between(s.startTime, s.completionTime);
  if (isTerminal(s.phase)) return undefined;
  return now - Date.parse(s.startTime);
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

export interface RunTableOptions {
  wide: boolean;
  /** Show a NAMESPACE column (-A). */
  namespaces: boolean;
  noHeaders?: boolean;
  now: number;
}

export function runHeader(o: RunTableOptions): string[] {
  return [
    ...(o.namespaces ? ['NAMESPACE'] : []),
    'NAME',
    'PHASE',
    'RUNTIME',
    'DURATION',
    'AGE',
    ...(o.wide ? ['ATTEMPT', 'EXIT', 'POD', 'REASON', 'MESSAGE'] : []),
  ];
}

export function runRow(run: Run, chalk: ChalkInstance, o: RunTableOptions): string[] {
  const s = run.status ?? {};
  const duration = runDuration(run, o.now);
  return [
    ...(o.namespaces ? [run.metadata.namespace ?? ''] : []),
    run.metadata.name ?? '',
    colorPhase(chalk, phaseOf(run)),
    run.spec.runtime,
    duration === undefined ? '' : preciseDuration(duration),
    age(run.metadata.creationTimestamp, o.now),
    ...(o.wide
      ? [
          s.attempt === undefined ? '' : String(s.attempt),
          s.exitCode === undefined ? '' : String(s.exitCode),
          s.assignedPod ?? '',
          s.reason ?? '',
          oneLine(s.message),
        ]
      : []),
  ];
}

export function renderRunTable(runs: readonly Run[], chalk: ChalkInstance, o: RunTableOptions): string {
  return renderTable(
    o.noHeaders ? undefined : runHeader(o),
    runs.map((r) => runRow(r, chalk, o)),
  );
}

/** `Run hello-x2 Succeeded in 1.2s (exit code 0) on runtime-bash-7d9f-abc` */
export function runResultLine(run: Run, chalk: ChalkInstance): string {
  const s = run.status ?? {};
  const duration = between(s.startTime, s.completionTime);
  const parts = [`Run ${run.metadata.name} ${colorPhase(chalk, phaseOf(run))}`];
  if (duration !== undefined) parts.push(`in ${preciseDuration(duration)}`);
  const details: string[] = [];
  if (s.exitCode !== undefined) details.push(`exit code ${s.exitCode}`);
  if (s.attempt !== undefined && s.attempt > 1) details.push(`attempt ${s.attempt}`);
  if (s.assignedPod) details.push(`pod ${s.assignedPod}`);
  if (details.length > 0) parts.push(`(${details.join(', ')})`);
  let line = parts.join(' ');
  if (s.phase !== RunPhase.Succeeded && s.message) line += `: ${oneLine(s.message)}`;
  return `${line}\n`;
}

/** Outputs as `KEY=VALUE` lines under a heading, or nothing when there are none (Runs and Workflows). */
export function renderOutputMap(outputs: Readonly<Record<string, string>> | undefined): string {
  if (!outputs || Object.keys(outputs).length === 0) return '';
  return `Outputs:\n${Object.entries(outputs)
    .map(([k, v]) => `  ${k}=${v}\n`)
    .join('')}`;
}

/** The Run's outputs as `KEY=VALUE` lines under a heading, or nothing when there are none. */
export function renderOutputs(run: Run): string {
  return renderOutputMap(run.status?.outputs);
}
