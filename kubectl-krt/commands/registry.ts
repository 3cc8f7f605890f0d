// Every subcommand, in the order help lists them.
import type { Command } from '../command.ts';
import { artifactsCommand } from './artifacts.ts';
import { cancelCommand } from './cancel.ts';
import { completeCommand, completionCommand } from './completion.ts';
import { describeCommand } from './describe.ts';
import { doctorCommand } from './doctor.ts';
import { backupCommand } from './backup.ts';
import { getCommand } from './get.ts';
import { installCommand } from './install.ts';
import { listCommand } from './list.ts';
import { logsCommand } from './logs.ts';
import { restoreCommand } from './restore.ts';
import { runCommand } from './run.ts';
import { runtimeCommand } from './runtime.ts';
import { uninstallCommand } from './uninstall.ts';
import { upgradeCommand } from './upgrade.ts';
import { versionCommand } from './version.ts';
import { waitCommand } from './wait.ts';
import { workflowCommand } from './workflow.ts';

export const COMMANDS: readonly Command[] = [
  runCommand,
  getCommand,
  listCommand,
  describeCommand,
  logsCommand,
  cancelCommand,
  waitCommand,
  artifactsCommand,
  runtimeCommand,
  workflowCommand,
  installCommand,
  upgradeCommand,
  uninstallCommand,
  backupCommand,
  restoreCommand,
  doctorCommand,
  versionCommand,
  completionCommand,
  completeCommand(() => COMMANDS),
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
