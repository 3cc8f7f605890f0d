// How doctor's findings read: problems first, each with its evidence and the next commands.
import type { ChalkInstance } from 'chalk';
import { type Finding, Status } from './snapshot.ts';

const ORDER: Record<Status, number> = { [Status.Problem]: 0, [Status.Warning]: 1, [Status.Ok]: 2 };

export function summarize(findings: readonly Finding[]): Record<Status, number> {
  const counts = { [Status.Ok]: 0, [Status.Warning]: 0, [Status.Problem]: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}

/** Stable order: problems, then warnings, then ok; within each, the order the checks ran. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((f, i) => [f, i] as const)
    .sort((a, b) => ORDER[a[0].status] - ORDER[b[0].status] || a[1] - b[1])
    .map(([f]) => f);
}

export function renderFindings(findings: readonly Finding[], chalk: ChalkInstance): string {
  const label: Record<Status, string> = {
    [Status.Problem]: chalk.red('PROBLEM'),
    [Status.Warning]: chalk.yellow('WARNING'),
    [Status.Ok]: chalk.green('OK     '),
  };
  const lines: string[] = [];
  for (const f of sortFindings(findings)) {
    lines.push(`${label[f.status]}  ${f.title}`);
    if (f.status !== Status.Ok) {
      for (const e of f.evidence) lines.push(`         ${chalk.dim('·')} ${e}`);
      for (const n of f.next) lines.push(`         ${chalk.cyan('next:')} ${n}`);
    }
  }
  const c = summarize(findings);
  lines.push('', `${c.ok} ok, ${c.warning} warning${c.warning === 1 ? '' : 's'}, ${c.problem} problem${c.problem === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export function findingsJson(findings: readonly Finding[]): string {
  return `${JSON.stringify({ summary: summarize(findings), findings: sortFindings(findings) }, null, 2)}\n`;
}
