// What `kubectl krt workflow run --follow` shows of the tasks while the Workflow runs. On a
// terminal: a block of one line per task (phase, duration, attempt) redrawn in place below the
// tasks' output. Elsewhere: one plain line per change, `task build Running`, for logs and CI.
// Which changes count and how each looks are pure functions, tested on their own.
import { stripVTControlCharacters } from 'node:util';
import { Writable } from 'node:stream';
import type { ChalkInstance } from 'chalk';
import { TaskPhase, type Workflow } from '../../lib/api.ts';
import type { Sink } from '../logs/writer.ts';
import { preciseDuration } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import {
  colorTaskPhase,
  taskDuration,
  taskProgress,
  taskRows,
  workflowDuration,
  workflowPhaseOf,
} from '../output/workflow-table.ts';

/** What a change line says of a task. */
export interface TaskState {
  task: string;
  phase: string;
  attempt?: number;
  reason?: string;
  message?: string;
}

export function taskStates(workflow: Workflow): TaskState[] {
  return taskRows(workflow).map((r) => ({
    task: r.name,
    phase: r.phase,
    attempt: r.status.attempt,
    reason: r.status.reason,
    message: r.status.message,
  }));
}

/**
 * What makes a new line: another phase, another attempt, or (while Pending) another reason, such
 * as RuntimeNotFound, that says why the task waits.
 */
function stateKey(s: TaskState): string {
  return `${s.phase}/${s.attempt ?? ''}/${s.phase === TaskPhase.Pending ? (s.reason ?? '') : ''}`;
}

/**
 * The tasks whose state changed since `previous` (undefined: the first look, when every task that
 * is not plainly Pending is news), in task order.
 */
export function taskChanges(
  previous: readonly TaskState[] | undefined,
  next: readonly TaskState[],
): TaskState[] {
  const before = new Map((previous ?? []).map((s) => [s.task, stateKey(s)]));
  return next.filter((s) => {
    const was = before.get(s.task);
    if (was === undefined) return previous !== undefined || stateKey(s) !== stateKey({ task: s.task, phase: TaskPhase.Pending });
    return was !== stateKey(s);
  });
}

const QUIET_PHASES: ReadonlySet<string> = new Set([TaskPhase.Scheduled, TaskPhase.Running, TaskPhase.Succeeded]);

function details(s: TaskState): string {
  if (QUIET_PHASES.has(s.phase)) return '';
  const text = [s.reason, s.message?.replace(/\s*\n\s*/g, ' ')].filter(Boolean).join(': ');
  return text ? `: ${text}` : '';
}

/** `task build Running (attempt 2)`, `task load Skipped: UpstreamFailed: …` */
export function changeLine(s: TaskState): string {
  return `task ${s.task} ${s.phase}${s.attempt !== undefined && s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}${details(s)}`;
}

function symbol(chalk: ChalkInstance, phase: string): string {
  switch (phase) {
    case TaskPhase.Succeeded:
      return chalk.green('✓');
    case TaskPhase.Failed:
      return chalk.red('✗');
    case TaskPhase.Timeout:
    case TaskPhase.Cancelled:
      return chalk.yellow('✗');
    case TaskPhase.Running:
      return chalk.cyan('▶');
    case TaskPhase.Skipped:
      return chalk.dim('-');
    default:
      return chalk.dim('○');
  }
}

/** The block the terminal view draws: a heading line, then one line per task. */
export function renderTaskLines(workflow: Workflow, chalk: ChalkInstance, now: number): string[] {
  const duration = workflowDuration(workflow, now);
  const heading = [
    `Workflow ${workflow.metadata.name}`,
    colorTaskPhase(chalk, workflowPhaseOf(workflow)),
    `${taskProgress(workflow)} tasks`,
    duration === undefined ? '' : preciseDuration(duration),
  ]
    .filter(Boolean)
    .join('   ');
  const rows = taskRows(workflow).map((r) => {
    const d = taskDuration(r, now);
    return [
      `${symbol(chalk, r.phase)} ${r.name}${r.isFinally ? chalk.dim(' (finally)') : ''}`,
      colorTaskPhase(chalk, r.phase),
      d === undefined ? '' : preciseDuration(d),
      r.status.attempt !== undefined && r.status.attempt > 1 ? `attempt ${r.status.attempt}` : '',
      QUIET_PHASES.has(r.phase) ? '' : (r.status.reason ?? ''),
    ];
  });
  const table = renderTable(undefined, rows);
  return [heading, ...table.split('\n').filter((l) => l !== '').map((l) => `  ${l}`)];
}

/** A line cut to the terminal's width, so that the block takes exactly one row per line. */
export function fitLine(line: string, columns: number | undefined): string {
  if (!columns) return line;
  const plain = stripVTControlCharacters(line);
  return plain.length < columns ? line : `${plain.slice(0, Math.max(0, columns - 2))}…`;
}

/**
 * A block of lines at the bottom of a terminal that is redrawn in place; whatever is written
 * through above() appears above it (the block is erased, the text written, the block redrawn).
 */
export class LiveRegion {
  private readonly sink: Sink;
  private readonly columns: () => number | undefined;
  private frame: readonly string[] = [];
  private shown = 0;

  constructor(sink: Sink, columns: () => number | undefined = () => undefined) {
    this.sink = sink;
    this.columns = columns;
  }

  draw(lines: readonly string[]): void {
    this.frame = lines;
    this.sink.write(this.erase() + this.render());
  }

  above(write: () => void): void {
    if (this.shown === 0) {
      write();
      return;
    }
    this.sink.write(this.erase());
    write();
    this.sink.write(this.render());
  }

  private erase(): string {
    const text = this.shown > 0 ? `\x1b[${this.shown}A\r\x1b[J` : '';
    this.shown = 0;
    return text;
  }

  private render(): string {
    const lines = this.frame.map((l) => fitLine(l, this.columns()));
    this.shown = lines.length;
    return lines.map((l) => `${l}\n`).join('');
  }
}

/** A stream whose writes appear above the region (for notes and the tasks' output on the same terminal). */
export function aboveRegion(region: LiveRegion, target: Sink): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      region.above(() => target.write(chunk));
      callback();
    },
  });
}

/** What follow calls with each version of the Workflow; stop() leaves the last state shown. */
export interface TaskView {
  update(workflow: Workflow): void;
  stop(): void;
}

/** One line per change, through `note` (stderr). */
export function plainView(note: (line: string) => void): TaskView {
  let previous: TaskState[] | undefined;
  return {
    update(workflow) {
      const states = taskStates(workflow);
      for (const change of taskChanges(previous, states)) note(changeLine(change));
      previous = states;
    },
    stop() {},
  };
}

/** The block, redrawn on every change and every second (durations move on). */
export function terminalView(region: LiveRegion, chalk: ChalkInstance, tickMs = 1000): TaskView {
  let current: Workflow | undefined;
  const draw = () => {
    if (current) region.draw(renderTaskLines(current, chalk, Date.now()));
  };
  const timer = setInterval(draw, tickMs);
  timer.unref();
  return {
    update(workflow) {
      current = workflow;
      draw();
    },
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}
