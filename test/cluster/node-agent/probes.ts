// Running one probe (httpGet, tcpSocket, exec, grpc) against a container.
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeTarget {
  podIP: string;
  container: V1Container;
  /** Pid of the container's main process: exec probes join its namespaces. */
  pid: number;
  env: Record<string, string>;
}

/** Resolves a port given by number or by the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** true = success. Never throws. */
export async function runProbe(probe: V1Probe, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  try {
    if (probe.httpGet) return await httpProbe(probe.httpGet, t, timeoutMs);
    if (probe.tcpSocket)
      return await tcpProbe(
        probe.tcpSocket.host || t.podIP,
        resolvePort(probe.tcpSocket.port, t.container),
        timeoutMs,
      );
    if (probe.exec) return await execProbe(probe.exec.command ?? [], t, timeoutMs);
    if (probe.grpc) return await grpcProbe(t.podIP, probe.grpc.port, probe.grpc.service ?? '', timeoutMs);
  } catch {
    return false;
  }
  // A probe without a handler is a validation error upstream; treat it as passing like an absent probe.
  return true;
}

function httpProbe(
  get: NonNullable<V1Probe['httpGet']>,
  t: ProbeTarget,
  timeoutMs: number,
): Promise<boolean> {
  const port = resolvePort(get.port, t.container);
  if (port === undefined) return Promise.resolve(false);
  const secure = get.scheme === 'HTTPS';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.34', Accept: '*/*' };
  for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const opts = {
      host: get.host || t.podIP,
      port,
      path: get.path || '/',
      method: 'GET',
      headers,
      timeout: timeoutMs,
      agent: false as const,
      rejectUnauthorized: false,
    };
    const req = (secure ? https : http).request(opts, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number | undefined, timeoutMs: number): Promise<boolean> {
  if (port === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Runs the command inside the container's network, mount and UTS namespaces, with its env. */
function execProbe(command: string[], t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (command.length === 0 || t.pid <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile(
      'nsenter',
      [`--target=${t.pid}`, '--net', '--mount', '--uts', '--wd=/', '--', ...command],
      { env: t.env, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err) => resolve(!err),
    );
  });
}

/** Protobuf varint, for the one length prefix of a HealthCheckRequest. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** grpc.health.v1.Health/Check; the two tiny messages are encoded by hand. */
async function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<boolean> {
  // Loaded on first use: most pods have no gRPC probe and the agent should start fast.
  const grpc = await import('@grpc/grpc-js');
  const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
  // HealthCheckRequest { string service = 1; }
  const encode = (s: string): Buffer => {
    const b = Buffer.from(s);
    return b.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(b.length)]), b]);
  };
  // HealthCheckResponse { ServingStatus status = 1; } with SERVING = 1.
  const decode = (b: Buffer): number => (b.length >= 2 && b[0] === 0x08 ? b[1] : 0);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      encode,
      decode,
      service,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => {
        client.close();
        resolve(!err && status === 1);
      },
    );
  });
}
