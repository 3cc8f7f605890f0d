// The platform on the real node (krt-real-0), installed as users install it: `kubectl krt install
// --wait` with the images built from images/*/Dockerfile and values that select the node and
// tolerate its taint. Shared by the real-node e2e tier and `npm run bench -- --real-node`.
//
// One platform per cluster: installing here replaces the process-agent suite's platform, and
// uninstallFromRealNode removes it again (the other one's objects too, which have the same names),
// so setupPlatform() can put the other one back.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterPaths, REPO_ROOT } from '../cluster/config.ts';
import { REAL_NODE } from '../cluster/real-node/join.ts';

export interface CommandResult {
  code: number;
  out: string;
  err: string;
}

const KUBECONFIG = clusterPaths().kubeconfig;
const PLUGIN_DIR = path.join(REPO_ROOT, 'kubectl-krt', 'bin');

/** What a pod needs to land on the real node: its label, and a toleration of its taint. */
export const REAL_NODE_SCHEDULING = {
  nodeSelector: { [REAL_NODE.label.key]: REAL_NODE.label.value },
  tolerations: [{ key: REAL_NODE.taint.key, operator: 'Equal', value: REAL_NODE.taint.value, effect: REAL_NODE.taint.effect }],
} as const;

/** The image the built-in bash Runtime uses, as built and imported (a tag, never `latest`). */
export const REAL_NODE_BASH_IMAGE = 'kruntimes-bash-runtime:0.1.0';

export function exec(cmd: string, args: readonly string[], timeoutMs = 180_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        encoding: 'utf8',
        timeout: timeoutMs,
        maxBuffer: 16 << 20,
        cwd: REPO_ROOT,
        env: { ...process.env, KUBECONFIG, NO_COLOR: '1', PATH: `${PLUGIN_DIR}${path.delimiter}${process.env.PATH}` },
      },
      (err, out, errOut) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut }),
    );
  });
}

/** `kubectl krt ARGS` through kubectl's plugin discovery, as users run it. */
export const krt = (args: readonly string[], timeoutMs?: number) => exec('kubectl', ['krt', ...args], timeoutMs);
export const explain = (r: CommandResult) => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

function check(what: string, r: CommandResult): CommandResult {
  if (r.code !== 0) throw new Error(`${what}: ${explain(r)}`);
  return r;
}

/** A Runtime's pod template `spec` lines (YAML, indented for `template.spec`) for the real node. */
export function realNodeTemplateSpec(indent = '    '): string {
  return [
    `nodeSelector: ${JSON.stringify(REAL_NODE_SCHEDULING.nodeSelector)}`,
    `tolerations: ${JSON.stringify(REAL_NODE_SCHEDULING.tolerations)}`,
  ].map((l) => indent + l).join('\n');
}

/** A bash Runtime of one pod on the real node, with one more line of spec (flow-style YAML). */
export function realNodeRuntimeYaml(name: string, specLine: string): string {
  return `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata: { name: ${name} }
spec:
  replicas: 1
  capacity: { resources: { runs: 2 } }
  ${specLine}
  template:
    spec:
${realNodeTemplateSpec('      ')}
      containers:
      - name: runtime
        image: ${REAL_NODE_BASH_IMAGE}
        imagePullPolicy: IfNotPresent
`;
}

/**
 * Joins the real node (idempotent, images as built last), removes any platform, and installs
 * ours onto the real node with the built-in Runtimes in `runtimesNamespaces`. `values` are merged
 * over the scheduling values (a -f file of the charts' format).
 */
export async function installOnRealNode(
  options: { runtimesNamespaces?: string[]; values?: Record<string, unknown> } = {},
): Promise<CommandResult> {
  check('real node up', await exec(process.execPath, [path.join(REPO_ROOT, 'test', 'cluster', 'real-node', 'node.ts'), 'up', '--no-build'], 1_800_000));
  await uninstallFromRealNode();
  const dir = mkdtempSync(path.join(tmpdir(), 'krt-real-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    writeFileSync(file, JSON.stringify({ ...REAL_NODE_SCHEDULING, runtimes: REAL_NODE_SCHEDULING, ...options.values }));
    const args = ['install', '--wait', '-f', file];
    for (const ns of options.runtimesNamespaces ?? []) args.push('--runtimes-namespace', ns);
    return check('kubectl krt install', await krt(args, 600_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `kubectl krt uninstall --wait`: also what the process-agent suite applied from manifests/platform
 * (the same objects, without an install record).
 */
export async function uninstallFromRealNode(): Promise<void> {
  check('kubectl krt uninstall', await krt(['uninstall', '--wait'], 300_000));
}
