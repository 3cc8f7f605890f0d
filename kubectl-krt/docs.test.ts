// docs/cli.md documents every command, each of its flags, and every exit code: checked here so
// that a new flag cannot ship undocumented.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadCommands } from './commands/registry.ts';
import { EXIT_CODE_MEANINGS } from './exit-codes.ts';
import { decamelize, GLOBAL_FLAGS } from './flags.ts';

const COMMANDS = await loadCommands();
const doc = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');

/** The text of one `## heading` section. */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/cli.md has no section "## ${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

describe('docs/cli.md', () => {
  for (const command of COMMANDS.filter((c) => !c.hidden)) {
    it(`documents kubectl krt ${command.name} with an example and its flags`, () => {
      const text = section(`kubectl krt ${command.name}`);
      assert.match(text, new RegExp(`kubectl krt ${command.name}\\b`));
      assert.match(text, /```/, 'an example');
      for (const key of Object.keys(command.flags)) {
        assert.ok(text.includes(`--${decamelize(key)}`), `--${decamelize(key)} of ${command.name}`);
      }
      for (const sub of command.subcommands ?? []) {
        assert.match(text, new RegExp(`kubectl krt ${command.name} ${sub.name}\\b`), `${command.name} ${sub.name}`);
        for (const key of Object.keys(sub.flags)) {
          assert.ok(text.includes(`--${decamelize(key)}`), `--${decamelize(key)} of ${command.name} ${sub.name}`);
        }
      }
    });
  }
  it('documents the global flags', () => {
    const text = section('Global flags');
    for (const key of Object.keys(GLOBAL_FLAGS)) assert.ok(text.includes(`--${decamelize(key)}`), key);
  });
  it('documents every exit code', () => {
    const text = section('Exit codes');
    for (const [code] of EXIT_CODE_MEANINGS) assert.match(text, new RegExp(`^\\| ${code} +\\|`, 'm'));
  });
});
