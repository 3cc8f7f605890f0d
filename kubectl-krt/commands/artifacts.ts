// kubectl krt artifacts list RUN | download RUN [NAME] [-o DIR] [--unpack]: through a port-forward
// to runtimed of one of the Run's Runtime Pods (sidecar/artifacts/artifact-server.ts), so the user
// needs no store credentials. Downloads are verified against the ref's size and sha256 digest.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { type ArtifactRef, ArtifactType, Label, RUNTIMED_HTTP_PORT, type Run } from '../../lib/api.ts';
import { Paths } from '../../lib/kube-client.ts';
import type { Command } from '../command.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { getRun } from '../kube/observe-run.ts';
import { openPortForward } from '../kube/port-forward.ts';

interface PodList {
  items: Array<{ metadata: { name: string }; status?: { phase?: string; conditions?: Array<{ type: string; status: string }> } }>;
}

export const artifactsCommand: Command = {
  name: 'artifacts',
  summary: "list and download a Run's artifacts (through runtimed; no store credentials needed)",
  usage: 'artifacts list RUN | artifacts download RUN [NAME] [-o DIR] [--unpack]',
  description: `List a Run's artifacts (name, type, size, digest) or download them. Downloads go through a
port-forward to runtimed in one of the Run's Runtime Pods, which reads the store; each file is checked
against the size and sha256 digest in status.artifactRefs. A directory artifact is saved as NAME.tar.gz,
or unpacked into DIR/NAME with --unpack.`,
  examples: [
    { comment: 'List the artifacts of a Run', line: 'artifacts list report-x7k2p' },
    { comment: 'Download all of them into ./out', line: 'artifacts download report-x7k2p -o out' },
    { comment: 'Download one directory artifact and unpack it', line: 'artifacts download report-x7k2p site --unpack' },
  ],
  flags: {
    output: { type: 'string', shortFlag: 'o', valueName: 'DIR', description: 'directory to download into (default: .)' },
    unpack: { type: 'boolean', description: 'unpack directory artifacts (tar.gz) into DIR/NAME' },
  },
  async run(ctx, args) {
    const [verb, runName, name, ...rest] = args.input;
    if (verb !== 'list' && verb !== 'download') throw new UsageError('use artifacts list RUN or artifacts download RUN [NAME]');
    if (!runName) throw new UsageError(`name the Run: artifacts ${verb} RUN`);
    if (rest.length || (verb === 'list' && name)) throw new UsageError(`too many arguments for artifacts ${verb}`);
    const conn = await ctx.connection();
    const run = await getRun(conn, ctx.namespace, runName);
    const refs = run.status?.artifactRefs ?? [];
    if (verb === 'list') {
      if (!refs.length) {
        ctx.out(`run ${runName} has no artifacts\n`);
        return ExitCode.Ok;
      }
      const rows = [['NAME', 'TYPE', 'SIZE', 'DIGEST'], ...refs.map((r) => [r.name, r.type ?? '', String(r.size), r.digest])];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) ctx.out(`${r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()}\n`);
      return ExitCode.Ok;
    }
    const chosen = name ? refs.filter((r) => r.name === name) : refs;
    if (name && !chosen.length) {
      ctx.error(`run ${runName} has no artifact ${name} (it has: ${refs.map((r) => r.name).join(', ') || 'none'})`);
      return ExitCode.Error;
    }
    if (!chosen.length) {
      ctx.out(`run ${runName} has no artifacts\n`);
      return ExitCode.Ok;
    }
    const dir = path.resolve((args.flags.output as string | undefined) ?? '.');
    await mkdir(dir, { recursive: true });
    const pod = await pickPod(ctx, run);
    for (const ref of chosen) {
      const target = await download(ctx, pod, run, ref, dir, args.flags.unpack === true);
      ctx.out(`${ref.name} → ${target} (${ref.size} bytes, ${ref.digest})\n`);
    }
    return ExitCode.Ok;
  },
};

/** The Run's own pod when still there, else any ready pod of its Runtime. */
async function pickPod(ctx: Context, run: Run): Promise<string> {
  const conn = await ctx.connection();
  const pods = await conn.client.get<PodList>(
    `${Paths.pods(ctx.namespace)}?labelSelector=${encodeURIComponent(`${Label.Runtime}=${run.spec.runtime}`)}`,
  );
  const ready = pods.items.filter(
    (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  const own = ready.find((p) => p.metadata.name === run.status?.assignedPod);
  const pod = own ?? ready[0];
  if (!pod) throw new Error(`no ready pod of Runtime ${run.spec.runtime} to read the artifacts through; is the Runtime running?`);
  return pod.metadata.name;
}

async function download(ctx: Context, pod: string, run: Run, ref: ArtifactRef, dir: string, unpack: boolean): Promise<string> {
  const conn = await ctx.connection();
  const socket = await openPortForward(conn, ctx.namespace, pod, RUNTIMED_HTTP_PORT);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({
      method: 'GET',
      path: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/runs/${encodeURIComponent(run.metadata.name!)}/artifacts/${encodeURIComponent(ref.name)}`,
      headers: { host: 'runtimed' },
      createConnection: () => socket as unknown as Socket,
    });
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
  if (res.statusCode !== 200) {
    let body = '';
    for await (const d of res) body += String(d);
    let message = body.trim();
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not JSON
    }
    throw new Error(`downloading ${ref.name} failed: runtimed answered HTTP ${res.statusCode}: ${message}`);
  }
  const isDir = ref.type === ArtifactType.Directory;
  const final = path.join(dir, isDir ? `${ref.name}.tar.gz` : ref.name);
  const partial = `${final}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  res.on('data', (d: Buffer) => {
    hash.update(d);
    size += d.length;
  });
  try {
    await pipeline(res, createWriteStream(partial));
    const digest = `sha256:${hash.digest('hex')}`;
    if (size !== ref.size || digest !== ref.digest)
      throw new Error(`downloaded ${ref.name} does not match its ref: ${size} bytes ${digest}, expected ${ref.size} bytes ${ref.digest}`);
    await rename(partial, final);
  } finally {
    await rm(partial, { force: true });
  }
  if (!isDir || !unpack) return final;
  const into = path.join(dir, ref.name);
  await unpackTarGz(final, dir);
  await rm(final);
  return into;
}

/** Unpacks what collect.ts packed: plain files and directories only, never outside `dir`. */
async function unpackTarGz(file: string, dir: string): Promise<void> {
  const { createReadStream } = await import('node:fs');
  const ex = tarExtract();
  ex.on('entry', (header, stream, next) => {
    const target = path.resolve(dir, header.name);
    if (!target.startsWith(dir + path.sep)) {
      ex.destroy(new Error(`archive entry ${header.name} escapes ${dir}`));
      return;
    }
    if (header.type === 'directory') {
      mkdir(target, { recursive: true }).then(() => {
        stream.resume();
        next();
      }, next);
    } else if (header.type === 'file') {
      mkdir(path.dirname(target), { recursive: true })
        .then(() => pipeline(stream, createWriteStream(target, { mode: header.mode ?? 0o644 })))
        .then(() => next(), next);
    } else {
      ex.destroy(new Error(`archive entry ${header.name} is a ${header.type}; refused`));
    }
  });
  await pipeline(createReadStream(file), createGunzip(), ex);
}
