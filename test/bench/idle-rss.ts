// Idle memory of the processes of a Runtime Pod and of the operator, without a cluster: the bash
// Runtime Server, runtimed talking to it, the scheduler and the controller, started side by side
// against a stub apiserver (empty lists, silent watches, every write accepted) and read after
// they settle. Each runs either from the TypeScript sources (type stripping, as the images did) or
// from the images' bundles (release/bundle.ts, made into a temporary folder) with the Node flags
// and environment the images use. The processes reach the stub as in a Pod, through the service
// account's mount (a tmpfs over /run in a mount namespace of their own, so root is needed) and an
// HTTPS server, unless --kubeconfig gives them a kubeconfig instead (what they load outside a Pod:
// client-node's KubeConfig, lib/cluster-access.ts). Reported per process (the Runtime Server's fork server, its child
// in its process group, in a row of its own): RSS, PSS and USS (private pages) from
// /proc/<pid>/smaps_rollup — RSS counts the Node binary's pages every Node process on a node
// shares, USS what this process alone holds — and the CPU it took to start.
// Usage: node test/bench/idle-rss.ts [--sources] [--bare] [--kubeconfig] [--settle 20] [--runs 1]
//   --sources: run the TypeScript entry points; --bare: bundles without NODE_RUNTIME_ARGS/ENV.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFile, bundleImage, IMAGE_BUNDLES, type ImageDir, NODE_RUNTIME_ARGS, NODE_RUNTIME_ENV, stopBundler } from '../../release/bundle.ts';
import { SERVICE_ACCOUNT_DIR } from '../../lib/cluster-access.ts';
import { REPO_ROOT } from '../cluster/config.ts';
import { freePort } from '../../runtimes/kit/testing.ts';
import { parseProcStat } from './process-usage.ts';

/** The memory of one process, MB. */
export interface ProcessMemory {
  rss: number;
  pss: number;
  /** Private_Clean + Private_Dirty: what the process alone holds. */
  uss: number;
}

/** Reads /proc/<pid>/smaps_rollup (kB fields) into MB. */
export function parseSmapsRollup(text: string): ProcessMemory {
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const mb = (x: number) => Math.round(x / 102.4) / 10;
  return { rss: mb(kb('Rss')), pss: mb(kb('Pss')), uss: mb(kb('Private_Clean') + kb('Private_Dirty')) };
}

/** An apiserver that knows no objects: lists are empty, watches stay silent, writes echo back. */
function stubApiserver(tls: { cert: string; key: string }): Promise<https.Server> {
  let rv = 1;
  const server = https.createServer(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (code: number, obj: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.method === 'GET' && url.searchParams.get('watch')) return void res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
      if (req.method === 'GET') {
        const parts = url.pathname.split('/').filter(Boolean);
        // /api/v1[/namespaces/NS]/RESOURCE is a list, one more segment an object (same under /apis/G/V).
        const depth = parts.length - (parts[0] === 'api' ? 2 : 3);
        if (depth % 2 === 1) return json(200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: [] });
        return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      }
      let obj: { metadata?: Record<string, unknown> } = {};
      try {
        obj = JSON.parse(body || '{}') as typeof obj;
      } catch {
        // an empty or non-JSON body: answered as an empty object
      }
      obj.metadata = { ...obj.metadata, resourceVersion: String(++rv), uid: `stub-${rv}`, creationTimestamp: new Date().toISOString() };
      json(req.method === 'POST' ? 201 : 200, obj);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const PROCESSES = [
  { name: 'bash Runtime Server', dir: 'bash-runtime', args: [] },
  { name: 'runtimed', dir: 'runtimed', args: [] },
  { name: 'scheduler', dir: 'operator', args: ['scheduler'] },
  { name: 'controller', dir: 'operator', args: ['controller'] },
] as const satisfies ReadonlyArray<{ name: string; dir: ImageDir; args: string[] }>;

/** The stub's self-signed serving certificate for 127.0.0.1, and the service account's files. */
function podCredentials(work: string): { cert: string; key: string; serviceAccount: string } {
  const serviceAccount = path.join(work, 'serviceaccount');
  mkdirSync(serviceAccount, { recursive: true });
  const [certFile, keyFile] = [path.join(serviceAccount, 'ca.crt'), path.join(work, 'stub.key')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=stub', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  writeFileSync(path.join(serviceAccount, 'token'), 'stub');
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), serviceAccount };
}

/** Runs argv with the service account mounted where a Pod has it, in a mount namespace of its own. */
function asInPod(serviceAccount: string, argv: string[]): string[] {
  const script = `mount -t tmpfs tmpfs /run && mkdir -p ${SERVICE_ACCOUNT_DIR} && cp "$0"/* ${SERVICE_ACCOUNT_DIR}/ && exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, serviceAccount, ...argv];
}

interface MeasureOptions { sources: boolean; bare: boolean; kubeconfig: boolean; settleMs: number; bundles: string; work: string }

async function measure(o: MeasureOptions) {
  const credentials = podCredentials(o.work);
  const api = await stubApiserver(credentials);
  const port = (api.address() as AddressInfo).port;
  const kubeconfig = path.join(o.work, 'kubeconfig');
  await writeFile(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'stub',
    clusters: [{ name: 'stub', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'stub', user: { token: 'stub' } }],
    contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'stub' } }],
  }));
  const serverPort = await freePort();
  const env = {
    PATH: process.env.PATH, POD_NAME: 'idle', POD_NAMESPACE: 'idle', POD_UID: 'idle',
    ...(o.kubeconfig ? { KUBECONFIG: kubeconfig } : { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) }),
    KRUNTIME_WORKSPACE: path.join(o.work, 'workspace'), KRUNTIME_PORT: String(serverPort), KRUNTIME_SERVER_ADDR: `127.0.0.1:${serverPort}`,
    ...(o.sources || o.bare ? {} : NODE_RUNTIME_ENV),
  };
  const children: Array<{ name: string; child: ChildProcess }> = [];
  try {
    for (const p of PROCESSES) {
      const file = o.sources ? path.join(REPO_ROOT, IMAGE_BUNDLES[p.dir].entry) : path.join(o.bundles, p.dir, bundleFile(p.dir));
      const flags = o.sources || o.bare ? [] : NODE_RUNTIME_ARGS;
      const ports = { KRUNTIMED_HTTP_PORT: String(await freePort()), HEALTH_PORT: String(await freePort()) };
      const argv = [process.execPath, ...flags, file, ...p.args];
      const [command, ...args] = o.kubeconfig ? argv : asInPod(credentials.serviceAccount, argv);
      children.push({ name: p.name, child: spawn(command, args, { env: { ...env, ...ports }, stdio: 'ignore' }) });
    }
    await new Promise((r) => setTimeout(r, o.settleMs));
    const row = (name: string, pid: number) => {
      const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      return { name, ...parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')), startCpuMs: (stat.utime + stat.stime) * 10 };
    };
    // A process's helpers are its children in its own process group: the Runtime Server's fork server.
    const helpers = (pid: number) => {
      const { pgrp } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number)
        .filter((c) => parseProcStat(readFileSync(`/proc/${c}/stat`, 'utf8')).pgrp === pgrp);
    };
    return children.flatMap(({ name, child }) => [
      row(name, child.pid!),
      ...helpers(child.pid!).map((pid) => row(`${name}'s fork server`, pid)),
    ]);
  } finally {
    for (const { child } of children) child.kill('SIGKILL');
    api.closeAllConnections();
    api.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { sources: { type: 'boolean' }, bare: { type: 'boolean' }, kubeconfig: { type: 'boolean' }, settle: { type: 'string', default: '20' }, runs: { type: 'string', default: '1' } },
  });
  const work = await mkdtemp(path.join(tmpdir(), 'krt-idle-rss-'));
  try {
    await mkdir(path.join(work, 'workspace'));
    const bundles = path.join(work, 'bundles');
    if (!values.sources) {
      for (const dir of new Set(PROCESSES.map((p) => p.dir))) await bundleImage(dir, path.join(bundles, dir));
      await stopBundler();
    }
    const imageFlags = [...NODE_RUNTIME_ARGS, ...Object.entries(NODE_RUNTIME_ENV).map(([k, v]) => `${k}=${v}`)].join(' ');
    const mode = `${values.sources ? 'TypeScript sources' : values.bare ? 'bundles, no flags' : `bundles, ${imageFlags}`}, ${values.kubeconfig ? 'a kubeconfig' : 'the service account'}`;
    for (let i = 0; i < Number(values.runs); i++) {
      const load = loadavg()[0].toFixed(2);
      const settleMs = Number(values.settle) * 1000;
      const flags = { sources: !!values.sources, bare: !!values.bare, kubeconfig: !!values.kubeconfig };
      const rows = await measure({ ...flags, settleMs, bundles, work });
      process.stdout.write(`${mode} (load ${load}): ${rows.map((r) => `${r.name} RSS ${r.rss} PSS ${r.pss} USS ${r.uss} MB, start CPU ${r.startCpuMs} ms`).join('; ')}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
