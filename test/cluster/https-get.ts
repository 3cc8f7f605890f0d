// A small GET over HTTP(S) with the admin client certificate: readiness checks of `cluster up`
// stay fast because they need neither kubectl nor the full Kubernetes client.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { ClusterPaths } from './config.ts';

export interface GetResult {
  status: number;
  body: string;
}

export interface ClientTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function adminTls(paths: ClusterPaths): ClientTls {
  return {
    ca: fs.readFileSync(paths.ca.cert),
    cert: fs.readFileSync(paths.admin.cert),
    key: fs.readFileSync(paths.admin.key),
  };
}

/**
 * GETs the URL; never throws: connection errors and timeouts give status 0.
 * `verify: false` accepts self-signed serving certificates (controller-manager, scheduler).
 */
export function get(url: string, tls?: ClientTls, verify = true, timeoutMs = 2000): Promise<GetResult> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', () => resolve({ status: 0, body: '' }));
    };
    const req =
      u.protocol === 'https:'
        ? https.get(
            u,
            { ca: tls?.ca, cert: tls?.cert, key: tls?.key, rejectUnauthorized: verify, agent: false },
            onResponse,
          )
        : http.get(u, { agent: false }, onResponse);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
  });
}
