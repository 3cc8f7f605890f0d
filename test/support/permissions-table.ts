// The permissions table of docs/security.md as data, and the same grants read from RBAC objects
// (rendered or live), so that the unit test and the e2e case can say "the doc is the cluster":
// one grant per (ServiceAccount, Role or ClusterRole, rule), keyed by a string both sides produce.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SECURITY_DOC = path.join(import.meta.dirname, '..', '..', 'docs', 'security.md');
/** The table's header row, which tells it apart from the other tables of the page. */
const HEADER = '| ServiceAccount | Role or ClusterRole | API group | resources | verbs | only these names | why |';

export interface Grant {
  account: string;
  /** `ClusterRole NAME` or `Role NAME`. */
  role: string;
  group: string;
  resources: string[];
  verbs: string[];
  resourceNames: string[];
}

const list = (cell: string) =>
  cell
    .replaceAll('`', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The table's rows; `<runtime>` replaced by `runtime` when given. */
export function documentedGrants(options: { runtime?: string; markdown?: string } = {}): Grant[] {
  let text = options.markdown ?? readFileSync(SECURITY_DOC, 'utf8');
  if (options.runtime !== undefined) text = text.replaceAll('<runtime>', options.runtime);
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === HEADER);
  if (start === -1) throw new Error(`docs/security.md has no permissions table (${HEADER})`);
  const grants: Grant[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 7) throw new Error(`permissions table row has ${cells.length} cells, not 7: ${line}`);
    const [account, role, group, resources, verbs, names] = cells;
    grants.push({
      account: account.replaceAll('`', ''),
      role: role.replaceAll('`', ''),
      group: group.replaceAll('`', '') === '""' ? '' : group.replaceAll('`', ''),
      resources: list(resources),
      verbs: list(verbs),
      resourceNames: list(names),
    });
  }
  return grants;
}

interface RbacObject {
  kind?: string;
  metadata: { name: string; namespace?: string };
  rules?: Array<{ apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] }>;
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/**
 * Every grant the bindings among `objects` make to ServiceAccounts, one per rule and API group of
 * the role they bind. A binding whose role is not among `objects` is an error: the table must
 * name every rule.
 */
export function grantsOf(objects: readonly RbacObject[]): Grant[] {
  const roles = new Map<string, RbacObject>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole ${o.metadata.name}`, o);
    if (o.kind === 'Role') roles.set(`Role ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  }
  const grants: Grant[] = [];
  for (const binding of objects) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    const ref = binding.roleRef!;
    const key = ref.kind === 'ClusterRole' ? `ClusterRole ${ref.name}` : `Role ${binding.metadata.namespace ?? ''}/${ref.name}`;
    const role = roles.get(key);
    if (role === undefined) throw new Error(`${binding.kind} ${binding.metadata.name} binds ${key}, which is not rendered`);
    for (const subject of binding.subjects ?? []) {
      if (subject.kind !== 'ServiceAccount') continue;
      for (const rule of role.rules ?? []) {
        for (const group of rule.apiGroups ?? ['']) {
          grants.push({
            account: subject.name,
            role: `${ref.kind} ${ref.name}`,
            group,
            resources: rule.resources ?? [],
            verbs: rule.verbs ?? [],
            resourceNames: rule.resourceNames ?? [],
          });
        }
      }
    }
  }
  return grants;
}

/** One line per grant, order-free, for deepEqual with a readable diff. */
export function grantLines(grants: readonly Grant[]): string[] {
  const sorted = (xs: string[]) => [...xs].sort().join(',');
  return grants
    .map(
      (g) =>
        `${g.account} | ${g.role} | ${g.group === '' ? '""' : g.group} | ${sorted(g.resources)} | ${sorted(g.verbs)}` +
        (g.resourceNames.length ? ` | names ${sorted(g.resourceNames)}` : ''),
    )
    .sort();
}

/** The rows for the given accounts only (the table covers several components). */
export function forAccounts(grants: readonly Grant[], accounts: readonly string[]): Grant[] {
  return grants.filter((g) => accounts.includes(g.account));
}
