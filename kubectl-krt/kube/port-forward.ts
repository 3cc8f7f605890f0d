// Kubernetes port-forwarding as a stream: one WebSocket to pods/{pod}/portforward
// (subprotocol v4.channel.k8s.io) carries one TCP connection to a port of the pod, as
// `kubectl port-forward` does per connection. Channel 0 carries the data, channel 1 the kubelet's
// error text; each channel starts with the port number (2 bytes, little endian).
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { Access } from './access.ts';
import { type Connection, elapsed } from './connection.ts';

export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
const PORT_PREFIX_BYTES = 2;

export const PortForwardFailure = {
  /** RBAC refused pods/portforward. */
  Forbidden: 'forbidden',
  /** The pod does not exist. */
  PodNotFound: 'pod-not-found',
  /** Everything else: pod not running, nothing listening on the port, network. */
  Unreachable: 'unreachable',
} as const;
export type PortForwardFailure = (typeof PortForwardFailure)[keyof typeof PortForwardFailure];

export class PortForwardError extends Error {
  readonly kind: PortForwardFailure;
  readonly access: Access;
  constructor(kind: PortForwardFailure, message: string, access: Access) {
    super(message);
    this.name = 'PortForwardError';
    this.kind = kind;
    this.access = access;
  }
}

/** The permission port-forwarding needs: `create` (what RBAC documents) and, for WebSocket upgrades on apiservers before 1.35, `get`. */
export function portForwardAccess(namespace: string, pod: string): Access {
  return {
    verbs: ['get', 'create'],
    group: '',
    resource: 'pods',
    subresource: 'portforward',
    namespace,
    name: pod,
  };
}

/** A TCP-like stream to `port` of the pod, open when the promise resolves. */
export async function openPortForward(
  conn: Connection,
  namespace: string,
  pod: string,
  port: number,
): Promise<Duplex> {
  const access = portForwardAccess(namespace, pod);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`;
  const url = conn.server.replace(/^http/, 'ws') + path;
  const options: WebSocket.ClientOptions = {};
  await conn.kubeConfig.applyToHTTPSOptions(options);
  const started = performance.now();
  const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], options);
  return new Promise<Duplex>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        conn.trace(`GET ${url} ${res.statusCode} in ${elapsed(started)}`);
        let message = body.trim();
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // not a Status object
        }
        const kind =
          res.statusCode === 403
            ? PortForwardFailure.Forbidden
            : res.statusCode === 404
              ? PortForwardFailure.PodNotFound
              : PortForwardFailure.Unreachable;
        reject(new PortForwardError(kind, message || `HTTP ${res.statusCode}`, access));
        ws.terminate();
      });
    });
    ws.once('error', (err) => {
      conn.trace(`GET ${url} failed in ${elapsed(started)}: ${err.message}`);
      reject(new PortForwardError(PortForwardFailure.Unreachable, err.message, access));
    });
    ws.once('open', () => {
      conn.trace(`GET ${url} 101 (port-forward open) in ${elapsed(started)}`);
      resolve(new PortForwardStream(ws, access));
    });
  });
}

/** The data channel of a port-forward WebSocket as a Duplex, usable as an HTTP client's socket. */
export class PortForwardStream extends Duplex {
  private readonly ws: WebSocket;
  private readonly access: Access;
  private readonly prefixLeft = [PORT_PREFIX_BYTES, PORT_PREFIX_BYTES];
  private errorText = '';

  constructor(ws: WebSocket, access: Access) {
    super();
    this.ws = ws;
    this.access = access;
    ws.on('message', (data: Buffer, isBinary: boolean) =>
      this.onMessage(isBinary ? data : Buffer.from(data)),
    );
    ws.on('close', () => {
      if (this.errorText) this.destroy(this.forwardError());
      else this.push(null);
    });
    ws.on('error', (err) =>
      this.destroy(new PortForwardError(PortForwardFailure.Unreachable, err.message, access)),
    );
  }

  private onMessage(message: Buffer): void {
    if (message.length === 0) return;
    const channel = message[0];
    let payload = message.subarray(1);
    if (channel === DATA_CHANNEL || channel === ERROR_CHANNEL) {
      const skip = Math.min(this.prefixLeft[channel], payload.length);
      this.prefixLeft[channel] -= skip;
      payload = payload.subarray(skip);
    }
    if (payload.length === 0) return;
    if (channel === DATA_CHANNEL) this.push(payload);
    else if (channel === ERROR_CHANNEL) {
      this.errorText += payload.toString('utf8');
      this.destroy(this.forwardError());
    }
  }

  private forwardError(): PortForwardError {
    return new PortForwardError(PortForwardFailure.Unreachable, this.errorText.trim(), this.access);
  }

  override _read(): void {
    // Data is pushed as WebSocket messages arrive.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback(
        new PortForwardError(
          PortForwardFailure.Unreachable,
          'the port-forward connection closed',
          this.access,
        ),
      );
      return;
    }
    this.ws.send(Buffer.concat([Buffer.from([DATA_CHANNEL]), chunk]), { binary: true }, (err) =>
      callback(err),
    );
  }

  override _final(callback: () => void): void {
    // The v4 protocol cannot half-close; the pod's side ends the connection after answering.
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    callback(err);
  }

  // What Node's HTTP client may call on a socket; a tunnel has no such knobs.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
