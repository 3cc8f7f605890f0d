// runtimed's HTTP server on port 19092: the probes (/healthz, /readyz), /metrics, and the routes
// for Run logs (log-server.ts) and artifacts (artifacts/artifact-server.ts). Reached by the kubelet,
// the platform, `kubectl krt` through port-forward and, over 127.0.0.1, by the workload in the same
// pod: every request target is untrusted. One that is not a path answers 400 here, before a route
// sees it (docs/security.md, "Refusals at every door").
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { errorMessage } from '../lib/log.ts';

/** A route answers the requests it owns and returns true, else returns false. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface RuntimedHttpOptions {
  routes: readonly Route[];
  /** /readyz: whether the pod should take work. */
  ready: () => boolean;
  metrics: () => Promise<{ contentType: string; text: string }>;
}

/** The request target as a URL, or undefined when it is none (`http://[`, a port out of range). */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://runtimed');
  } catch {
    return undefined;
  }
}

export function runtimedHttpHandler(options: RuntimedHttpOptions): RequestListener {
  return (req, res) => {
    if (requestUrl(req) === undefined) {
      sendJson(res, 400, { message: 'malformed request target' });
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/metrics') {
      options.metrics().then(
        ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(errorMessage(err)),
      );
    } else if (req.url === '/readyz') {
      const ready = options.ready();
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'not ready');
    } else if (!options.routes.some((route) => route(req, res))) {
      res.writeHead(404).end();
    }
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}
