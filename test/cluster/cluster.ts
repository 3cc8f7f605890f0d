// Bringing the local cluster up and down: the programmatic API behind `npm run cluster` and the
// `ensureCluster()` that e2e tests, the demo and benchmarks call. `up` is a list of listr2 steps
// (progress.ts: live on a terminal, timestamped lines in CI, silent for tests); before it touches
// anything, and so does `down`, it looks at what runs on the machine (ownership.ts) and refuses a
// cluster another checkout started.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import type { ListrTask } from 'listr2';
import { binariesCached, buildTasks, runStep, withPrereqs } from './build-steps.ts';
import type { Component } from './components.ts';
import { ComponentName, components, START_ORDER } from './components.ts';
import type { ClusterPaths } from './config.ts';
import { cacheDir, clusterPaths, NODE_NAME, Ports } from './config.ts';
import { logFile, logTail, pidFile, runningPid, startDaemon, stopDaemon, stopPids } from './daemon.ts';
import type { ClientTls } from './https-get.ts';
import { adminTls, get } from './https-get.ts';
import { writeKubeconfig, writeSchedulerConfig } from './kubeconfig.ts';
import { withLock } from './lock.ts';
import { observe, readOwnerRecord, removeOwnerRecord, writeOwnerRecord } from './machine-state.ts';
import { cleanupAllPods } from './node-agent/host-cleanup.ts';
import type { ClusterProcess, OwnerRecord } from './ownership.ts';
import { decideDown, decideUp, DownAction, owningCheckout, UpAction } from './ownership.ts';
import { ensurePki } from './pki.ts';
import { currentProgressMode, type ProgressMode, runTasks } from './progress.ts';

export interface UpOptions {
  /** Show each step (the CLI, the demo); tests keep quiet unless something fails. */
  progress?: boolean;
}

/** Thrown when a cluster another checkout started runs: its message names it and how to stop it. */
export class ForeignClusterError extends Error {
  override name = 'ForeignClusterError';
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

const say = (opts: { verbose?: boolean }, msg: string) => {
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

/**
 * Starts the component unless it runs and is healthy; returns whether it (re)started it. `title`
 * tells the step's line what happened.
 */
async function ensureComponent(
  paths: ClusterPaths,
  c: Component,
  tls: ClientTls,
  title: (text: string) => void,
): Promise<boolean> {
  const name = c.spec.name as ComponentName;
  const gone = () => runningPid(paths.run, c.spec) === undefined;
  const pid = runningPid(paths.run, c.spec);
  if (pid !== undefined) {
    if (await waitFor(() => c.healthy(tls), RECOVER_TIMEOUT_MS, gone)) {
      title(`${name}: running (pid ${pid})`);
      return false;
    }
    title(`${name}: pid ${pid} is ${gone() ? 'gone' : 'unhealthy'}, restarting it`);
    await stopDaemon(paths.run, c.spec);
  }
  const started = startDaemon(paths.run, paths.logs, c.spec);
  title(`${name}: started (pid ${started}, log ${logFile(paths.logs, name)})`);
  if (!(await waitFor(() => c.healthy(tls), START_TIMEOUT_MS[name], gone))) {
    throw new Error(
      `${name} did not become healthy (${gone() ? 'exited' : 'still running'}); last log lines:\n${logTail(paths.logs, name)}`,
    );
  }
  return true;
}

/** Refuses (throws) when the cluster running on this machine is another checkout's. */
function checkOwnership(paths: ClusterPaths): void {
  const decision = decideUp(observe(paths.state));
  if (decision.action === UpAction.refuse) throw new ForeignClusterError(decision.message);
}

/** The pids of this state directory's components, for the machine-wide owner record. */
function recordOwner(paths: ClusterPaths): void {
  const all = components(paths);
  const pids = Object.fromEntries(START_ORDER.map((n) => [n, runningPid(paths.run, all[n].spec)]));
  writeOwnerRecord(paths.state, pids);
}

interface UpContext {
  tls?: ClientTls;
}

/** The steps of `up` after the ownership check, in order. */
function upTasks(paths: ClusterPaths, mode: ProgressMode): ListrTask<UpContext>[] {
  const all = components(paths);
  const component = (name: ComponentName): ListrTask<UpContext> => ({
    title: name,
    task: async (ctx, task) => {
      await ensureComponent(paths, all[name], ctx.tls!, (t) => (task.title = t));
    },
  });
  return [
    {
      title: 'Prerequisites (Debian packages, Go, root)',
      task: (_ctx, task) => runStep({ id: 'prereqs', title: 'Prerequisites' }, { command: withPrereqs('-c', 'true') }, mode, task),
    },
    {
      title: 'Binaries',
      task: (_ctx, task) => {
        if (binariesCached()) return task.skip(`Binaries: cached in ${cacheDir()}`);
        task.title = `Building binaries into ${cacheDir()} (first time only; Kubernetes takes minutes)`;
        return task.newListr(buildTasks(mode), { concurrent: false });
      },
    },
    {
      title: 'PKI and kubeconfig',
      task: async (ctx) => {
        for (const dir of [paths.logs, paths.run, paths.pods, paths.etcdData]) fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(paths.etcdData, 0o700);
        await ensurePki(paths);
        writeKubeconfig(paths);
        writeSchedulerConfig(paths);
        ctx.tls = adminTls(paths);
      },
    },
    component(ComponentName.etcd),
    {
      title: ComponentName.apiserver,
      task: async (ctx, task) => {
        if (!(await ensureComponent(paths, all[ComponentName.apiserver], ctx.tls!, (t) => (task.title = t)))) return;
        // After an apiserver outage client-go reflectors back off for up to 30 s: controllers that
        // lived through it would notice new objects late. Fresh ones start in under a second.
        for (const name of [ComponentName.controllerManager, ComponentName.scheduler]) {
          if (await stopDaemon(paths.run, all[name].spec)) task.output = `stopped ${name}: it restarts with the apiserver`;
        }
      },
    },
    {
      title: 'Controller-manager, scheduler and node agent',
      task: (_ctx, task) =>
        task.newListr(
          [ComponentName.controllerManager, ComponentName.scheduler, ComponentName.nodeAgent].map(component),
          { concurrent: true },
        ),
    },
    {
      title: `Node ${NODE_NAME} Ready and schedulable`,
      task: async (ctx) => {
        if (!(await waitFor(() => nodeSchedulable(ctx.tls!), 90_000))) {
          throw new Error(
            `node ${NODE_NAME} did not become Ready and schedulable; node agent log:\n${logTail(paths.logs, ComponentName.nodeAgent)}`,
          );
        }
      },
    },
    {
      title: 'ServiceAccount default/default',
      task: async (ctx) => {
        if (!(await waitFor(() => defaultServiceAccount(ctx.tls!), 60_000))) {
          throw new Error(
            `ServiceAccount default/default was not created; controller-manager log:\n${logTail(paths.logs, ComponentName.controllerManager)}`,
          );
        }
      },
    },
  ];
}

/**
 * Brings every piece up that is not running and healthy; leaves healthy pieces alone. Refuses,
 * before touching anything, when the running cluster is another checkout's.
 */
export async function up(opts: UpOptions = {}): Promise<{ kubeconfigPath: string }> {
  const paths = clusterPaths();
  fs.mkdirSync(paths.state, { recursive: true });
  return withLock(paths.lock, async () => {
    checkOwnership(paths);
    if (!(await healthy(paths))) {
      const mode = currentProgressMode(opts.progress ?? false);
      await runTasks(mode, upTasks(paths, mode), {});
    }
    recordOwner(paths);
    return { kubeconfigPath: paths.kubeconfig };
  });
}

/**
 * Makes sure the local cluster runs and returns its kubeconfig. Cheap when it is already up
 * (a few local HTTP checks); otherwise starts what is missing, building binaries on first use.
 */
export async function ensureCluster(opts: UpOptions = {}): Promise<{ kubeconfigPath: string }> {
  const paths = clusterPaths();
  if (await healthy(paths)) return { kubeconfigPath: paths.kubeconfig };
  return up(opts);
}

/**
 * Stops every process of the cluster, including all pod processes; removes pod networking. Refuses
 * a cluster another checkout started unless `force`; then stops it, found by its processes, in its
 * own state directory.
 */
export async function down(opts: { purge?: boolean; force?: boolean; verbose?: boolean } = {}): Promise<void> {
  const decision = decideDown(observe(clusterPaths().state), opts.force ?? false);
  if (decision.action === DownAction.refuse) throw new ForeignClusterError(decision.message);
  const paths = clusterPaths(decision.stateDir);
  if (decision.foreign) say(opts, `--force: ${decision.foreign.why}; stopping it`);
  const stop = async () => {
    const all = components(paths);
    for (const name of [...START_ORDER].reverse()) {
      // What ownership.ts found, and what this state directory's pid file names.
      const pids = new Set(decision.processes.filter((p) => p.component === name).map((p) => p.pid));
      const own = runningPid(paths.run, all[name].spec);
      if (own !== undefined) pids.add(own);
      // The agent stops its pods on SIGTERM; give it time before SIGKILL.
      await stopPids([...pids], name === ComponentName.nodeAgent ? 20_000 : 10_000);
      fs.rmSync(pidFile(paths.run, name), { force: true });
      if (pids.size > 0) say(opts, `stopped ${name} (pid ${[...pids].join(', ')})`);
      if (name === ComponentName.nodeAgent) await cleanupAllPods(paths.pods, { removeBridge: true });
    }
    if (readOwnerRecord()?.stateDir === paths.state) removeOwnerRecord();
  };
  if (!fs.existsSync(paths.state)) {
    if (decision.processes.length > 0) await stop();
    return;
  }
  await withLock(paths.lock, stop);
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

export interface ClusterStatus {
  components: ComponentStatus[];
  nodeReady: boolean;
  kubeconfig: string;
  /** The checkout whose node agent runs (or that the live record names); undefined when none runs. */
  owner?: string;
  /** Whether that is this checkout. */
  ownedHere: boolean;
  record?: OwnerRecord;
}

export async function status(): Promise<ClusterStatus> {
  const paths = clusterPaths();
  const obs = observe(paths.state);
  const all = components(paths);
  const tls = fs.existsSync(paths.admin.cert) ? adminTls(paths) : undefined;
  const found = (name: ComponentName): ClusterProcess | undefined => obs.processes.find((p) => p.component === name);
  const out: ComponentStatus[] = [];
  for (const name of START_ORDER) {
    const pid = runningPid(paths.run, all[name].spec) ?? found(name)?.pid;
    out.push({
      name,
      pid,
      healthy: pid !== undefined && tls !== undefined && (await all[name].healthy(tls)),
      log: logFile(paths.logs, name),
    });
  }
  const nodeReady = tls !== undefined && (await nodeSchedulable(tls));
  const owner = owningCheckout(obs);
  return {
    components: out,
    nodeReady,
    kubeconfig: paths.kubeconfig,
    owner,
    ownedHere: owner === obs.self.checkout,
    record: obs.record,
  };
}

export function kubeconfigPath(): string {
  return clusterPaths().kubeconfig;
}
