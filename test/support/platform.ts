// Shared by the e2e suite, the benchmark and the demo: bring up the local cluster, install the
// platform from its manifests (CRDs, RBAC, operator Deployments) and helpers to drive it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTerminal, type Run, type Runtime } from '../../lib/api.ts';
import { KubeClient, Paths } from '../../lib/kube-client.ts';
import { loadKubeConfig } from '../../lib/kubeconfig.ts';
import { ensureCluster } from '../cluster/cluster.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const PLATFORM_NAMESPACE = 'kruntimes-system';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...options.env },
        cwd: options.cwd ?? REPO,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 120_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function kubectl(
  args: string[],
  options: { input?: string; check?: boolean } = {},
): Promise<CommandResult> {
  const r = await run('kubectl', args, { input: options.input });
  if (options.check !== false && r.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  }
  return r;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}

/** A hash of the code the platform's pods run, so a changed tree rolls the operator. */
function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) h.update(p).update(readFileSync(p));
    }
  };
  for (const dir of ['lib', 'operator']) walk(path.join(REPO, dir));
  return h.digest('hex').slice(0, 16);
}

export interface Platform {
  kubeconfigPath: string;
  client: KubeClient;
}

let platform: Promise<Platform> | undefined;

/** Cluster up, CRDs and platform applied, operator rolled out. Memoized per process. */
export function setupPlatform(): Promise<Platform> {
  platform ??= (async () => {
    const { kubeconfigPath } = await ensureCluster();
    process.env.KUBECONFIG = kubeconfigPath;
    await installPlatformFromManifests();
    const client = await KubeClient.fromKubeConfig(loadKubeConfig({ kubeconfig: kubeconfigPath }));
    return { kubeconfigPath, client };
  })();
  return platform;
}

/**
 * Applies manifests/crds and manifests/platform and rolls the operator to the working tree's code.
 * setupPlatform does it once per process; a test that removed the platform calls it to put it back.
 */
export async function installPlatformFromManifests(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/crds']);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'manifests/crds']);
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', 'manifests/platform']);
  const hash = sourceHash();
  for (const name of ['kruntimes-scheduler', 'kruntimes-controller']) {
    await kubectl([
      'patch',
      'deployment',
      name,
      '-n',
      PLATFORM_NAMESPACE,
      '-p',
      JSON.stringify({
        spec: { template: { metadata: { annotations: { 'kruntimes.io/source-hash': hash } } } },
      }),
    ]);
  }
  for (const name of ['kruntimes-scheduler', 'kruntimes-controller']) {
    await kubectl(['rollout', 'status', `deployment/${name}`, '-n', PLATFORM_NAMESPACE, '--timeout=120s']);
  }
}

let nsCounter = 0;
export async function createNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${process.pid.toString(36)}-${(nsCounter++).toString(36)}-${Date.now().toString(36).slice(-4)}`;
  await kubectl(['create', 'namespace', ns]);
  await waitFor(
    `default ServiceAccount in ${ns}`,
    async () => (await kubectl(['get', 'sa', 'default', '-n', ns], { check: false })).code === 0,
  );
  return ns;
}

export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], { check: false });
}

export async function applyYaml(ns: string, yaml: string): Promise<void> {
  await kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml });
}

/** The Usage Guide's bash Runtime (docs/examples/runtime-bash.yaml), renamed and resized. */
export function bashRuntimeYaml(o: { name?: string; replicas?: number; runs?: number } = {}): string {
  const name = o.name ?? 'bash';
  return readFileSync(path.join(REPO, 'docs', 'examples', 'runtime-bash.yaml'), 'utf8')
    .replace('name: bash', `name: ${name}`)
    .replace('replicas: 2', `replicas: ${o.replicas ?? 2}`)
    .replace('runs: 4', `runs: ${o.runs ?? 4}`)
    .replace('runtime: bash', `runtime: ${name}`);
}

/** A bash Runtime of one pod and 4 slots with an artifact store (the YAML lines under `artifactStore:`, indented 4). */
export function storeRuntimeYaml(name: string, store: string): string {
  return `apiVersion: kruntimes.io/v1alpha1
kind: Runtime
metadata:
  name: ${name}
spec:
  replicas: 1
  capacity:
    resources:
      runs: 4
  artifactStore:
${store}
  template:
    spec:
      containers:
      - name: runtime
        image: kruntimes-bash-runtime:latest
`;
}

export async function getRun(client: KubeClient, ns: string, name: string): Promise<Run> {
  return client.get<Run>(Paths.run(ns, name));
}

export async function waitForRun(
  client: KubeClient,
  ns: string,
  name: string,
  predicate: (run: Run) => boolean = (r) => isTerminal(r.status?.phase),
  timeoutMs = 60_000,
): Promise<Run> {
  return waitFor(
    `Run ${ns}/${name}`,
    async () => {
      const r = await getRun(client, ns, name);
      return predicate(r) ? r : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export async function waitForRuntimeReady(
  client: KubeClient,
  ns: string,
  name: string,
  timeoutMs = 120_000,
): Promise<Runtime> {
  return waitFor(
    `Runtime ${ns}/${name} ready`,
    async () => {
      const rt = await client.get<Runtime>(Paths.runtime(ns, name));
      const ready = rt.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && rt.status?.readyReplicas === (rt.spec.replicas ?? 1)
        ? rt
        : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until every Runtime Pod of a Runtime carries a fresh RuntimedReady heartbeat. */
export async function waitForSchedulable(ns: string, runtime: string, replicas: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `Runtime Pods of ${ns}/${runtime} schedulable`,
    async () => {
      const r = await kubectl(['get', 'pods', '-n', ns, '-l', `runtime=${runtime}`, '-o', 'json']);
      const pods = (
        JSON.parse(r.stdout).items as Array<{
          metadata: { deletionTimestamp?: string };
          status: { conditions?: Array<{ type: string; status: string }> };
        }>
      ).filter((p) => !p.metadata.deletionTimestamp);
      const ok = pods.filter((p) =>
        ['Ready', 'kruntimes.io/RuntimedReady'].every((t) =>
          p.status.conditions?.some((c) => c.type === t && c.status === 'True'),
        ),
      );
      return ok.length === replicas && pods.length === replicas;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export interface RunLogLine {
  runUID: string;
  stream: 'stdout' | 'stderr';
  /** base64 of one output chunk (current runtimed); `line` is the older one-line-per-entry form. */
  data?: string;
  line?: string;
}

/** The Run's output as runtimed copied it to its container log, read with kubectl logs. */
export async function runOutput(
  ns: string,
  runtime: string,
  runUID: string,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<string> {
  const pods = JSON.parse(
    (await kubectl(['get', 'pods', '-n', ns, '-l', `runtime=${runtime}`, '-o', 'json'])).stdout,
  ).items as Array<{ metadata: { name: string } }>;
  const chunks: Buffer[] = [];
  for (const p of pods) {
    const r = await kubectl(['logs', '-n', ns, p.metadata.name, '-c', 'runtimed'], { check: false });
    for (const l of r.stdout.split('\n')) {
      if (!l.includes(runUID)) continue;
      try {
        const o = JSON.parse(l) as RunLogLine;
        if (o.runUID !== runUID || o.stream !== stream) continue;
        if (o.data !== undefined) chunks.push(Buffer.from(o.data, 'base64'));
        else if (o.line !== undefined) chunks.push(Buffer.from(`${o.line}\n`));
      } catch {
        // not a JSON line
      }
    }
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
}
