// Machine output: JSON, YAML and `kind.group/name`, on stdout only, the way kubectl prints them.
import { stringify } from 'yaml';
import type { MachineFormat } from '../flags.ts';

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** Several objects as kubectl prints them: one `List`. */
export function asList(items: readonly unknown[]): unknown {
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

import { qualifiedName } from './resource-name.ts';

export { qualifiedName, ResourceName } from './resource-name.ts';

/** json and yaml print one object as itself and several as a List; name prints one line each. */
export function renderObjects(
  items: ReadonlyArray<{ metadata: { name?: string } }>,
  format: MachineFormat,
  resource: string,
  single: boolean,
): string {
  if (format === 'name') return items.map((o) => `${qualifiedName(resource, o.metadata.name)}\n`).join('');
  const value = single && items.length === 1 ? items[0] : asList(items);
  return format === 'json' ? toJson(value) : toYaml(value);
}
