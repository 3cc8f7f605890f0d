// Flag parsing with meow, kubectl's conventions on top: global flags on every command, `--`
// ending flags, unknown flags and bad values reported as usage errors (exit 2) instead of meow's
// own messages and exits.
import meow from 'meow';
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

/** Parses argv for a command whose own flags are `defs` (global flags are added). */
export function parseArgs(argv: readonly string[], defs: FlagDefs, commandLine: string): ParsedArgs {
  const all: FlagDefs = { ...GLOBAL_FLAGS, ...defs };
  const dash = argv.indexOf('--');
  const before = dash < 0 ? [...argv] : argv.slice(0, dash);
  const dashArgs = dash < 0 ? [] : argv.slice(dash + 1);

  const meowFlags = Object.fromEntries(
    Object.entries(all).map(([key, def]) => [
      key,
      {
        type: def.type,
        ...(def.shortFlag ? { shortFlag: def.shortFlag } : {}),
        ...(def.isMultiple ? { isMultiple: true } : {}),
        ...(def.choices ? { choices: [...def.choices] } : {}),
      },
    ]),
  );
  let parsed: { input: string[]; flags: Record<string, unknown> };
  try {
    parsed = meow({
      // Only import.meta.url, spelled out: the packaged binary's CommonJS bundle defines that alone.
      importMeta: { url: import.meta.url } as ImportMeta,
      argv: before,
      flags: meowFlags as never,
      pkg: {},
      description: false,
      autoHelp: false,
      autoVersion: false,
      // Unknown flags are reported below as one usage error, not by meow (which exits by itself).
      allowUnknownFlags: true,
      booleanDefault: undefined,
    });
  } catch (err) {
    throw new UsageError(`${meowMessage(err)} (${commandLine})`);
  }
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.flags)) {
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
  return { input: parsed.input.map(String), flags, dashArgs };
}

function meowMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // "Unknown value for flag `output`: `xml`. Value must be one of: [`table`, …]"
  const choice = /flag `([^`]+)`: `([^`]*)`\. Value must be one of: \[(.*)\]/.exec(message);
  if (choice)
    return `--${choice[1].replace(/^-+/, '')} does not take "${choice[2]}": use one of ${choice[3].replaceAll('`', '')}`;
  const once = /The flag --(\S+) can only be set once\./.exec(message);
  if (once) return `--${decamelize(once[1])} can be given only once`;
  return message;
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
