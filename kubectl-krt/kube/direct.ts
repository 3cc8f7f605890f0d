// The plugin's quick path for `run` and `run --wait`: a create and one watch over one keep-alive TLS
// connection with node:https, for a kubeconfig that needs nothing more than a server, a CA, a client
// certificate or a static token. Loading the Kubernetes client (client-node, undici) is most of the
// plugin's start-up (≈ 150–230 ms CPU against ≈ 30 for node:https); this path skips it.
//
// It only ever takes the happy path. Whatever else happens (a kubeconfig with exec, auth-provider,
// token-file, proxy or several files; an answer other than 2xx; a watch that ends, expires or sees the
// Run deleted) goes back to the full client, which then says what it always says.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { load } from 'js-yaml';
import { CliError } from '../errors.ts';

/** Where and how to connect, read from a simple kubeconfig. */
export interface DirectTarget {
  server: string;
  namespace: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** Authorization, when the user has a static token. */
  headers: Record<string, string>;
}

/** The kubeconfig keys the quick path understands; any other key sends the command to the full client. */
const CLUSTER_KEYS: ReadonlySet<string> = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const USER_KEYS: ReadonlySet<string> = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
]);
const CONTEXT_KEYS: ReadonlySet<string> = new Set(['cluster', 'user', 'namespace', 'extensions']);

type Entry = Record<string, unknown>;

/** The one kubeconfig file client-node's loadFromDefault would read alone, or undefined. */
export function kubeconfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (explicit) return explicit;
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    return files.length === 1 ? files[0] : undefined;
  }
  // client-node looks further on Windows (USERPROFILE, HOMEDRIVE, WSL): leave that to it.
  return process.platform !== 'win32' && env.HOME ? path.join(env.HOME, '.kube', 'config') : undefined;
}

function named(list: unknown, name: unknown, key: string): Entry | undefined {
  if (!Array.isArray(list) || typeof name !== 'string') return undefined;
  const found = (list as Entry[]).find((e) => e?.name === name)?.[key];
  return found && typeof found === 'object' ? (found as Entry) : undefined;
}

function only(entry: Entry, keys: ReadonlySet<string>): boolean {
  return Object.keys(entry).every((k) => keys.has(k));
}

/** A file (relative to the kubeconfig's folder) wins over inline base64 data, as in client-node. */
function fileOrData(dir: string, file: unknown, data: unknown): Buffer | undefined {
  if (typeof file === 'string' && file) return readFileSync(path.resolve(dir, file));
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  return undefined;
}

/**
 * The target of the kubeconfig's (or --context's) context when the quick path can serve it, else
 * undefined (including any kubeconfig it cannot read: the full client reports that properly).
 */
export function directTarget(
  options: { kubeconfig?: string; context?: string },
  env: NodeJS.ProcessEnv,
): DirectTarget | undefined {
  const file = kubeconfigFile(options.kubeconfig, env);
  if (!file) return undefined;
  try {
    // client-node's own YAML reader: the quick path reads a kubeconfig exactly as the full client does.
    const config = load(readFileSync(file, 'utf8')) as Entry;
    const contextName = options.context ?? config['current-context'];
    const context = named(config.contexts, contextName, 'context');
    if (!context || !only(context, CONTEXT_KEYS)) return undefined;
    const cluster = named(config.clusters, context.cluster, 'cluster');
    const user = context.user === undefined ? {} : named(config.users, context.user, 'user');
    if (!cluster || !user || !only(cluster, CLUSTER_KEYS) || !only(user, USER_KEYS)) return undefined;
    const server = cluster.server;
    if (typeof server !== 'string' || !server.startsWith('https://')) return undefined;
    const dir = path.dirname(file);
    const tls: DirectTarget['tls'] = {
      ca: fileOrData(dir, cluster['certificate-authority'], cluster['certificate-authority-data']),
      cert: fileOrData(dir, user['client-certificate'], user['client-certificate-data']),
      key: fileOrData(dir, user['client-key'], user['client-key-data']),
    };
    if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
    if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
    const headers: Record<string, string> = typeof user.token === 'string' && user.token ? { authorization: `Bearer ${user.token}` } : {};
    const namespace = typeof context.namespace === 'string' && context.namespace ? context.namespace : 'default';
    return { server: server.replace(/\/$/, ''), namespace, tls, headers };
  } catch {
    return undefined;
  }
}

/** The full client's answer is wanted: the server refused, or the watch went somewhere unusual. */
export class HandOver extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'HandOver';
  }
}

interface WatchEvent<T> {
  type: string;
  object: T & { metadata?: { resourceVersion?: string } };
}

export class DirectClient {
  private readonly agent: https.Agent;
  private readonly target: DirectTarget;
  private readonly trace: (line: string) => void;

  constructor(target: DirectTarget, trace: (line: string) => void = () => {}) {
    this.target = target;
    this.trace = trace;
    // One connection: the watch reuses the create's (one TLS handshake).
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...target.tls });
  }

  private request(method: string, path: string, body?: unknown, signal?: AbortSignal) {
    const headers: Record<string, string> = {
      ...this.target.headers,
      accept: 'application/json',
      // The same name as the full client's: it is the field manager of the create.
      'user-agent': 'kruntimes',
    };
    const data = body === undefined ? undefined : JSON.stringify(body);
    if (data !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    let connected = false;
    return new Promise<{ status: number; response: IncomingMessage }>((resolve, reject) => {
      const req = https.request(`${this.target.server}${path}`, { method, headers, agent: this.agent, signal }, (response) => {
        this.trace(`${method} ${this.target.server}${path} ${response.statusCode} in ${Math.round(performance.now() - started)} ms`);
        resolve({ status: response.statusCode ?? 0, response });
      });
      req.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('secureConnect', () => (connected = true));
      });
      req.on('error', (err) => {
        // A watch this client stopped (the awaited version came) is no failure to log.
        if (!signal?.aborted) this.trace(`${method} ${this.target.server}${path} failed in ${Math.round(performance.now() - started)} ms`);
        // Nothing reached the server before the connection was up: the full client can try it all again.
        reject(connected ? err : new HandOver(`could not connect: ${err.message}`));
      });
      req.end(data);
    });
  }

  /** Creates the object; HandOver if the server refused (4xx: nothing was created). */
  async create<T>(path: string, body: unknown): Promise<T> {
    let answer;
    try {
      answer = await this.request('POST', path, body);
    } catch (err) {
      if (err instanceof HandOver) throw err;
      throw new CliError(
        `lost the connection to the API server at ${this.target.server} while creating the Run (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): it may have been created; look with kubectl krt list`,
      );
    }
    const text = await readAll(answer.response);
    if (answer.status >= 200 && answer.status < 300) return JSON.parse(text) as T;
    if (answer.status < 500) throw new HandOver(`HTTP ${answer.status}`);
    let status: { reason?: string; message?: string } = {};
    try {
      status = JSON.parse(text);
    } catch {
      status = { message: text.trim() };
    }
    throw new CliError(`the API server answered ${answer.status} ${status.reason ?? answer.status}: ${status.message ?? ''}`);
  }

  /**
   * Watches one object from `current` until onObject returns true (resolves with that version) or
   * the signal aborts (resolves with the last version seen). Anything else throws HandOver carrying
   * the last version seen, for the full client to go on from.
   */
  async watch<T extends { metadata: { name?: string; resourceVersion?: string } }>(
    listPath: string,
    current: T,
    onObject: (object: T) => boolean,
    signal: AbortSignal,
  ): Promise<T> {
    let last = current;
    const query = new URLSearchParams({
      fieldSelector: `metadata.name=${current.metadata.name}`,
      resourceVersion: current.metadata.resourceVersion ?? '0',
      watch: 'true',
      allowWatchBookmarks: 'true',
    });
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { status, response } = await this.request('GET', `${listPath}?${query}`, undefined, stop.signal);
      if (status !== 200) {
        response.resume();
        throw new WatchHandOver(`HTTP ${status}`, last);
      }
      for await (const line of createInterface({ input: response, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'ERROR') throw new WatchHandOver(event.type, last);
        // A deleted object may still be what the caller waited for (a TTL of 0s deletes it on completion).
        if (onObject(event.object)) return event.object;
        // Else the full client, watching from the version before, sees the deletion and says so.
        if (event.type === 'DELETED') throw new WatchHandOver(event.type, last);
        last = event.object;
      }
      throw new WatchHandOver('the watch ended', last);
    } catch (err) {
      if (signal.aborted) return last;
      if (err instanceof WatchHandOver) throw err;
      throw new WatchHandOver((err as Error).message, last);
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The watch needs the full client; `last` is the newest version seen, to go on from. */
export class WatchHandOver<T = unknown> extends HandOver {
  readonly last: T;
  constructor(reason: string, last: T) {
    super(reason);
    this.name = 'WatchHandOver';
    this.last = last;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
