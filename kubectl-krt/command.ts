// What every subcommand is: its flags (parsed with yargs-parser, flags.ts), its help, and what it does.
import type { Context } from './context.ts';

export interface FlagDef {
  type: 'string' | 'boolean' | 'number';
  shortFlag?: string;
  isMultiple?: boolean;
  choices?: readonly string[];
  description: string;
  /** Placeholder in help: `--timeout DURATION`. */
  valueName?: string;
}
export type FlagDefs = Readonly<Record<string, FlagDef>>;

export interface ParsedArgs {
  /** Positional arguments before `--`. */
  input: string[];
  /** Flags by camelCase name; absent when not given. */
  flags: Readonly<Record<string, unknown>>;
  /** Everything after the first `--`, untouched. */
  dashArgs: string[];
}

export interface Example {
  comment: string;
  /** The command line after the program name. */
  line: string;
}

export interface Command {
  name: string;
  /** Other names it answers to (`ls` for `list`). */
  aliases?: readonly string[];
  summary: string;
  /** After the program name: `run RUNTIME [flags] [-- ARGS...]`. */
  usage: string;
  description: string;
  examples: readonly Example[];
  flags: FlagDefs;
  /** Whether `-- ARGS...` is meaningful; otherwise it is a usage error. */
  acceptsDashArgs?: boolean;
  /** Hidden from help (the completion protocol's `__complete`). */
  hidden?: boolean;
  /** Takes its arguments unparsed as `input` (partial command lines to complete). */
  rawArgs?: boolean;
  /**
   * A command group (`workflow run|get|…`): the first word after the group's name picks one of
   * these, each with its own flags, help and run; the group's own run is not called.
   */
  subcommands?: readonly Command[];
  /**
   * True when these arguments need no cluster (`version --client`): the dispatcher then does not
   * load the Kubernetes client, which is most of the plugin's start-up time.
   */
  local?(args: ParsedArgs): boolean;
  /**
   * True when these arguments can take the quick path (kube/direct.ts, `run` without --follow): the
   * dispatcher then loads the Kubernetes client only if the kubeconfig needs it (ctx.direct()).
   */
  direct?(args: ParsedArgs): boolean;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}
