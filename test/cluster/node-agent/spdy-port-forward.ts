// /portForward over SPDY/3.1 (protocol portforward.k8s.io): what `kubectl port-forward` ends up
// as at the kubelet (the apiserver translates kubectl's WebSocket tunnel into SPDY). Per forwarded
// connection the client opens an error stream and a data stream with the same `requestID` and a
// `port` header; the data stream is piped to the pod's port, failures go to the error stream.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { log } from './agent-log.ts';
import type { ForwardTarget } from './port-forward.ts';
import type { SpdyStream } from './spdy-session.ts';
import { SpdySession } from './spdy-session.ts';

export const SPDY_PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** Like the kubelet's streamCreationTimeout: a lone half of a pair is given up after this. */
const PAIR_TIMEOUT_MS = 30_000;

export function isSpdyUpgrade(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/3.1');
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function handleSpdyPortForward(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: ForwardTarget,
): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (offered.length > 0 && !offered.includes(SPDY_PORT_FORWARD_PROTOCOL)) {
    socket.end(
      `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nunable to upgrade: unable to negotiate protocol: client supports ${offered.join(', ')}, server supports ${SPDY_PORT_FORWARD_PROTOCOL}`,
    );
    return;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${SPDY_PORT_FORWARD_PROTOCOL}\r\n\r\n`,
  );
  const session = new SpdySession(socket, head);
  const pairs = new Map<string, Pair>();

  session.on('stream', (stream) => {
    const type = stream.header('streamtype');
    // Old clients send no requestID: the data stream then follows its error stream (ids differ by 2).
    const requestId = stream.header('requestid') ?? String(type === 'data' ? stream.id - 2 : stream.id);
    if (type !== 'data' && type !== 'error') {
      stream.abort();
      return;
    }
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        pair?.data?.abort();
        pair?.error?.abort();
      }, PAIR_TIMEOUT_MS);
      pair = { timer };
      pairs.set(requestId, pair);
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      forward(session, pair.data, pair.error, target);
    }
  });
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
}

function forward(session: SpdySession, data: SpdyStream, error: SpdyStream, target: ForwardTarget): void {
  const port = Number(data.header('port'));
  const fail = (message: string) => {
    log('portforward.error', { pod: target.podName, port, error: message });
    error.write(
      Buffer.from(`error forwarding port ${port} to pod ${target.podName}, uid ${target.podUid}: ${message}`),
    );
    error.end();
    data.end();
  };
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`invalid port ${data.header('port')}`);
    return;
  }
  const conn = net.connect({ host: target.host, port });
  conn.on('data', (d: Buffer) => {
    if (!data.write(d)) {
      conn.pause();
      session.once('drain', () => conn.resume());
    }
  });
  conn.on('end', () => {
    data.end();
    error.end();
  });
  conn.on('error', (err) => fail(err.message));
  conn.on('close', () => {
    data.end();
    error.end();
  });
  data.on('data', (d) => conn.write(d));
  data.on('end', () => conn.end());
  data.on('reset', () => conn.destroy());
}
