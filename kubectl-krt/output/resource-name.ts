// `kind.group` names as kubectl prints them (`run.kruntimes.io/hello`), apart from the printers:
// `run --wait` names the Run it created without loading the YAML printer (print.ts re-exports these).
import { GROUP } from '../../lib/api.ts';

export const ResourceName = {
  Run: `run.${GROUP}`,
  Runtime: `runtime.${GROUP}`,
  Workflow: `workflow.${GROUP}`,
} as const;

/** `run.kruntimes.io/hello` */
export function qualifiedName(resource: string, name: string | undefined): string {
  return `${resource}/${name ?? ''}`;
}
