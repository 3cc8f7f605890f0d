// The steps that build the local cluster's binaries, as listr2 tasks: one call of
// build-binaries.sh per step (etcd, the Kubernetes module graph, then each binary), each skipped
// when its outputs are cached. Versions and the cache directory come from config.ts and are passed
// to the script. A running step shows the last line Go printed and how long it has taken; its full
// output goes to `<cache>/logs/build-<step>.log`, and a failure carries the output's tail.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ListrTask, ListrTaskWrapper } from 'listr2';
import { binaries, cacheDir, ETCD_VERSION, KUBE_VERSION } from './config.ts';
import { formatElapsed, HEARTBEAT_MS, OutputTail, ProgressMode, StepError } from './progress.ts';

const SCRIPTS = {
  prereqs: path.join(import.meta.dirname, 'prereqs.sh'),
  build: path.join(import.meta.dirname, 'build-binaries.sh'),
} as const;

export interface BuildStep {
  /** build-binaries.sh's argument. */
  id: string;
  title: string;
  /** Files that exist once the step is done. */
  outputs: readonly string[];
}

/** Every build step in order; a step is done when its outputs exist. */
export function buildSteps(cache = cacheDir()): readonly BuildStep[] {
  const bin = binaries(cache);
  const kubectl = path.join(path.dirname(bin.apiserver), 'kubectl');
  const k8s = [bin.apiserver, bin.controllerManager, bin.scheduler, kubectl];
  return [
    { id: 'etcd', title: `etcd v${ETCD_VERSION}`, outputs: [bin.etcd] },
    { id: 'k8s-modules', title: `Kubernetes v${KUBE_VERSION} modules (go get k8s.io/kubernetes)`, outputs: k8s },
    { id: 'kube-apiserver', title: 'kube-apiserver', outputs: [bin.apiserver] },
    { id: 'kube-controller-manager', title: 'kube-controller-manager', outputs: [bin.controllerManager] },
    { id: 'kube-scheduler', title: 'kube-scheduler', outputs: [bin.scheduler] },
    { id: 'kubectl', title: `kubectl v${KUBE_VERSION} (for the tests)`, outputs: [kubectl] },
  ];
}

/** The steps still to run. */
export function pendingSteps(steps: readonly BuildStep[], exists: (file: string) => boolean): BuildStep[] {
  return steps.filter((s) => !s.outputs.every(exists));
}

type Task = ListrTaskWrapper<object, never, never>;

/** bash, sourcing prereqs.sh first (it installs what is missing and puts Go on PATH), then `bash args…`. */
export function withPrereqs(...args: string[]): string[] {
  return ['bash', '-c', 'source "$1" && shift && exec bash "$@"', 'krt-build', SCRIPTS.prereqs, ...args];
}

/** The command of one build-binaries.sh step, with config.ts's versions and cache. */
export function buildCommand(step: string, cache = cacheDir()): { command: string[]; env: NodeJS.ProcessEnv } {
  return { command: withPrereqs(SCRIPTS.build, step), env: { KRT_CACHE: cache, KUBE_VERSION, ETCD_VERSION } };
}

/**
 * Runs one step's command. Live mode shows its last output line and the elapsed time under the
 * task; lines mode prints a heartbeat each HEARTBEAT_MS. Everything it prints goes to
 * `<logDir>/build-<id>.log`; a failure rejects with a StepError naming that file and holding the
 * output's tail.
 */
export function runStep(
  step: Pick<BuildStep, 'id' | 'title'>,
  run: { command: readonly string[]; env?: NodeJS.ProcessEnv; logDir?: string },
  mode: ProgressMode,
  task?: Pick<Task, 'output'>,
  heartbeatMs = HEARTBEAT_MS,
): Promise<void> {
  const logDir = run.logDir ?? path.join(cacheDir(), 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logPath = path.join(logDir, `build-${step.id}.log`);
  const log = fs.createWriteStream(logPath);
  const [cmd, ...args] = run.command;
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...run.env } });
  const tail = new OutputTail();
  const t0 = Date.now();
  let last = '';
  const show = () => {
    if (task && mode === ProgressMode.live) task.output = `${formatElapsed(Date.now() - t0)}  ${last}`;
  };
  child.stderr.on('data', (d: Buffer) => {
    log.write(d);
    const lines = tail.push(d.toString());
    if (lines.length > 0) last = lines.at(-1)!.slice(0, 160);
    show();
  });
  child.stdout.on('data', (d: Buffer) => log.write(d));
  const timer = setInterval(
    () => {
      if (mode === ProgressMode.live) show();
      else if (task && mode === ProgressMode.lines) {
        task.output = `still running after ${formatElapsed(Date.now() - t0)} (${tail.count} lines of output so far)`;
      }
    },
    mode === ProgressMode.live ? 1000 : heartbeatMs,
  );
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      log.end(() => (err ? reject(err) : resolve()));
    };
    child.on('error', (err) => finish(err));
    child.on('close', (code, signal) => {
      if (code === 0) return finish();
      finish(
        new StepError(
          `${step.title} failed (${signal ?? `exit ${code}`}) after ${formatElapsed(Date.now() - t0)}; full output in ${logPath}`,
          tail.text(),
        ),
      );
    });
  });
}

/** The listr2 tasks of the binaries: one per step, a cached step shown as skipped. */
export function buildTasks(mode: ProgressMode, cache = cacheDir()): ListrTask<object>[] {
  const steps = buildSteps(cache);
  const pending = new Set(pendingSteps(steps, (f) => fs.existsSync(f)).map((s) => s.id));
  return steps.map((step) => ({
    title: step.title,
    // The live renderer replaces the title with the skip message; the line renderer appends it.
    skip: () => (pending.has(step.id) ? false : mode === ProgressMode.live ? `${step.title}: cached` : 'cached'),
    task: (_ctx, task) => runStep(step, { ...buildCommand(step.id, cache), logDir: path.join(cache, 'logs') }, mode, task),
  }));
}

/** True when every binary is already in the cache (the usual case after the first `up`). */
export function binariesCached(cache = cacheDir()): boolean {
  return pendingSteps(buildSteps(cache), (f) => fs.existsSync(f)).length === 0;
}
