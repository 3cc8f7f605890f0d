// Flag parsing with yargs-parser (the parser meow is built on, without meow's package.json
// machinery, which cost a quarter of the plugin's start), kubectl's conventions on top: global
// flags on every command, `--` ending flags, unknown flags, repeated flags and bad values reported
// as usage errors (exit 2).
import yargsParser from 'yargs-parser';
import type { FlagDef, FlagDefs, ParsedArgs } from './command.ts';
import { UsageError } from './errors.ts';

export const OutputFormat = {
  Table: 'table',
  Wide: 'wide',
  Json: 'json',
  Yaml: 'yaml',
  Name: 'name',
} as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** The formats that print objects rather than a table. */
export type MachineFormat = typeof OutputFormat.Json | typeof OutputFormat.Yaml | typeof OutputFormat.Name;

export function isMachineFormat(format: string | undefined): format is MachineFormat {
  return format === OutputFormat.Json || format === OutputFormat.Yaml || format === OutputFormat.Name;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS = {
  namespace: {
    type: 'string',
    shortFlag: 'n',
    valueName: 'NAME',
    description: "namespace to use (default: the kubeconfig context's namespace, else default)",
  },
  kubeconfig: {
    type: 'string',
    valueName: 'PATH',
    description: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)',
  },
  context: { type: 'string', valueName: 'NAME', description: 'kubeconfig context to use' },
  noColor: {
    type: 'boolean',
    description: 'no colors (also when NO_COLOR is set or output is not a terminal)',
  },
  verbose: { type: 'boolean', shortFlag: 'v', description: 'log every API request to stderr' },
  help: { type: 'boolean', shortFlag: 'h', description: 'show help for the command' },
} as const satisfies FlagDefs;

export function outputFlag(formats: readonly OutputFormat[], what = 'output format'): FlagDef {
  return {
    type: 'string',
    shortFlag: 'o',
    valueName: 'FORMAT',
    choices: formats,
    description: `${what}: ${formats.join('|')}`,
  };
}

export function decamelize(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `-n, --namespace NAME` */
export function flagSyntax(key: string, def: FlagDef): string {
  const long = `--${decamelize(key)}${def.type === 'boolean' ? '' : ` ${def.valueName ?? 'VALUE'}`}`;
  return def.shortFlag ? `-${def.shortFlag}, ${long}` : `    ${long}`;
}

/** yargs-parser's options for these flags: dashed names, the short flag and the camelCase key as aliases. */
function parserOptions(all: FlagDefs): yargsParser.Options {
  const alias: Record<string, string> = {};
  const byType: Record<FlagDef['type'], string[]> = { string: ['_'], boolean: [], number: [] };
  const array: Array<{ key: string } & Partial<Record<FlagDef['type'], true>>> = [];
  const defaults: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(all)) {
    const name = decamelize(key);
    if (def.shortFlag) alias[def.shortFlag] = name;
    if (name !== key) alias[key] = name;
    if (def.isMultiple) {
      array.push({ key: name, [def.type]: true });
      defaults[name] = [];
    } else byType[def.type].push(name);
  }
  return {
    ...byType,
    array,
    alias,
    default: defaults,
    // A repeatable flag takes one value per occurrence; values stay strings unless typed number.
    configuration: { 'greedy-arrays': false, 'parse-numbers': false },
  };
}

/** A repeated single-valued flag, or a value outside a flag's choices: the usage error's sentence. */
function invalidValue(all: FlagDefs, flags: Record<string, unknown>): string | undefined {
  for (const [key, def] of Object.entries(all)) {
    if (!def.isMultiple && Array.isArray(flags[key])) return `--${decamelize(key)} can be given only once`;
  }
  for (const [key, def] of Object.entries(all)) {
    const value = flags[key];
    if (!def.choices || value === undefined) continue;
    const wrong = (Array.isArray(value) ? value : [value]).filter((v) => !def.choices!.includes(v as string));
    if (wrong.length > 0) return `--${decamelize(key)} does not take "${wrong.join('", "')}": use one of ${def.choices.join(', ')}`;
  }
  return undefined;
}

/** Parses argv for a command whose own flags are `defs` (global flags are added). */
export function parseArgs(argv: readonly string[], defs: FlagDefs, commandLine: string): ParsedArgs {
  const all: FlagDefs = { ...GLOBAL_FLAGS, ...defs };
  const dash = argv.indexOf('--');
  const before = dash < 0 ? [...argv] : argv.slice(0, dash);
  const dashArgs = dash < 0 ? [] : argv.slice(dash + 1);

  const { _: input, ...parsed } = yargsParser(before, parserOptions(all));
  // Every key camelCased (yargs-parser also keeps the dashed spelling), single letters as given.
  const named: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) named[/^\w$/.test(key) ? key : yargsParser.camelCase(key)] = value;
  const invalid = invalidValue(all, named);
  if (invalid) throw new UsageError(`${invalid} (${commandLine})`);
  for (const def of Object.values(all)) if (def.shortFlag) delete named[def.shortFlag];

  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(named)) {
    if (value === undefined) continue;
    // yargs reads --no-color as the negation of a flag named color.
    if (key === 'color' && value === false) {
      flags.noColor = true;
      continue;
    }
    if (!(key in all)) {
      const shown = key.length === 1 ? `-${key}` : `--${decamelize(key)}`;
      throw new UsageError(`unknown flag ${shown} for ${commandLine}`);
    }
    const def = all[key];
    if (def.isMultiple && Array.isArray(value) && value.length === 0) continue;
    if (def.type === 'number' && (typeof value !== 'number' || Number.isNaN(value))) {
      throw new UsageError(`--${decamelize(key)} needs a number`);
    }
    if (def.type === 'string' && !def.isMultiple && (value === '' || typeof value !== 'string')) {
      throw new UsageError(`--${decamelize(key)} needs a value`);
    }
    flags[key] = value;
  }
  return { input: input.map(String), flags, dashArgs };
}

export function flagString(args: ParsedArgs, key: string): string | undefined {
  const v = args.flags[key];
  return typeof v === 'string' ? v : undefined;
}
export function flagBoolean(args: ParsedArgs, key: string): boolean {
  return args.flags[key] === true;
}
export function flagNumber(args: ParsedArgs, key: string): number | undefined {
  const v = args.flags[key];
  return typeof v === 'number' ? v : undefined;
}
export function flagStrings(args: ParsedArgs, key: string): string[] {
  const v = args.flags[key];
  return Array.isArray(v) ? v.map(String) : [];
}
