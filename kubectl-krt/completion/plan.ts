// What to complete, decided from the words typed so far (pure; the cluster lookups are elsewhere).
// The protocol is cobra's, which kubectl's plugin completion speaks: candidates one per line
// (optionally "value<TAB>description"), then ":<directive>".
import type { Command, FlagDefs } from '../command.ts';
import { decamelize, GLOBAL_FLAGS } from '../flags.ts';

/** cobra.ShellCompDirective values. */
export const Directive = {
  /** Let the shell complete file names. */
  Default: 0,
  NoSpace: 2,
  NoFileComp: 4,
} as const;

export type Plan =
  | { kind: 'values'; values: readonly string[] }
  | { kind: 'runs' }
  | { kind: 'runtimes' }
  | { kind: 'workflows' }
  /** The task names of a Workflow (--task of workflow logs). */
  | { kind: 'tasks'; workflow: string }
  | { kind: 'namespaces' }
  | { kind: 'contexts' }
  | { kind: 'files' }
  | { kind: 'nothing' };

export interface CompletionRequest {
  plan: Plan;
  /** The word being completed. */
  prefix: string;
  /** -n/--namespace, --context, --kubeconfig typed on the line, for the cluster lookups. */
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

interface FlagInfo {
  key: string;
  takesValue: boolean;
  choices?: readonly string[];
}

function flagTable(command: Command | undefined): Map<string, FlagInfo> {
  const table = new Map<string, FlagInfo>();
  const defs: FlagDefs = { ...GLOBAL_FLAGS, ...(command?.flags ?? {}) };
  for (const [key, def] of Object.entries(defs)) {
    const info = { key, takesValue: def.type !== 'boolean', choices: def.choices };
    table.set(`--${decamelize(key)}`, info);
    if (def.shortFlag) table.set(`-${def.shortFlag}`, info);
  }
  return table;
}

function flagNames(command: Command | undefined): string[] {
  const defs = { ...(command?.flags ?? {}), ...GLOBAL_FLAGS };
  return Object.keys(defs).map((k) => `--${decamelize(k)}`);
}

const RUN_NAME_COMMANDS = new Set(['get', 'describe', 'logs', 'cancel', 'wait']);
/** The workflow commands whose every positional is a Workflow name (logs takes one). */
const WORKFLOW_NAME_VERBS = new Set(['get', 'describe', 'cancel', 'wait']);

/** words: what follows the program name, the last being the (possibly empty) word to complete. */
export function planCompletion(words: readonly string[], commands: readonly Command[]): CompletionRequest {
  const prefix = words.length > 0 ? words[words.length - 1] : '';
  const typed = words.slice(0, -1);
  const find = (name: string) => commands.find((c) => c.name === name || c.aliases?.includes(name));

  let command: Command | undefined;
  /** The member of a command group (workflow logs), once typed. */
  let sub: Command | undefined;
  const positionals: string[] = [];
  const given: Record<string, string> = {};
  let afterDash = false;
  let pendingFlag: FlagInfo | undefined;
  for (const word of typed) {
    if (pendingFlag) {
      given[pendingFlag.key] = word;
      pendingFlag = undefined;
      continue;
    }
    if (afterDash) continue;
    if (word === '--') {
      afterDash = true;
      continue;
    }
    if (word.startsWith('-')) {
      const [name, value] = word.split('=', 2);
      const info = flagTable(sub ?? command).get(name);
      if (info?.takesValue) {
        if (value === undefined) pendingFlag = info;
        else given[info.key] = value;
      }
      continue;
    }
    if (!command) command = find(word);
    else if (command.subcommands && !sub) sub = command.subcommands.find((c) => c.name === word || c.aliases?.includes(word));
    else positionals.push(word);
  }
  const request = (plan: Plan): CompletionRequest => ({
    plan,
    prefix,
    namespace: given.namespace,
    context: given.context,
    kubeconfig: given.kubeconfig,
  });

  if (afterDash) return request({ kind: 'files' });
  if (pendingFlag) {
    if (pendingFlag.choices) return request({ kind: 'values', values: pendingFlag.choices });
    switch (pendingFlag.key) {
      case 'namespace':
        return request({ kind: 'namespaces' });
      case 'context':
        return request({ kind: 'contexts' });
      case 'kubeconfig':
      case 'file':
        return request({ kind: 'files' });
      case 'runtime':
        return request({ kind: 'runtimes' });
      case 'task':
        return request(positionals[0] ? { kind: 'tasks', workflow: positionals[0] } : { kind: 'nothing' });
      default:
        return request({ kind: 'nothing' });
    }
  }
  if (prefix.startsWith('-')) return request({ kind: 'values', values: flagNames(sub ?? command) });
  if (!command) {
    return request({ kind: 'values', values: commands.filter((c) => !c.hidden).map((c) => c.name) });
  }
  switch (command.name) {
    case 'run':
      return request(positionals.length === 0 ? { kind: 'runtimes' } : { kind: 'nothing' });
    case 'runtime':
      if (positionals.length === 0) return request({ kind: 'values', values: ['list', 'get'] });
      return request(positionals[0] === 'get' ? { kind: 'runtimes' } : { kind: 'nothing' });
    case 'workflow':
      if (!sub) return request({ kind: 'values', values: (command.subcommands ?? []).map((c) => c.name) });
      if (sub.name === 'logs') return request(positionals.length === 0 ? { kind: 'workflows' } : { kind: 'nothing' });
      return request(WORKFLOW_NAME_VERBS.has(sub.name) ? { kind: 'workflows' } : { kind: 'nothing' });
    case 'completion':
      return request(
        positionals.length === 0 ? { kind: 'values', values: ['bash', 'zsh', 'fish'] } : { kind: 'nothing' },
      );
    case 'logs':
      return request(positionals.length === 0 ? { kind: 'runs' } : { kind: 'nothing' });
    default:
      return request(RUN_NAME_COMMANDS.has(command.name) ? { kind: 'runs' } : { kind: 'nothing' });
  }
}

/** The protocol's answer: matching candidates, then the directive. */
export function renderCompletions(candidates: readonly string[], prefix: string, directive: number): string {
  const matching = candidates.filter((c) => c.startsWith(prefix));
  return `${matching.map((c) => `${c}\n`).join('')}:${directive}\n`;
}
