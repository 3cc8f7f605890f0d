// /portForward/{namespace}/{pod}[/{uid}] over WebSocket, the kubelet's v4 channel protocol
// (what @kubernetes/client-node's PortForward speaks; the apiserver passes it through):
// per requested port i, channel 2i carries data and 2i+1 errors; every message is one channel
// byte plus payload; the server first sends the port (uint16 little-endian) on both channels.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { log } from './agent-log.ts';

export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'] as const;
const BASE64_PROTOCOL = 'v4.base64.channel.k8s.io';

/** Pause reading from the pod while this much is queued towards the client. */
const HIGH_WATER = 4 * 1024 * 1024;

export interface ForwardTarget {
  /** For error messages, like the kubelet's "error forwarding port …". */
  podName: string;
  podUid: string;
  host: string;
}

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  // Pick the first of ours the client offers; client-node offers v5 first, which is exec-only.
  handleProtocols: (offered) => PORT_FORWARD_PROTOCOLS.find((p) => offered.has(p)) ?? false,
});

/** `port=8080&port=9090` or `port=8080,9090`. */
export function parsePorts(params: URLSearchParams): number[] {
  const ports = params
    .getAll('port')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
    .map(Number);
  if (ports.length === 0) throw new Error('query parameter "port" is required');
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`invalid port ${p}`);
  return ports;
}

export function isWebSocketUpgrade(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

export function handleWebSocketPortForward(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ports: number[],
  target: ForwardTarget,
): void {
  wss.handleUpgrade(req, socket, head, (ws) => serve(ws, ports, target));
}

function serve(ws: WebSocket, ports: number[], target: ForwardTarget): void {
  const base64 = ws.protocol === BASE64_PROTOCOL;
  const send = (channel: number, data: Buffer, cb?: () => void) => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String.fromCharCode(48 + channel) + data.toString('base64'), cb);
    else ws.send(Buffer.concat([Buffer.from([channel]), data]), cb);
  };
  const conns: net.Socket[] = [];
  ports.forEach((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(2 * i, portBytes);
    send(2 * i + 1, portBytes);
    const conn = net.connect({ host: target.host, port });
    conns.push(conn);
    conn.on('data', (d: Buffer) => {
      send(2 * i, d, () => {
        if (conn.isPaused() && ws.bufferedAmount < HIGH_WATER / 2) conn.resume();
      });
      if (ws.bufferedAmount > HIGH_WATER) conn.pause();
    });
    conn.on('error', (err) => {
      const msg = `error forwarding port ${port} to pod ${target.podName}, uid ${target.podUid}: ${err.message}`;
      log('portforward.error', { pod: target.podName, port, error: err.message });
      send(2 * i + 1, Buffer.from(msg));
    });
    conn.on('close', () => {
      if (conns.every((c) => c.destroyed)) ws.close(1000);
    });
  });
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    let data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    let channel: number;
    if (!isBinary || base64) {
      const text = data.toString('latin1');
      channel = text.charCodeAt(0) - 48;
      data = Buffer.from(text.slice(1), 'base64');
    } else {
      channel = data[0];
      data = data.subarray(1);
    }
    const conn = channel % 2 === 0 ? conns[channel / 2] : undefined;
    if (conn && data.length > 0 && !conn.destroyed) conn.write(data);
  });
  ws.on('close', () => {
    for (const c of conns) c.destroy();
  });
  ws.on('error', () => {
    for (const c of conns) c.destroy();
  });
}
