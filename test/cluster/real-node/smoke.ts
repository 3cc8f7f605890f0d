// Smoke check of the built binaries and images, with no cluster involved:
//
//   node test/cluster/real-node/smoke.ts        (after build.ts)
//
// Starts a containerd of its own (config, root, state and socket under <cache>/real-node/smoke/,
// CRI and NRI disabled, never /run/containerd), imports every image archive from images.json into
// its k8s.io namespace with `ctr images import`, then with `ctr run` (runc through
// containerd-shim-runc-v2, each container as its image's USER):
//   - runtimed: the user, node, git and ssh; and its real entry point, which must load its whole
//     module graph and stop only at the missing downward-API environment;
//   - bash-runtime: its entry point in a network namespace of its own (loopback only), then a gRPC
//     Health and one Execute from smoke-probe.ts inside that namespace, and the server process's uid
//     read from /proc;
//   - python-runtime and operator: the user and the interpreters.
// Everything it started (containers, tasks, the namespace, containerd and its shims) is stopped
// before it exits, also on failure. Prints each step and its time on stderr.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { containerdPaths, renderContainerdConfig } from './containerd-config.ts';
import { progress, step } from './exec.ts';
import { binDir, RECIPES } from './go-builds.ts';
import { realNodePaths } from './versions.ts';

const paths = realNodePaths();
const dir = paths.smoke;
const cp = containerdPaths(dir);
const recipe = (name: string) => RECIPES.find((r) => r.name === name)!;
const containerdBin = binDir(recipe('containerd'));
const runcBin = binDir(recipe('runc'));
const ctrPath = path.join(containerdBin, 'ctr');
const NETNS = `krt-rn-smoke-${process.pid}`;
const PROBE = path.join(import.meta.dirname, 'smoke-probe.ts');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], timeoutMs = 120_000): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ctr(args: string[], timeoutMs?: number): Result {
  return sh(ctrPath, ['--address', cp.socket, '--namespace', 'k8s.io', ...args], timeoutMs);
}

function ctrOk(args: string[], timeoutMs?: number): string {
  const r = ctr(args, timeoutMs);
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function check(ok: boolean, what: string, detail = ''): void {
  if (!ok) throw new Error(`smoke check failed: ${what}${detail ? `\n${detail}` : ''}`);
  progress(`  ok: ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Shims our containerd started: their command line names our socket. */
function ourShims(): number[] {
  const out = sh('ps', ['-eo', 'pid=,args=']).stdout;
  return out.split('\n').filter((l) => l.includes('containerd-shim-runc-v2') && l.includes(cp.socket)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

let containerdPid: number | undefined;

async function startContainerd(): Promise<void> {
  if (existsSync(cp.pid)) {
    const old = Number(readFileSync(cp.pid, 'utf8'));
    const cmdline = alive(old) ? readFileSync(`/proc/${old}/cmdline`, 'utf8') : '';
    if (cmdline.includes(cp.config)) throw new Error(`a smoke containerd still runs (pid ${old}, ${cp.config}): kill ${old}`);
  }
  await rm(cp.state, { recursive: true, force: true });
  await rm(cp.socket, { force: true });
  await rm(cp.ttrpcSocket, { force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(cp.config, renderContainerdConfig({ dir, runc: path.join(runcBin, 'runc') }));
  // The effective config (after containerd's v3 → current migration) must name only our paths.
  const dump = sh(path.join(containerdBin, 'containerd'), ['--config', cp.config, 'config', 'dump']);
  if (dump.status !== 0) throw new Error(`containerd config dump: ${dump.stderr}`);
  const foreign = dump.stdout.split('\n').filter((l) => /^\s*(address|root|state|path|socket_path) = '\/(run|var)\//.test(l));
  if (foreign.length) throw new Error(`containerd's effective config still names system paths:\n${foreign.join('\n')}`);
  const log = openSync(cp.log, 'a');
  const child = spawn(path.join(containerdBin, 'containerd'), ['--config', cp.config], {
    stdio: ['ignore', log, log],
    // The shim finds runc (and containerd finds the shim) through PATH.
    env: { ...process.env, PATH: `${runcBin}:${containerdBin}:${process.env.PATH}` },
  });
  closeSync(log);
  containerdPid = child.pid!;
  await writeFile(cp.pid, String(containerdPid));
  const deadline = Date.now() + 30_000;
  while (ctr(['version']).status !== 0) {
    if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}; see ${cp.log}`);
    if (Date.now() > deadline) throw new Error(`containerd did not answer on ${cp.socket} in 30 s; see ${cp.log}`);
    await sleep(200);
  }
}

async function stopContainerd(): Promise<void> {
  if (containerdPid === undefined) return;
  const pid = containerdPid;
  if (alive(pid)) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const shim of ourShims()) {
    progress(`  stopping leftover shim ${shim}`);
    process.kill(shim, 'SIGKILL');
  }
  await rm(cp.pid, { force: true });
  containerdPid = undefined;
}

const containers: string[] = [];

async function cleanupContainers(): Promise<void> {
  for (const id of containers.splice(0)) {
    ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    for (let i = 0; i < 50 && /RUNNING|PAUSED/.test(ctr(['task', 'ls']).stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? ''); i++) await sleep(100);
    ctr(['task', 'rm', '-f', id]);
    ctr(['container', 'rm', id]);
  }
  sh('ip', ['netns', 'del', NETNS]);
}

interface ImageEntry {
  ref: string;
  qualified: string;
  archive: string;
}

async function main(): Promise<void> {
  const index = path.join(paths.images, 'images.json');
  if (!existsSync(index)) throw new Error(`${index} is missing: run build.ts first`);
  const images = JSON.parse(await readFile(index, 'utf8')) as ImageEntry[];
  const image = (dir: string) => {
    const found = images.find((i) => i.ref.startsWith(`kruntimes-${dir}:`));
    if (!found) throw new Error(`no kruntimes-${dir} image in ${index}`);
    return found.qualified;
  };
  await step(`starting containerd (${cp.socket})`, startContainerd);
  const version = ctrOk(['version']);
  progress(`  ${version.split('\n').filter((l) => /Version/.test(l)).map((l) => l.trim()).join(' ')}`);
  for (const img of images) {
    await step(`ctr images import ${path.basename(img.archive)}`, async () => {
      ctrOk(['images', 'import', img.archive], 600_000);
      check(ctrOk(['images', 'ls', '-q']).split('\n').includes(img.qualified), `${img.qualified} is in containerd`);
    });
  }

  await step('runtimed: user, tools and entry point', async () => {
    const id = `krt-smoke-runtimed-${process.pid}`;
    containers.push(id);
    const facts = ctr(['run', '--rm', image('runtimed'), id, 'sh', '-c', 'id -u; id -g; node --version; git --version; ssh -V 2>&1; pwd']);
    const lines = facts.stdout.trim().split('\n');
    check(facts.status === 0, 'the container ran', facts.stderr);
    check(lines[0] === '1000' && lines[1] === '1000', `runs as uid:gid ${lines[0]}:${lines[1]} (the image's USER 1000:1000)`);
    check(/^v\d+\.\d+\.\d+$/.test(lines[2]), `node ${lines[2]}`);
    check(/^git version/.test(lines[3]) && /OpenSSH/.test(lines[4]), `${lines[3]}, ${lines[4].split(',')[0]}`);
    check(lines[5] === '/app', 'working directory /app');
    const entry = ctr(['run', '--rm', image('runtimed'), `${id}-entry`]);
    const out = entry.stdout + entry.stderr;
    check(entry.status !== 0 && out.includes('runtimed needs POD_NAME') && !out.includes('ERR_MODULE_NOT_FOUND'),
      'its bundle (bundle/runtimed.mjs) loads and stops only at the missing downward-API env', out.slice(0, 2000));
  });

  await step('bash-runtime: Runtime Server answers gRPC in its own network namespace', async () => {
    const id = `krt-smoke-bash-${process.pid}`;
    containers.push(id);
    sh('ip', ['netns', 'add', NETNS]);
    sh('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    const log = path.join(dir, 'bash-runtime.log');
    await rm(log, { force: true });
    ctrOk(['run', '-d', '--with-ns', `network:/var/run/netns/${NETNS}`, '--log-uri', `file://${log}`, image('bash-runtime'), id]);
    const probe = sh('ip', ['netns', 'exec', NETNS, process.execPath, PROBE, '127.0.0.1:19091'], 60_000);
    check(probe.status === 0, 'the probe reached the server', probe.stderr.slice(0, 2000));
    const result = JSON.parse(probe.stdout) as { health: { healthy: boolean }; exitCode: number; stdout: string };
    check(result.health.healthy, 'Health: healthy');
    check(result.exitCode === 0 && /^uid=1000 gid=1000 user=node bash=5\./.test(result.stdout), `Execute ran bash as ${result.stdout.trim()}`);
    const task = ctrOk(['task', 'ls']).split('\n').find((l) => l.startsWith(`${id} `));
    const pid = Number(task?.trim().split(/\s+/)[1]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    check(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m.test(status), `server process ${pid} runs as uid 1000 (/proc/${pid}/status)`);
    const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /memory/.test(l) || l.startsWith('0::'));
    progress(`  server cgroup: ${cgroup}`);
    const logText = existsSync(log) ? await readFile(log, 'utf8') : '';
    check(logText.includes('"server.listening"'), 'its log (ctr --log-uri) has server.listening');
    ctrOk(['task', 'kill', '-s', 'SIGTERM', id]);
    let stopped = false;
    for (let i = 0; i < 150 && !stopped; i++) {
      stopped = /STOPPED/.test(ctrOk(['task', 'ls']).split('\n').find((l) => l.startsWith(`${id} `)) ?? 'STOPPED');
      if (!stopped) await sleep(100);
    }
    check(stopped, 'SIGTERM stops the server');
  });

  for (const [dir, cmd, expect] of [
    ['python-runtime', 'id -u; python3 --version; node --version', /^1000\nPython 3\.11\.\d+\nv\d+/],
    ['operator', 'id -u; node --version; test -f bundle/operator.mjs && echo main', /^1000\nv\d+\.\d+\.\d+\nmain$/],
  ] as const) {
    await step(`${dir}: user and interpreters`, async () => {
      const id = `krt-smoke-${dir}-${process.pid}`;
      containers.push(id);
      const r = ctr(['run', '--rm', image(dir), id, 'sh', '-c', cmd]);
      check(r.status === 0 && expect.test(r.stdout.trim()), `${dir}: ${r.stdout.trim().replace(/\n/g, ', ')}`, r.stderr);
    });
  }
}

const onSignal = () => {
  progress('interrupted: cleaning up');
  void cleanupContainers().finally(() => stopContainerd()).finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  process.stderr.write(`${(err as Error).message}\n`);
} finally {
  await step('stopping the smoke containers and containerd', async () => {
    if (containerdPid !== undefined) await cleanupContainers();
    await stopContainerd();
  });
}
progress(failed ? 'smoke check FAILED' : 'smoke check passed');
process.exit(failed ? 1 : 0);
