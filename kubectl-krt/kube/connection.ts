// One connection to the cluster per invocation: the kubeconfig (as kubectl reads it), the lean
// KubeClient for API calls, -v request tracing, and errors turned into sentences a user can act on.
import { KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../../lib/api.ts';
import { KubeApiError, KubeClient, type RequestOptions } from '../../lib/kube-client.ts';
import { CliError } from '../errors.ts';
import { type Access, accessForRequest, forbiddenSentence } from './access.ts';

/** The apiserver answered 403; `access` is what the request needed. */
export class ForbiddenError extends Error {
  readonly access: Access;
  constructor(access: Access, serverMessage: string) {
    super(serverMessage);
    this.name = 'ForbiddenError';
    this.access = access;
  }
}

export interface Connection {
  readonly kubeConfig: KubeConfig;
  readonly client: KubeClient;
  readonly server: string;
  /** Logs one line to stderr with -v. */
  trace(line: string): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  /** Where -v request logs go; undefined without -v. */
  trace?: (line: string) => void;
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  const kubeConfig = loadKubeConfig(options);
  const client = await KubeClient.fromKubeConfig(kubeConfig, { connections: 4 });
  const trace = options.trace ?? (() => {});
  const send = client.request.bind(client);
  // Every API call goes through request(); wrapping it here gives -v tracing and error
  // translation to all commands without touching the shared client.
  client.request = (async (method: string, path: string, requestOptions: RequestOptions = {}) => {
    const started = performance.now();
    try {
      const result = await send(method, path, requestOptions);
      trace(
        `${method} ${client.server}${path}${queryString(requestOptions.query)} 200 in ${elapsed(started)}`,
      );
      return result;
    } catch (err) {
      const code = err instanceof KubeApiError ? err.code : 'failed';
      trace(
        `${method} ${client.server}${path}${queryString(requestOptions.query)} ${code} in ${elapsed(started)}`,
      );
      throw translateError(err, client.server, accessForRequest(method, path, requestOptions.query), path);
    }
  }) as KubeClient['request'];
  return {
    kubeConfig,
    client,
    server: client.server,
    trace,
    close: () => client.close(),
  };
}

/** The kubeconfig as kubectl reads it: --kubeconfig, else $KUBECONFIG, ~/.kube/config, in-cluster. */
export function loadKubeConfig(options: Pick<ConnectOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot read the kubeconfig (${message}): check --kubeconfig or $KUBECONFIG`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw new CliError(
        `the kubeconfig has no context named "${options.context}": list them with kubectl config get-contexts`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError(
      'the kubeconfig names no cluster for the current context: pick a context with --context or fix $KUBECONFIG',
    );
  }
  return kc;
}

/** The namespace of the kubeconfig's current context, as kubectl defaults -n. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function elapsed(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/** A 403 becomes a ForbiddenError (explained later with an access review); network errors a sentence. */
export function translateError(err: unknown, server: string, access: Access | undefined, path = ''): unknown {
  if (err instanceof KubeApiError && err.code === 403 && access)
    return new ForbiddenError(access, err.message);
  if (err instanceof KubeApiError && err.code === 404 && isMissingKruntimesApi(err, path)) {
    return new CliError(
      `kruntimes is not installed in this cluster (the API server has no ${access?.resource ?? 'runs'}.${GROUP}): install it first (kubectl krt install)`,
    );
  }
  if (err instanceof KubeApiError && err.code === 401) {
    return new CliError(
      `the API server at ${server} did not accept your credentials (401 Unauthorized): log in again or fix the user of your kubeconfig context`,
    );
  }
  const code = errorCode(err);
  if (code && NETWORK_CODES.has(code)) {
    return new CliError(
      `cannot reach the Kubernetes API server at ${server} (${code}): check your kubeconfig context (kubectl config current-context) and that the cluster is running`,
    );
  }
  return err;
}

/** A 404 for a kruntimes path that names no object: the API group itself is missing (no CRDs). */
function isMissingKruntimesApi(err: KubeApiError, path: string): boolean {
  const details = err.details as { name?: string } | undefined;
  return path.startsWith(`/apis/${GROUP}/`) && !details?.name;
}

interface AccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/**
 * The sentence for a ForbiddenError: a SelfSubjectAccessReview per verb confirms which ones are
 * denied, so the message names exactly the missing permission.
 */
export async function explainForbidden(
  conn: Connection,
  err: ForbiddenError,
  purpose?: string,
): Promise<string> {
  const denied: string[] = [];
  let checked = true;
  for (const verb of err.access.verbs) {
    try {
      const review = await conn.client.create<AccessReview>(
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb,
              group: err.access.group,
              resource: err.access.resource,
              subresource: err.access.subresource,
              namespace: err.access.namespace,
              name: err.access.name,
            },
          },
        },
      );
      if (!review.status?.allowed) denied.push(verb);
    } catch {
      checked = false;
    }
  }
  if (checked && denied.length === 0) {
    // RBAC allows it, so something else refused (an admission webhook, a policy): say what the server said.
    return `the API server refused the request although RBAC allows it: ${err.message}`;
  }
  return forbiddenSentence(err.access, denied, purpose);
}
