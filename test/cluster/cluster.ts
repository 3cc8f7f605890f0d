// Bringing the local cluster up and down: the programmatic API behind `npm run cluster` and the
// `ensureCluster()` that e2e tests, the demo and benchmarks call.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import type { Component } from './components.ts';
import { ComponentName, components, START_ORDER } from './components.ts';
import type { ClusterPaths } from './config.ts';
import { clusterPaths, NODE_NAME, Ports } from './config.ts';
import { logFile, logTail, runningPid, startDaemon, stopDaemon } from './daemon.ts';
import type { ClientTls } from './https-get.ts';
import { adminTls, get } from './https-get.ts';
import { writeKubeconfig, writeSchedulerConfig } from './kubeconfig.ts';
import { withLock } from './lock.ts';
import { cleanupAllPods } from './node-agent/host-cleanup.ts';
import { ensurePki } from './pki.ts';

export interface UpOptions {
  /** Print progress (the CLI); tests keep quiet unless something fails. */
  verbose?: boolean;
}

/** How long each component may take to become healthy after a start. */
const START_TIMEOUT_MS: Record<ComponentName, number> = {
  [ComponentName.etcd]: 30_000,
  [ComponentName.apiserver]: 120_000,
  [ComponentName.controllerManager]: 60_000,
  [ComponentName.scheduler]: 60_000,
  [ComponentName.nodeAgent]: 60_000,
};
/** A component that runs but is unhealthy gets this long to recover before it is restarted. */
const RECOVER_TIMEOUT_MS = 5_000;

const say = (opts: UpOptions, msg: string) => {
  if (opts.verbose) process.stderr.write(`${msg}\n`);
};

/** Polls until check() holds (true), the timeout passes or giveUp() holds (false). */
async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  giveUp: () => boolean = () => false,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline || giveUp()) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

async function apiJson<T>(tls: ClientTls, apiPath: string): Promise<{ status: number; json?: T }> {
  const r = await get(`https://127.0.0.1:${Ports.apiserver}${apiPath}`, tls);
  try {
    return { status: r.status, json: JSON.parse(r.body) as T };
  } catch {
    return { status: r.status };
  }
}

/** The node reports Ready and the node-lifecycle controller has lifted the not-ready/unreachable taints. */
async function nodeSchedulable(tls: ClientTls): Promise<boolean> {
  const { status, json } = await apiJson<V1Node>(tls, `/api/v1/nodes/${NODE_NAME}`);
  if (status !== 200 || !json) return false;
  const ready = json.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const blocked = (json.spec?.taints ?? []).some((t) =>
    ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].includes(t.key),
  );
  return ready && !blocked;
}

async function defaultServiceAccount(tls: ClientTls): Promise<boolean> {
  return (await apiJson(tls, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
}

/** Everything runs and answers: the fast path of ensureCluster. */
async function healthy(paths: ClusterPaths): Promise<boolean> {
  if (!fs.existsSync(paths.kubeconfig) || !fs.existsSync(paths.admin.cert)) return false;
  const all = components(paths);
  if (START_ORDER.some((n) => runningPid(paths.run, all[n].spec) === undefined)) return false;
  const tls = adminTls(paths);
  const checks = await Promise.all([
    ...START_ORDER.map((n) => all[n].healthy(tls)),
    nodeSchedulable(tls),
    defaultServiceAccount(tls),
  ]);
  return checks.every(Boolean);
}

/** Debian prerequisites (prereqs.sh, which also finds Go), then the binaries; both quick when done. */
function buildBinaries(opts: UpOptions): Promise<void> {
  const prereqs = path.join(import.meta.dirname, 'prereqs.sh');
  const build = path.join(import.meta.dirname, 'build-binaries.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'source "$1" && exec bash "$2"', 'krt-up', prereqs, build], {
      stdio: ['ignore', 'pipe', opts.verbose ? 'inherit' : 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    child.stdout?.resume();
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`prerequisites or binaries failed (exit ${code})\n${stderr}`)),
    );
  });
}

/** Starts the component unless it runs and is healthy; returns whether it (re)started it. */
async function ensureComponent(
  paths: ClusterPaths,
  c: Component,
  tls: ClientTls,
  opts: UpOptions,
): Promise<boolean> {
  const name = c.spec.name as ComponentName;
  const gone = () => runningPid(paths.run, c.spec) === undefined;
  const pid = runningPid(paths.run, c.spec);
  if (pid !== undefined) {
    if (await waitFor(() => c.healthy(tls), RECOVER_TIMEOUT_MS, gone)) return false;
    say(opts, `${name} (pid ${pid}) is ${gone() ? 'gone' : 'unhealthy'}: restarting it`);
    await stopDaemon(paths.run, c.spec);
  }
  const started = startDaemon(paths.run, paths.logs, c.spec);
  say(opts, `started ${name} (pid ${started}), log ${logFile(paths.logs, name)}`);
  if (!(await waitFor(() => c.healthy(tls), START_TIMEOUT_MS[name], gone))) {
    throw new Error(
      `${name} did not become healthy (${gone() ? 'exited' : 'still running'}); last log lines:\n${logTail(paths.logs, name)}`,
    );
  }
  return true;
}

/** Brings every piece up that is not running and healthy; leaves healthy pieces alone. */
export async function up(opts: UpOptions = {}): Promise<{ kubeconfigPath: string }> {
  const paths = clusterPaths();
  fs.mkdirSync(paths.state, { recursive: true });
  return withLock(paths.lock, async () => {
    if (await healthy(paths)) return { kubeconfigPath: paths.kubeconfig };
    const t0 = Date.now();
    await buildBinaries(opts);
    for (const dir of [paths.logs, paths.run, paths.pods, paths.etcdData])
      fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(paths.etcdData, 0o700);
    await ensurePki(paths);
    writeKubeconfig(paths);
    writeSchedulerConfig(paths);
    const tls = adminTls(paths);
    const all = components(paths);
    await ensureComponent(paths, all[ComponentName.etcd], tls, opts);
    if (await ensureComponent(paths, all[ComponentName.apiserver], tls, opts)) {
      // After an apiserver outage client-go reflectors back off for up to 30 s: controllers that
      // lived through it would notice new objects late. Fresh ones start in under a second.
      for (const name of [ComponentName.controllerManager, ComponentName.scheduler]) {
        if (await stopDaemon(paths.run, all[name].spec))
          say(opts, `restarting ${name} after the apiserver restart`);
      }
    }
    await Promise.all([
      ensureComponent(paths, all[ComponentName.controllerManager], tls, opts),
      ensureComponent(paths, all[ComponentName.scheduler], tls, opts),
      ensureComponent(paths, all[ComponentName.nodeAgent], tls, opts),
    ]);
    if (!(await waitFor(() => nodeSchedulable(tls), 90_000))) {
      throw new Error(
        `node ${NODE_NAME} did not become Ready and schedulable; node agent log:\n${logTail(paths.logs, ComponentName.nodeAgent)}`,
      );
    }
    if (!(await waitFor(() => defaultServiceAccount(tls), 60_000))) {
      throw new Error(
        `ServiceAccount default/default was not created; controller-manager log:\n${logTail(paths.logs, ComponentName.controllerManager)}`,
      );
    }
    say(opts, `cluster is up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return { kubeconfigPath: paths.kubeconfig };
  });
}

/**
 * Makes sure the local cluster runs and returns its kubeconfig. Cheap when it is already up
 * (a few local HTTP checks); otherwise starts what is missing, building binaries on first use.
 */
export async function ensureCluster(): Promise<{ kubeconfigPath: string }> {
  const paths = clusterPaths();
  if (await healthy(paths)) return { kubeconfigPath: paths.kubeconfig };
  return up();
}

/** Stops every process `up` started, including all pod processes; removes pod networking. */
export async function down(opts: { purge?: boolean; verbose?: boolean } = {}): Promise<void> {
  const paths = clusterPaths();
  if (!fs.existsSync(paths.state)) return;
  await withLock(paths.lock, async () => {
    const all = components(paths);
    for (const name of [...START_ORDER].reverse()) {
      // The agent stops its pods on SIGTERM; give it time before SIGKILL.
      const stopped = await stopDaemon(
        paths.run,
        all[name].spec,
        name === ComponentName.nodeAgent ? 20_000 : 10_000,
      );
      if (stopped) say(opts, `stopped ${name}`);
      if (name === ComponentName.nodeAgent) await cleanupAllPods(paths.pods, { removeBridge: true });
    }
  });
  if (opts.purge) {
    fs.rmSync(paths.state, { recursive: true, force: true });
    say(opts, `removed ${paths.state}`);
  }
}

export interface ComponentStatus {
  name: ComponentName;
  pid?: number;
  healthy: boolean;
  log: string;
}

export async function status(): Promise<{
  components: ComponentStatus[];
  nodeReady: boolean;
  kubeconfig: string;
}> {
  const paths = clusterPaths();
  const all = components(paths);
  const tls = fs.existsSync(paths.admin.cert) ? adminTls(paths) : undefined;
  const out: ComponentStatus[] = [];
  for (const name of START_ORDER) {
    const pid = runningPid(paths.run, all[name].spec);
    out.push({
      name,
      pid,
      healthy: pid !== undefined && tls !== undefined && (await all[name].healthy(tls)),
      log: logFile(paths.logs, name),
    });
  }
  const nodeReady = tls !== undefined && (await nodeSchedulable(tls));
  return { components: out, nodeReady, kubeconfig: paths.kubeconfig };
}

export function kubeconfigPath(): string {
  return clusterPaths().kubeconfig;
}
