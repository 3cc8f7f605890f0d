import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { indent, renderFields, renderTable } from './table.ts';

describe('renderTable', () => {
  it('pads columns to the widest cell with three spaces between them', () => {
    assert.equal(
      renderTable(
        ['NAME', 'PHASE', 'AGE'],
        [
          ['hello', 'Succeeded', '3s'],
          ['a-much-longer-name', 'Pending', '10m'],
        ],
      ),
      'NAME                 PHASE       AGE\n' +
        'hello                Succeeded   3s\n' +
        'a-much-longer-name   Pending     10m\n',
    );
  });
  it('does not count color codes and leaves no trailing spaces', () => {
    const red = new Chalk({ level: 1 }).red;
    const out = renderTable(['A', 'B', 'C'], [[red('xx'), 'y', '']]);
    assert.equal(out.split('\n')[1], `${red('xx')}   y`);
    assert.equal(out.split('\n')[0], 'A    B   C');
  });
  it('prints nothing for nothing', () => assert.equal(renderTable(undefined, []), ''));
});

describe('renderFields and indent', () => {
  it('aligns values after their keys', () => {
    assert.equal(
      renderFields([
        ['Name', 'hello'],
        ['Assigned Pod', 'p1'],
        ['Empty', ''],
      ]),
      'Name:          hello\nAssigned Pod:  p1\nEmpty:\n',
    );
  });
  it('indents non-empty lines', () => assert.equal(indent('a\n\nb\n'), '  a\n\n  b\n'));
});

describe('renderTable with minimum widths', () => {
  it('keeps a later row aligned with an earlier table', () => {
    assert.equal(renderTable(undefined, [['a', 'b', 'c']], [5, 3]), 'a       b     c\n');
  });
});
