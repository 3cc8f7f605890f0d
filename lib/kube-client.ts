// A lean Kubernetes API client for the hot paths (status patches, claims, creates) and the
// informers' lists and watches. client-node's generated APIs build a new TLS agent for every
// request; this client keeps one keep-alive agent per apiserver, and a second one for watches,
// which each hold a connection for minutes. It is Node's own http(s) client: undici, which it used
// before, costs every process ≈ 10 MB of RSS at start (its 755 KB and its HTTP parser compiled
// from WebAssembly) for no measurable gain at a few requests per Run (docs/performance.md). Where
// the access comes from (a Pod's service account or a kubeconfig) is lib/cluster-access.ts's.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, Plural } from './api.ts';
import { type ClusterAccess, kubeConfigAccess } from './cluster-access.ts';

export const ContentType = {
  Json: 'application/json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/** An error answered by the apiserver, with its HTTP code and Status reason. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: unknown;
  constructor(options: { code: number; reason: string; message: string; details?: unknown }) {
    super(options.message);
    this.name = 'KubeApiError';
    this.code = options.code;
    this.reason = options.reason;
    this.details = options.details;
  }
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409;
}
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists';
}
/** A watch or list from a resourceVersion the apiserver no longer has: list again. */
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 410;
}

/** The error an apiserver's Status (a failed response's body, or a watch's ERROR event) stands for. */
export function statusError(
  code: number,
  status: { reason?: string; message?: string; details?: unknown; code?: number },
  fallback: string,
): KubeApiError {
  return new KubeApiError({
    code: status.code ?? code,
    reason: status.reason ?? String(status.code ?? code),
    message: status.message || fallback,
    details: status.details,
  });
}

function parseStatus(text: string): { reason?: string; message?: string; details?: unknown } {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: ContentType;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

/** One event of a watch (BOOKMARK carries only metadata.resourceVersion). */
export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** A response read to its end. */
interface Answer {
  statusCode: number;
  text: string;
}

export class KubeClient {
  readonly server: string;
  private readonly origin: URL;
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  private headers: Record<string, string>;
  private readonly refreshAuth: () => Promise<Record<string, string>>;
  private refreshTimer?: NodeJS.Timeout;

  private constructor(options: {
    server: string;
    agent: http.Agent;
    watchAgent: http.Agent;
    headers: Record<string, string>;
    refreshAuth: () => Promise<Record<string, string>>;
  }) {
    this.server = options.server.replace(/\/$/, '');
    this.origin = new URL(this.server);
    this.agent = options.agent;
    this.watchAgent = options.watchAgent;
    this.headers = options.headers;
    this.refreshAuth = options.refreshAuth;
  }

  /** `userAgent` also names the field manager of every write in managedFields. */
  static async create(
    access: ClusterAccess,
    options: { connections?: number; userAgent?: string } = {},
  ): Promise<KubeClient> {
    const authHeaders = async () => ({
      ...(await access.authHeaders()),
      'user-agent': options.userAgent ?? 'kruntimes',
    });
    const agent = (o: https.AgentOptions) => (access.server.startsWith('https:') ? new https.Agent(o) : new http.Agent(o));
    const client = new KubeClient({
      server: access.server,
      // An idle connection is closed after 60 s (the apiserver keeps one for 90).
      agent: agent({ ...access.tls, keepAlive: true, maxSockets: options.connections ?? 8, timeout: 60_000 }),
      watchAgent: agent({ ...access.tls }),
      headers: await authHeaders(),
      refreshAuth: authHeaders,
    });
    // Bound service-account tokens rotate on disk; re-read them well before they expire.
    client.refreshTimer = setInterval(() => {
      client.refreshAuth().then(
        (h) => {
          client.headers = h;
        },
        () => {},
      );
    }, 60_000);
    client.refreshTimer.unref();
    return client;
  }

  /** A client for a loaded kubeconfig's current context. */
  static async fromKubeConfig(
    kubeConfig: KubeConfig,
    options: { connections?: number; userAgent?: string } = {},
  ): Promise<KubeClient> {
    return KubeClient.create(await kubeConfigAccess(kubeConfig), options);
  }

  async close(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    let url = this.server + path;
    if (options.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(options.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) url += (url.includes('?') ? '&' : '?') + s;
    }
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? ContentType.Json;
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const res = await this.send(this.agent, method, url.slice(this.server.length), headers, body, options.signal);
    const { statusCode, text } = await readAnswer(res);
    if (statusCode >= 400) {
      throw statusError(statusCode, parseStatus(text), `${method} ${path}: HTTP ${statusCode}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Sends one request; resolves with the response once its headers are in. */
  private send(
    agent: http.Agent,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    idleTimeoutMs?: number,
  ): Promise<http.IncomingMessage> {
    const transport = this.origin.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          agent,
          protocol: this.origin.protocol,
          hostname: this.origin.hostname.replace(/^\[|\]$/g, ''),
          port: this.origin.port,
          path,
          method,
          headers,
          signal,
        },
        resolve,
      );
      req.on('error', reject);
      if (idleTimeoutMs) {
        req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`${method} ${path}: no data for ${idleTimeoutMs / 1000} s`)));
      }
      req.end(body);
    });
  }

  /**
   * Watches a collection (`?watch=1` with the query's resourceVersion and selectors), calling
   * onEvent for each event in order. Resolves when the apiserver ends the watch (its
   * timeoutSeconds) and rejects when it fails: a KubeApiError for a refused watch or an ERROR
   * event (410 when the resourceVersion is too old), an abort through the signal, or no byte for
   * `idleTimeoutMs`.
   */
  async watch<T = unknown>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal?: AbortSignal; idleTimeoutMs?: number } = {},
  ): Promise<void> {
    const q = new URLSearchParams({ watch: '1' });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const headers = { ...this.headers, accept: 'application/json' };
    const res = await this.send(this.watchAgent, 'GET', `${path}?${q}`, headers, undefined, options.signal, options.idleTimeoutMs);
    if (res.statusCode !== 200) {
      const { statusCode, text } = await readAnswer(res);
      throw statusError(statusCode, parseStatus(text), `watch ${path}: HTTP ${statusCode}`);
    }
    res.setEncoding('utf8');
    let pending = '';
    for await (const chunk of res as AsyncIterable<string>) {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { type: string; object: never };
        if (event.type === 'ERROR') throw statusError(500, event.object, `watch ${path}: ERROR event`);
        onEvent(event as WatchEvent<T>);
      }
    }
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }
  create<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, { body });
  }
  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: ContentType.MergePatch });
  }
  strategicPatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: ContentType.StrategicMergePatch });
  }
  /** Server-side apply: idempotent create-or-update owned by `fieldManager`. */
  apply<T>(path: string, object: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: object,
      contentType: ContentType.Apply,
      query: { fieldManager, force: true },
    });
  }
}

/** Reads a response's body to its end. */
async function readAnswer(res: http.IncomingMessage): Promise<Answer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') };
}

export { Paths } from './api-paths.ts';

/** The kinds written by apiVersion/kind (install, upgrade, the Runtime controller): plural and scope. */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { plural: 'networkpolicies', namespaced: true },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': { plural: 'validatingadmissionpolicies', namespaced: false },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': {
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
  'monitoring.coreos.com/v1/ServiceMonitor': { plural: 'servicemonitors', namespaced: true },
  [`${API_VERSION}/Runtime`]: { plural: Plural.Runtime, namespaced: true },
};

function resourceOf(apiVersion: string, kind: string) {
  const t = RESOURCES[`${apiVersion}/${kind}`];
  if (!t) throw new Error(`no API path known for ${apiVersion} ${kind}`);
  return { ...t, base: apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}` };
}

/** The collection path of a kind: in one namespace, or across all of them (and cluster-scoped). */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const t = resourceOf(apiVersion, kind);
  return `${t.base}${t.namespaced && namespace ? `/namespaces/${namespace}` : ''}/${t.plural}`;
}

/** What names an object's path. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string };
}

/** The path of one object, from its apiVersion, kind, namespace and name. */
export function objectPath(o: ObjectRef): string {
  const t = resourceOf(o.apiVersion, o.kind);
  return `${t.base}${t.namespaced ? `/namespaces/${o.metadata.namespace}` : ''}/${t.plural}/${o.metadata.name}`;
}

/**
 * The fresher of two copies of the same object. resourceVersions are opaque by contract, but on an
 * etcd-backed apiserver they are revisions; when either is not a number the first copy wins.
 */
export function newerOf<T extends { metadata: { uid?: string; resourceVersion?: string } }>(
  a: T,
  b: T | undefined,
): T {
  if (!b || b.metadata.uid !== a.metadata.uid) return a;
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isFinite(ra) && Number.isFinite(rb) && rb > ra ? b : a;
}
