// Joins a REAL node (containerd + runc + CNI + kubelet) to the running local cluster, beside the
// process node agent, and takes it away again:
//
//   node test/cluster/real-node/node.ts up       idempotent; waits until the node is Ready
//                                     [--no-build] imports the images build.ts made last, unchecked
//   node test/cluster/real-node/node.ts status   what runs, the node's conditions, the bridge, nft
//   node test/cluster/real-node/node.ts down     stops exactly what `up` started and removes it
//
// `up` runs build.ts (cached), starts containerd (its own root/state/socket under
// <cache>/real-node/node/containerd, CRI on, the node's CNI conf), imports the image archives into
// the k8s.io namespace, issues the kubelet's client and serving certificates from the cluster CA,
// binds system:node:krt-real-0 to system:node, creates the bridge krt1 and an nft DNAT of the
// `kubernetes` ClusterIP to the apiserver, then starts the kubelet (registering node krt-real-0,
// labelled kruntimes.io/node-kind=real and tainted kruntimes.io/real-node=true:NoSchedule), and the
// NetworkPolicy agent kube-network-policies for it (network-policy.ts). It never
// restarts or reconfigures a control plane component or the node agent. The processes run detached;
// their pids (and a marker of their command line) are in <cache>/real-node/node/pids.json, so `down`
// stops exactly them, plus the containerd shims that name our socket. join.ts has the pure parts.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clusterPaths, REPO_ROOT } from '../config.ts';
import { cgroupSetup, containerdPaths, hasCapSysResource, renderContainerdConfig } from './containerd-config.ts';
import { ensureDebianPackages } from './exec.ts';
import { binDir, RECIPES } from './go-builds.ts';
import {
  joinPaths,
  KUBELET_API_SERVER,
  kubeletIptablesCleanup,
  kubeletArgs,
  kubeletClientExtensions,
  kubeletClientSubject,
  kubeletServingExtensions,
  REAL_NODE,
  renderKubeletKubeconfig,
  renderNftRules,
  renderNodeClusterRoleBinding,
  serviceDnat,
} from './join.ts';
import { agentArgs, agentClientSubject, agentNftCleanup, NETWORK_POLICY_AGENT, networkPolicyPaths, renderAgentRbac } from './network-policy.ts';
import { REAL_NODE_KUBELET_PORTS, REAL_NODE_NETWORK, renderCniConflist, renderKubeletConfig } from './node-config.ts';
import { PAUSE_IMAGE } from './pause-image.ts';
import { realNodePaths } from './versions.ts';

const cluster = clusterPaths();
const jp = joinPaths();
const cp = containerdPaths(jp.containerd);
const recipe = (name: string) => RECIPES.find((r) => r.name === name)!;
const bins = {
  containerd: path.join(binDir(recipe('containerd')), 'containerd'),
  ctr: path.join(binDir(recipe('containerd')), 'ctr'),
  runc: path.join(binDir(recipe('runc')), 'runc'),
  kubelet: path.join(binDir(recipe('kubelet')), 'kubelet'),
  cni: binDir(recipe('cni-plugins')),
  networkPolicies: path.join(binDir(recipe('kube-network-policies')), 'kube-network-policies'),
};
const started = Date.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function say(message: string): void {
  process.stderr.write(`[real-node +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

interface ShOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

async function sh(cmd: string, args: string[], opts: ShOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { encoding: 'utf8' as const, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, env: opts.env ?? process.env };
    const child = execFile(cmd, args, options, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

async function must(cmd: string, args: string[], opts: Parameters<typeof sh>[2] = {}): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 3000)}`);
  return r.stdout;
}

const kubectlEnv = { ...process.env, KUBECONFIG: cluster.kubeconfig };
const kubectl = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => sh('kubectl', args, { ...opts, env: kubectlEnv });
const ctr = (args: string[], timeoutMs?: number) => sh(bins.ctr, ['--address', cp.socket, '--namespace', 'k8s.io', ...args], { timeoutMs });

// ---- processes ---------------------------------------------------------------------------------

interface Proc {
  name: 'containerd' | 'kubelet' | 'kube-network-policies';
  pid: number;
  /** A string the process's command line contains (our config path), so a reused pid is not ours. */
  marker: string;
}

async function readPids(): Promise<Proc[]> {
  try {
    return JSON.parse(await readFile(jp.pids, 'utf8')) as Proc[];
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

const isRunning = (p: Proc) => cmdline(p.pid).includes(p.marker);

async function running(name: Proc['name']): Promise<Proc | undefined> {
  return (await readPids()).find((p) => p.name === name && isRunning(p));
}

async function recordPid(p: Proc): Promise<void> {
  const others = (await readPids()).filter((q) => q.name !== p.name && isRunning(q));
  await writeFile(jp.pids, `${JSON.stringify([...others, p], null, 2)}\n`);
}

async function startDetached(name: Proc['name'], command: string, args: string[], marker: string, env: NodeJS.ProcessEnv): Promise<number> {
  await mkdir(jp.logs, { recursive: true });
  const log = openSync(path.join(jp.logs, `${name}.log`), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  await recordPid({ name, pid, marker });
  return pid;
}

async function stopProc(p: Proc, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isRunning(p)) return;
  say(`stopping ${p.name} (pid ${p.pid})`);
  process.kill(p.pid, signal);
  for (let t = 0; t < graceMs && isRunning(p); t += 100) await sleep(100);
  if (isRunning(p)) process.kill(p.pid, 'SIGKILL');
  for (let i = 0; i < 50 && isRunning(p); i++) await sleep(100);
}

/** containerd-shim-runc-v2 processes of our containerd: their command line names our socket. */
async function ourShims(): Promise<number[]> {
  const out = await must('ps', ['-eo', 'pid=,args=']);
  return out.split('\n').filter((l) => l.includes('containerd-shim-runc-v2') && l.includes(cp.socket)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

// ---- up ----------------------------------------------------------------------------------------

async function build(): Promise<void> {
  say('build.ts (cached: only checks when nothing changed)');
  const r = await sh(process.execPath, [path.join(import.meta.dirname, 'build.ts')], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`build.ts failed:\n${r.stderr.split('\n').slice(-30).join('\n')}`);
}

function capEff(): string {
  return /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
}

async function writeConfigs(driver: 'systemd' | 'cgroupfs'): Promise<void> {
  const dirs = [jp.root, jp.containerd, jp.kubeletRoot, jp.podLogs, jp.cniConfDir, jp.pki, jp.logs];
  for (const d of dirs) await mkdir(d, { recursive: true });
  await writeFile(cp.config, renderContainerdConfig({
    dir: jp.containerd,
    runc: bins.runc,
    cri: {
      cniBinDir: bins.cni,
      cniConfDir: jp.cniConfDir,
      sandboxImage: PAUSE_IMAGE,
      systemdCgroup: driver === 'systemd',
      restrictOomScoreAdj: !hasCapSysResource(capEff()),
    },
  }));
  await writeFile(path.join(jp.cniConfDir, '10-krt-real.conflist'), renderCniConflist({ dataDir: jp.cniData, ...REAL_NODE_NETWORK }));
  await writeFile(jp.kubeletConfig, renderKubeletConfig({
    containerdSocket: cp.socket,
    clientCaFile: cluster.ca.cert,
    tlsCertFile: jp.serving.cert,
    tlsKeyFile: jp.serving.key,
    cgroupDriver: driver,
    cgroupRoot: REAL_NODE.cgroupRoot,
    podLogsDir: jp.podLogs,
    registerWithTaints: [{ ...REAL_NODE.taint }],
    ...REAL_NODE_KUBELET_PORTS,
  }));
  await writeFile(jp.kubeconfig, renderKubeletKubeconfig({
    server: KUBELET_API_SERVER,
    caFile: cluster.ca.cert,
    certFile: jp.client.cert,
    keyFile: jp.client.key,
    user: `system:node:${REAL_NODE.name}`,
  }), { mode: 0o600 });
}

/** A leaf certificate from the cluster CA, unless one signed by this CA is already there. */
async function ensureCert(out: { cert: string; key: string }, subject: string, extensions: string[]): Promise<void> {
  if (existsSync(out.cert) && (await sh('openssl', ['verify', '-CAfile', cluster.ca.cert, out.cert])).code === 0) return;
  await must('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
    '-subj', subject, '-CA', cluster.ca.cert, '-CAkey', cluster.ca.key, '-keyout', out.key, '-out', out.cert,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
  say(`issued ${path.basename(out.cert)} (${subject})`);
}

async function ensureBridgeAndNft(): Promise<void> {
  const { bridge, gateway, subnet } = REAL_NODE_NETWORK;
  const prefix = subnet.split('/')[1];
  if ((await sh('ip', ['link', 'show', bridge])).code !== 0) await must('ip', ['link', 'add', bridge, 'type', 'bridge']);
  if (!(await must('ip', ['-4', 'addr', 'show', 'dev', bridge])).includes(`${gateway}/${prefix}`)) await must('ip', ['addr', 'add', `${gateway}/${prefix}`, 'dev', bridge]);
  await must('ip', ['link', 'set', bridge, 'up']);
  await must('nft', ['-f', '-'], { input: renderNftRules(serviceDnat()) });
}

/** The kubelet's cgroup root in every v1 hierarchy (it refuses to start when one is missing). */
async function ensureCgroupRoot(): Promise<void> {
  for (const c of await v1Hierarchies()) {
    const dir = path.join('/sys/fs/cgroup', c, REAL_NODE.cgroupRoot);
    await mkdir(dir, { recursive: true });
    if (c === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if ((await readFile(path.join(dir, f), 'utf8')).trim() === '') await writeFile(path.join(dir, f), await readFile(path.join('/sys/fs/cgroup', c, f), 'utf8'));
      }
    }
  }
}

async function v1Hierarchies(): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'cgroup' && f[1].startsWith('/sys/fs/cgroup/')).map((f) => path.basename(f[1]));
}

async function startContainerd(): Promise<void> {
  const now = await running('containerd');
  const config = await readFile(cp.config, 'utf8');
  if (now && (await readFile(`${cp.config}.running`, 'utf8').catch(() => '')) !== config) {
    say('containerd\'s config changed: restarting it');
    await stopProc(now, 10_000);
  } else if (now && (await ctr(['version'])).code === 0) {
    say(`containerd runs (pid ${now.pid})`);
    return;
  }
  for (const f of [cp.socket, cp.ttrpcSocket]) await rm(f, { force: true });
  const pid = await startDetached('containerd', bins.containerd, ['--config', cp.config], cp.config, {
    ...process.env,
    PATH: `${path.dirname(bins.runc)}:${path.dirname(bins.containerd)}:${process.env.PATH}`,
  });
  const deadline = Date.now() + 30_000;
  while ((await ctr(['version'])).code !== 0) {
    if (!cmdline(pid)) throw new Error(`containerd exited; see ${path.join(jp.logs, 'containerd.log')}`);
    if (Date.now() > deadline) throw new Error(`containerd did not answer on ${cp.socket} in 30 s`);
    await sleep(200);
  }
  await writeFile(`${cp.config}.running`, config);
  say(`containerd started (pid ${pid}, ${cp.socket})`);
}

interface ImageEntry {
  ref: string;
  qualified: string;
  archive: string;
}

async function importImages(): Promise<void> {
  const index = path.join(realNodePaths().images, 'images.json');
  const images = JSON.parse(await readFile(index, 'utf8')) as ImageEntry[];
  const record = path.join(jp.root, 'imported.json');
  const imported = existsSync(record) ? (JSON.parse(await readFile(record, 'utf8')) as Record<string, string>) : {};
  const present = new Set((await ctr(['images', 'ls', '-q'])).stdout.split('\n'));
  for (const img of images) {
    if (present.has(img.qualified) && imported[img.qualified] === img.archive) continue;
    const t0 = Date.now();
    const r = await ctr(['images', 'import', img.archive], 900_000);
    if (r.code !== 0) throw new Error(`ctr images import ${img.archive}: ${r.stderr}`);
    imported[img.qualified] = img.archive;
    await writeFile(record, `${JSON.stringify(imported, null, 2)}\n`);
    say(`imported ${img.qualified} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

const KUBELET_SYSCTLS = ['vm.overcommit_memory', 'vm.panic_on_oom', 'kernel.panic', 'kernel.panic_on_oops', 'kernel.keys.root_maxkeys', 'kernel.keys.root_maxbytes'];

async function startKubelet(): Promise<void> {
  const now = await running('kubelet');
  if (now) {
    say(`kubelet runs (pid ${now.pid})`);
    return;
  }
  // The kubelet sets these kernel defaults (vm.overcommit_memory=1, kernel.panic=10, …); keep the old values for `down`.
  if (!existsSync(jp.sysctls)) {
    const values: Record<string, string> = {};
    for (const k of KUBELET_SYSCTLS) values[k] = (await must('sysctl', ['-n', k])).trim();
    await writeFile(jp.sysctls, `${JSON.stringify(values, null, 2)}\n`);
  }
  const args = kubeletArgs({ config: jp.kubeletConfig, kubeconfig: jp.kubeconfig, rootDir: jp.kubeletRoot, certDir: jp.pki });
  const pid = await startDetached('kubelet', bins.kubelet, args, jp.kubeletConfig, process.env);
  say(`kubelet started (pid ${pid}, port ${REAL_NODE_KUBELET_PORTS.port})`);
}

interface NodeJson {
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    addresses?: Array<{ type: string; address: string }>;
    daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
  };
  spec?: { taints?: Array<{ key: string; value?: string; effect: string }> };
}

async function readNode(): Promise<NodeJson | undefined> {
  const r = await kubectl(['get', 'node', REAL_NODE.name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as NodeJson) : undefined;
}

async function waitReady(timeoutMs: number): Promise<NodeJson> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const node = await readNode();
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return node!;
    last = ready ? `${ready.reason}: ${ready.message}` : node ? 'no Ready condition yet' : 'not registered yet';
    const k = await running('kubelet');
    if (!k) throw new Error(`the kubelet exited; see ${path.join(jp.logs, 'kubelet.log')}`);
    if (Date.now() > deadline) throw new Error(`node ${REAL_NODE.name} not Ready after ${timeoutMs / 1000} s (${last}); see ${path.join(jp.logs, 'kubelet.log')}`);
    await sleep(1000);
  }
}

/**
 * What the node runs from the host, by Debian package: nft (the service DNAT table, and
 * kube-network-policies through knftables), ip, iptables (CNI portmap, the kubelet's chains), ps
 * and sysctl, openssl (the node's certificates). A fresh Debian lacks nftables at least.
 */
const HOST_PACKAGES = ['nftables', 'iproute2', 'iptables', 'procps', 'openssl'] as const;

async function up(): Promise<void> {
  if (!existsSync(cluster.kubeconfig)) throw new Error(`no local cluster (${cluster.kubeconfig}): start it with npm run cluster -- up`);
  if ((await kubectl(['get', '--raw', '/readyz'])).code !== 0) throw new Error('the local cluster\'s apiserver does not answer: start it with npm run cluster -- up');
  await mkdir(jp.logs, { recursive: true });
  await ensureDebianPackages(HOST_PACKAGES, path.join(jp.logs, 'apt.log'));
  if (process.argv.includes('--no-build') && existsSync(path.join(realNodePaths().images, 'images.json'))) say('--no-build: using the images already built');
  else await build();
  const cg = cgroupSetup((await must('stat', ['-fc', '%T', '/sys/fs/cgroup'])).trim(), await readFile('/proc/1/comm', 'utf8'));
  say(`cgroup v${cg.version}, driver ${cg.driver}`);
  await writeConfigs(cg.driver);
  await ensureCert(jp.client, kubeletClientSubject(), kubeletClientExtensions());
  await ensureCert(jp.serving, `/CN=${REAL_NODE.name}`, kubeletServingExtensions());
  await ensureBridgeAndNft();
  say(`bridge ${REAL_NODE_NETWORK.bridge} ${REAL_NODE_NETWORK.gateway}, nft table ip ${REAL_NODE.nftTable}: ${serviceDnat().serviceIP}:443 → ${serviceDnat().apiHost}:${serviceDnat().apiPort}`);
  if (cg.version === 1) await ensureCgroupRoot();
  await startContainerd();
  await importImages();
  await must('kubectl', ['apply', '-f', '-'], { input: renderNodeClusterRoleBinding(), env: kubectlEnv });
  await startNetworkPolicyAgent();
  await startKubelet();
  const node = await waitReady(180_000);
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  say(`node ${REAL_NODE.name} Ready: InternalIP ${ip}, kubelet port ${node.status?.daemonEndpoints?.kubeletEndpoint?.Port}, taints ${JSON.stringify(node.spec?.taints ?? [])}`);
}

// ---- the NetworkPolicy agent (network-policy.ts) ----------------------------------------------

const np = networkPolicyPaths(jp);

async function startNetworkPolicyAgent(): Promise<void> {
  await ensureCert(np.client, agentClientSubject(), kubeletClientExtensions());
  await writeFile(np.kubeconfig, renderKubeletKubeconfig({
    server: KUBELET_API_SERVER,
    caFile: cluster.ca.cert,
    certFile: np.client.cert,
    keyFile: np.client.key,
    user: NETWORK_POLICY_AGENT.user,
  }), { mode: 0o600 });
  await must('kubectl', ['apply', '-f', '-'], { input: renderAgentRbac(), env: kubectlEnv });
  const now = await running('kube-network-policies');
  if (now) {
    say(`kube-network-policies runs (pid ${now.pid})`);
    return;
  }
  const pid = await startDetached('kube-network-policies', bins.networkPolicies, agentArgs(np.kubeconfig), np.kubeconfig, process.env);
  // Its table appears once its informers have synced: from then on it enforces.
  const deadline = Date.now() + 60_000;
  while ((await sh('nft', ['list', 'table', 'inet', NETWORK_POLICY_AGENT.nftTable])).code !== 0) {
    if (!cmdline(pid)) throw new Error(`kube-network-policies exited; see ${path.join(jp.logs, 'kube-network-policies.log')}`);
    if (Date.now() > deadline) throw new Error(`kube-network-policies made no nft table in 60 s; see ${path.join(jp.logs, 'kube-network-policies.log')}`);
    await sleep(200);
  }
  say(`kube-network-policies started (pid ${pid}, nfqueue ${NETWORK_POLICY_AGENT.queue}, table inet ${NETWORK_POLICY_AGENT.nftTable})`);
}

async function stopNetworkPolicyAgent(): Promise<void> {
  const agent = await running('kube-network-policies');
  // SIGINT: it deletes its table, after a 5 s grace period of its own.
  if (agent) await stopProc(agent, 15_000, NETWORK_POLICY_AGENT.stopSignal);
  const cleanup = agentNftCleanup(await must('nft', ['-j', 'list', 'tables']));
  if (cleanup) await must('nft', ['-f', '-'], { input: cleanup });
  await kubectl(['delete', 'clusterrolebinding,clusterrole', NETWORK_POLICY_AGENT.clusterRole, '--ignore-not-found']);
}

// ---- down --------------------------------------------------------------------------------------

async function down(): Promise<void> {
  const kubelet = await running('kubelet');
  if (kubelet && (await readNode())) {
    // Pods bound to this node (only those that tolerate its taint): the kubelet tears them down.
    say('deleting the pods bound to the node');
    await kubectl(['delete', 'pods', '-A', '--field-selector', `spec.nodeName=${REAL_NODE.name}`, '--wait=true', '--timeout=60s'], { timeoutMs: 90_000 });
  }
  if (kubelet) await stopProc(kubelet, 10_000);
  await stopNetworkPolicyAgent();
  const containerd = await running('containerd');
  if (containerd && (await ctr(['version'])).code === 0) {
    const tasks = (await ctr(['task', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    for (const id of tasks) await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    for (const id of tasks) await ctr(['task', 'rm', '-f', id]);
    for (const id of (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await ctr(['container', 'rm', id]);
  }
  if (containerd) await stopProc(containerd, 10_000);
  for (const shim of await ourShims()) {
    say(`killing leftover shim ${shim}`);
    process.kill(shim, 'SIGKILL');
  }
  await unmountUnder(jp.root);
  await rm(jp.pids, { force: true });
  await rm(path.join(jp.containerd, 'state'), { recursive: true, force: true });
  await rm(path.join(jp.cniData, 'ipam'), { recursive: true, force: true });
  await rm(jp.kubeletRoot, { recursive: true, force: true });
  if ((await kubectl(['get', 'node', REAL_NODE.name])).code === 0) {
    await must('kubectl', ['delete', 'node', REAL_NODE.name, '--wait=true'], { env: kubectlEnv });
    say(`deleted node ${REAL_NODE.name}`);
  }
  await kubectl(['delete', 'clusterrolebinding', REAL_NODE.clusterRoleBinding, '--ignore-not-found']);
  await sh('nft', ['delete', 'table', 'ip', REAL_NODE.nftTable]);
  // The kubelet's iptables canary, hint and KUBE-FIREWALL chains (and tables left empty by them).
  const cleanup = kubeletIptablesCleanup(await must('nft', ['-j', 'list', 'ruleset']));
  if (cleanup) {
    await must('nft', ['-f', '-'], { input: cleanup });
    say('removed the kubelet\'s iptables chains');
  }
  if ((await sh('ip', ['link', 'show', REAL_NODE_NETWORK.bridge])).code === 0) await must('ip', ['link', 'del', REAL_NODE_NETWORK.bridge]);
  await removeCgroupRoot();
  if (existsSync(jp.sysctls)) {
    const values = JSON.parse(await readFile(jp.sysctls, 'utf8')) as Record<string, string>;
    for (const [k, v] of Object.entries(values)) await sh('sysctl', ['-qw', `${k}=${v}`]);
    await rm(jp.sysctls);
    say('restored the kernel settings the kubelet changed');
  }
  say('the real node is down');
}

/** Unmounts everything mounted below dir (projected volumes, the kubelet's rshared root, netns), deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
    if (!mounts.length) return;
    for (const m of [...new Set(mounts)].sort((a, b) => b.length - a.length)) await sh('umount', ['-l', m.replace(/\\040/g, ' ')]);
  }
}

async function removeCgroupRoot(): Promise<void> {
  async function rmTree(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await rmTree(path.join(dir, e.name));
    await rmdir(dir).catch(() => undefined);
  }
  for (const c of await v1Hierarchies()) await rmTree(path.join('/sys/fs/cgroup', c, REAL_NODE.cgroupRoot));
}

// ---- status ------------------------------------------------------------------------------------

async function status(): Promise<void> {
  const lines: string[] = [];
  for (const p of await readPids()) lines.push(`${p.name}: ${isRunning(p) ? `running (pid ${p.pid})` : `not running (recorded pid ${p.pid})`}`);
  if (!lines.length) lines.push('containerd: not running', 'kubelet: not running');
  const shims = await ourShims();
  lines.push(`shims: ${shims.length ? shims.join(' ') : 'none'}`);
  const node = await readNode();
  if (node) {
    const cond = (node.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(' ');
    lines.push(`node ${REAL_NODE.name}: ${cond}; taints ${(node.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).join(',')}`);
    const pods = await kubectl(['get', 'pods', '-A', '--field-selector', `spec.nodeName=${REAL_NODE.name}`, '--no-headers']);
    lines.push(`pods on it: ${pods.stdout.trim() ? `\n${pods.stdout.trimEnd()}` : 'none'}`);
  } else {
    lines.push(`node ${REAL_NODE.name}: not registered`);
  }
  lines.push(`bridge ${REAL_NODE_NETWORK.bridge}: ${(await sh('ip', ['link', 'show', REAL_NODE_NETWORK.bridge])).code === 0 ? 'present' : 'absent'}`);
  lines.push(`nft table ip ${REAL_NODE.nftTable}: ${(await sh('nft', ['list', 'table', 'ip', REAL_NODE.nftTable])).code === 0 ? 'present' : 'absent'}`);
  lines.push(`nft table inet ${NETWORK_POLICY_AGENT.nftTable}: ${(await sh('nft', ['list', 'table', 'inet', NETWORK_POLICY_AGENT.nftTable])).code === 0 ? 'present' : 'absent'}`);
  lines.push(`files: ${jp.root}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const command = process.argv[2];
const actions: Record<string, () => Promise<void>> = { up, down, status };
if (!command || !actions[command]) {
  process.stderr.write('usage: node test/cluster/real-node/node.ts up [--no-build]|down|status\n');
  process.exit(2);
}
process.chdir(REPO_ROOT);
try {
  await actions[command]();
  if (command !== 'status') say(`${command}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  process.stderr.write(`real-node ${command} failed: ${(err as Error).message}\n`);
  process.exit(1);
}
