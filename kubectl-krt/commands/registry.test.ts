// The command index names each command without loading it: the names, aliases and hidden flags it
// answers to must be the loaded commands' own, or a command would be found by a name it does not have.
import assert from 'node:assert/strict';
import type { Command } from '../command.ts';
import { COMMAND_INDEX, findCommand, loadCommands } from './registry.ts';

describe('command registry', () => {
  let commands: readonly Command[];
  before(async function () {
    this.timeout(60_000); // the first import of every command, type-stripped, on a busy machine
    commands = await loadCommands();
  });
  it('indexes every command by its own name, aliases and hidden flag', () => {
    assert.equal(commands.length, COMMAND_INDEX.length);
    COMMAND_INDEX.forEach((entry, i) => {
      assert.equal(entry.name, commands[i].name);
      assert.deepEqual(entry.aliases ?? [], commands[i].aliases ?? [], entry.name);
      assert.equal(Boolean(entry.hidden), Boolean(commands[i].hidden), entry.name);
    });
  });
  it('finds a command by an alias', async () => {
    assert.equal((await findCommand('rt')?.load())?.name, 'runtime');
    assert.equal(findCommand('nope'), undefined);
  });
  it('marks only version --client local among the commands', async () => {
    const version = await findCommand('version')!.load();
    const args = (flags: Record<string, unknown>) => ({ input: [], flags, dashArgs: [] });
    assert.equal(version.local?.(args({ client: true })), true);
    assert.equal(version.local?.(args({})), false);
    assert.equal((await findCommand('run')!.load()).local, undefined);
  });
});
