// Every subcommand, in the order help lists them. Each is loaded only when it runs (or when help or
// completion needs them all): a command's module pulls in what it uses (the Kubernetes client, YAML,
// tar, listr2), and `kubectl krt version --client` should not pay for any of it.
import type { Command } from '../command.ts';

/** What the dispatcher needs to find and suggest a command without loading it. */
export interface CommandEntry {
  readonly name: string;
  /** Must equal the loaded command's aliases (a unit test compares them). */
  readonly aliases?: readonly string[];
  readonly hidden?: boolean;
  load(): Promise<Command>;
}

export const COMMAND_INDEX: readonly CommandEntry[] = [
  { name: 'run', load: async () => (await import('./run.ts')).runCommand },
  { name: 'get', load: async () => (await import('./get.ts')).getCommand },
  { name: 'list', aliases: ['ls'], load: async () => (await import('./list.ts')).listCommand },
  { name: 'describe', load: async () => (await import('./describe.ts')).describeCommand },
  { name: 'logs', load: async () => (await import('./logs.ts')).logsCommand },
  { name: 'cancel', load: async () => (await import('./cancel.ts')).cancelCommand },
  { name: 'wait', load: async () => (await import('./wait.ts')).waitCommand },
  { name: 'artifacts', load: async () => (await import('./artifacts.ts')).artifactsCommand },
  { name: 'runtime', aliases: ['runtimes', 'rt'], load: async () => (await import('./runtime.ts')).runtimeCommand },
  { name: 'workflow', aliases: ['workflows', 'wf'], load: async () => (await import('./workflow.ts')).workflowCommand },
  { name: 'install', load: async () => (await import('./install.ts')).installCommand },
  { name: 'upgrade', load: async () => (await import('./upgrade.ts')).upgradeCommand },
  { name: 'uninstall', load: async () => (await import('./uninstall.ts')).uninstallCommand },
  { name: 'backup', load: async () => (await import('./backup.ts')).backupCommand },
  { name: 'restore', load: async () => (await import('./restore.ts')).restoreCommand },
  { name: 'doctor', load: async () => (await import('./doctor.ts')).doctorCommand },
  { name: 'version', load: async () => (await import('./version.ts')).versionCommand },
  { name: 'completion', load: async () => (await import('./completion.ts')).completionCommand },
  { name: '__complete', hidden: true, load: async () => (await import('./completion.ts')).completeCommand(loadCommands) },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMAND_INDEX.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Every command, loaded: for the overview help and shell completion. */
export function loadCommands(): Promise<readonly Command[]> {
  return Promise.all(COMMAND_INDEX.map((c) => c.load()));
}
