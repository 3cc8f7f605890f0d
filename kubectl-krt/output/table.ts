// kubectl-style tables: upper-case headers, columns padded to their widest cell and separated by
// three spaces, no trailing whitespace. Color codes do not count towards a cell's width.
import { stripVTControlCharacters } from 'node:util';

const GAP = '   ';

function width(cell: string): number {
  return stripVTControlCharacters(cell).length;
}

/** The width of each column: its widest cell. */
export function columnWidths(rows: ReadonlyArray<readonly string[]>): number[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  return Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
}

/**
 * The table as text. `minWidths` keeps later rows aligned with an earlier table (list --watch
 * prints one row per change under the first table's header).
 */
export function renderTable(
  header: readonly string[] | undefined,
  rows: ReadonlyArray<readonly string[]>,
  minWidths: readonly number[] = [],
): string {
  const all = header ? [header, ...rows] : [...rows];
  if (all.length === 0) return '';
  const widths = columnWidths(all).map((w, i) => Math.max(w, minWidths[i] ?? 0));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - width(cell))))
        .join(GAP)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** A "Key: value" block with the values aligned, as in kubectl describe; nested blocks are indented. */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const keyWidth = Math.max(0, ...fields.map(([k]) => k.length + 1));
  return fields
    .map(([k, v]) => `${indent}${`${k}:`.padEnd(keyWidth)}  ${v}`.trimEnd())
    .map((line) => `${line}\n`)
    .join('');
}

/** Indents every line of a block. */
export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');
}
