// The artifact API on runtimed's HTTP port (19092), reached by `kubectl krt artifacts` through the
// kubelet's port-forward, so users need no store credentials:
//
//   GET /v1/namespaces/{ns}/runs/{name}/artifacts          → {"run","uid","store","artifacts":[refs]}
//   GET /v1/namespaces/{ns}/runs/{name}/artifacts/{artifact} → the stored bytes
//
// Downloads carry Content-Length and X-Kruntimes-Digest (the ref's sha256) for the client to verify.
// The Run is read from the API each time, and its status.artifactStore snapshot names the store.
// Errors are JSON {"message"}: 400 a name that is not an object name, 404 unknown Run or artifact,
// 403 another namespace, 502 store failed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Run } from '../../lib/api.ts';
import { openStore, type StoreEnvironment } from '../../lib/artifact-store/open-store.ts';
import { ArtifactStoreError, StoreErrorCode } from '../../lib/artifact-store/store.ts';
import { isNotFound, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { errorMessage, type Logger, logger as rootLogger } from '../../lib/log.ts';
import { isObjectName } from '../../lib/object-names.ts';
import { requestUrl } from '../http-server.ts';

export const ARTIFACTS_ROUTE = /^\/v1\/namespaces\/([^/]+)\/runs\/([^/]+)\/artifacts(?:\/([^/]+))?$/;
export const DIGEST_HEADER = 'x-kruntimes-digest';

export interface ArtifactServerOptions {
  client: KubeClient;
  /** runtimed's namespace: its Role reads Runs there only. */
  namespace: string;
  env: StoreEnvironment;
  logger?: Logger;
}

export function artifactRoutes(options: ArtifactServerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const log = options.logger ?? rootLogger.child({ component: 'artifact-server' });
  return (req, res) => {
    const url = requestUrl(req);
    const match = url && ARTIFACTS_ROUTE.exec(url.pathname);
    if (!url || !match) return false;
    serve(options, match.slice(1), req, res).catch((err: unknown) => {
      log.warn('artifact request failed', { url: req.url, error: errorMessage(err) });
      if (!res.headersSent) sendJson(res, 500, { message: errorMessage(err) });
      else res.destroy();
    });
    return true;
  };
}

async function serve(
  options: ArtifactServerOptions,
  parts: Array<string | undefined>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    sendJson(res, 405, { message: `method ${req.method} is not allowed; use GET` });
    return;
  }
  let ns: string, name: string, artifact: string | undefined;
  try {
    [ns, name, artifact] = parts.map((p) => (p === undefined ? undefined : decodeURIComponent(p))) as [string, string, string?];
  } catch {
    sendJson(res, 400, { message: 'malformed path' });
    return;
  }
  if (ns !== options.namespace) {
    sendJson(res, 403, { message: `this runtimed serves namespace ${options.namespace}, not ${ns}` });
    return;
  }
  // The name goes into an API path read with runtimed's credentials: `..` or `/` in it must never
  // reach another resource (docs/security.md, "Refusals at every door").
  if (!isObjectName(name)) {
    sendJson(res, 400, { message: `invalid Run name ${JSON.stringify(name.slice(0, 300))}: not a Kubernetes object name` });
    return;
  }
  let run: Run;
  try {
    run = await options.client.get<Run>(Paths.run(ns, name));
  } catch (err) {
    if (isNotFound(err)) sendJson(res, 404, { message: `run ${name} not found in namespace ${ns}` });
    else sendJson(res, 502, { message: `reading run ${name} failed: ${errorMessage(err)}` });
    return;
  }
  const refs = run.status?.artifactRefs ?? [];
  if (artifact === undefined) {
    sendJson(res, 200, { run: name, uid: run.metadata.uid, store: run.status?.artifactStore, artifacts: refs });
    return;
  }
  const ref = refs.find((r) => r.name === artifact);
  if (!ref || !run.status?.artifactStore) {
    sendJson(res, 404, { message: `run ${name} has no artifact ${artifact}` });
    return;
  }
  let object;
  try {
    object = await openStore(run.status.artifactStore, options.env).get(ref.key);
  } catch (err) {
    const missing = err instanceof ArtifactStoreError && err.code === StoreErrorCode.NotFound;
    sendJson(res, missing ? 404 : 502, {
      message: missing ? `artifact ${artifact} of run ${name} is no longer in the store` : errorMessage(err),
    });
    return;
  }
  res.writeHead(200, {
    'Content-Type': ref.contentType ?? 'application/octet-stream',
    'Content-Length': String(object.size),
    [DIGEST_HEADER]: ref.digest,
    'Cache-Control': 'no-store',
  });
  await pipeline(object.body, res);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}
