// Help text, generated from each command's flags and examples so that help and behaviour agree.
import type { Command, FlagDefs } from './command.ts';
import { EXIT_CODE_MEANINGS } from './exit-codes.ts';
import { flagSyntax, GLOBAL_FLAGS } from './flags.ts';

function flagLines(defs: FlagDefs): string {
  const entries = Object.entries(defs).map(([key, def]) => [flagSyntax(key, def), def.description] as const);
  const width = Math.max(...entries.map(([s]) => s.length));
  return entries.map(([s, d]) => `  ${s.padEnd(width)}   ${d}\n`).join('');
}

export function commandHelp(prog: string, command: Command): string {
  let out = `${command.description}\n\nUsage:\n  ${prog} ${command.usage}\n`;
  if (command.aliases?.length) out += `\nAliases:\n  ${[command.name, ...command.aliases].join(', ')}\n`;
  if (command.examples.length) {
    out += '\nExamples:\n';
    out += command.examples.map((e) => `  # ${e.comment}\n  ${prog} ${e.line}\n`).join('\n');
  }
  if (command.subcommands?.length) {
    const width = Math.max(...command.subcommands.map((c) => c.name.length));
    out += `\nCommands:\n${command.subcommands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}\n`).join('')}`;
    out += `\nUse "${prog} ${command.name} COMMAND --help" for a command's flags and examples.\n`;
    return out;
  }
  if (Object.keys(command.flags).length) out += `\nFlags:\n${flagLines(command.flags)}`;
  out += `\nGlobal flags:\n${flagLines(GLOBAL_FLAGS)}`;
  return out;
}

export function overviewHelp(prog: string, commands: readonly Command[], version: string): string {
  const visible = commands.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length));
  return `kubectl krt ${version}: run short workloads (Runs) on warm Runtime Pods of kruntimes.

Usage:
  ${prog} COMMAND [flags]

Commands:
${visible.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}\n`).join('')}
Global flags:
${flagLines(GLOBAL_FLAGS)}
Exit codes:
${EXIT_CODE_MEANINGS.map(([code, meaning]) => `  ${String(code).padStart(3)}   ${meaning}\n`).join('')}
Use "${prog} COMMAND --help" for a command's flags and examples.
`;
}
