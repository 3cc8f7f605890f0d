// The flags install and upgrade share (image flags, --set, -f, --runtimes-namespace) and how they
// become the two charts' values.
import { readFileSync } from 'node:fs';
import type { FlagDefs, ParsedArgs } from '../command.ts';
import { UsageError } from '../errors.ts';
import { flagString, flagStrings } from '../flags.ts';
import { mergeValues, parseSet, parseValuesFile, splitValues, type ValuesTree } from './values.ts';

export const IMAGE_FLAGS = {
  schedulerImage: 'scheduler.image',
  controllerImage: 'controller.image',
  runtimedImage: 'runtimed.image',
  bashImage: 'bash.image',
  pythonImage: 'python.image',
} as const;

export const VALUES_FLAGS = {
  runtimesNamespace: {
    type: 'string',
    isMultiple: true,
    valueName: 'NS',
    description: 'install the built-in bash and python Runtimes into this namespace (repeatable)',
  },
  set: {
    type: 'string',
    isMultiple: true,
    valueName: 'KEY=VALUE',
    description: 'set a chart value (repeatable; bash.*, python.* and runtimes.* go to the Runtimes, the rest to the platform)',
  },
  values: {
    type: 'string',
    shortFlag: 'f',
    isMultiple: true,
    valueName: 'FILE',
    description: 'values file in the charts\' format (repeatable; later files and --set win)',
  },
  schedulerImage: { type: 'string', valueName: 'IMAGE', description: 'scheduler image (scheduler.image)' },
  controllerImage: { type: 'string', valueName: 'IMAGE', description: 'controller image (controller.image)' },
  runtimedImage: { type: 'string', valueName: 'IMAGE', description: 'runtimed sidecar image (runtimed.image)' },
  bashImage: { type: 'string', valueName: 'IMAGE', description: 'bash Runtime Server image (bash.image)' },
  pythonImage: { type: 'string', valueName: 'IMAGE', description: 'python Runtime Server image (python.image)' },
  dryRun: { type: 'boolean', description: 'print the objects it would apply as YAML; change nothing' },
  wait: { type: 'boolean', shortFlag: 'w', description: 'wait until the platform Deployments and the Runtimes are ready' },
} as const satisfies FlagDefs;

/** The user's values in the order Helm applies them: -f files, then --set, then the image flags. */
export function userValues(args: ParsedArgs): { platform: ValuesTree; runtimes: ValuesTree } {
  let tree: ValuesTree = {};
  for (const file of flagStrings(args, 'values')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`-f ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    tree = mergeValues(tree, parseValuesFile(file, text));
  }
  for (const expr of flagStrings(args, 'set')) tree = mergeValues(tree, parseSet(expr));
  for (const [flag, key] of Object.entries(IMAGE_FLAGS)) {
    const image = flagString(args, flag);
    if (image === undefined) continue;
    const [top, leaf] = key.split('.');
    tree = mergeValues(tree, { [top]: { [leaf]: image } });
  }
  return splitValues(tree);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function runtimesNamespaces(args: ParsedArgs): string[] {
  const namespaces = [...new Set(flagStrings(args, 'runtimesNamespace'))];
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) {
      throw new UsageError(`--runtimes-namespace ${JSON.stringify(ns)}: not a valid namespace name (lowercase letters, digits and '-', at most 63)`);
    }
  }
  return namespaces;
}
