// GET requests whose answer is a stream (watches, pod logs): the lean KubeClient reads whole JSON
// bodies, so these go through undici's fetch with the kubeconfig's credentials, as client-node's
// own Watch and Log do, but keep the apiserver's Status on errors.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { KubeApiError } from '../../lib/kube-client.ts';
import { accessForRequest } from './access.ts';
import { type Connection, elapsed, translateError } from './connection.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export async function streamGet(
  conn: Connection,
  path: string,
  query: Query,
  signal?: AbortSignal,
): Promise<Readable> {
  const url = new URL(conn.server + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await conn.kubeConfig.applySecurityAuthentication(ctx);
  const started = performance.now();
  let response: Awaited<ReturnType<typeof fetch>>;
  try {
    response = await fetch(url, {
      method: 'GET',
      headers: ctx.getHeaders(),
      dispatcher: ctx.getDispatcher(),
      signal,
    });
  } catch (err) {
    conn.trace(`GET ${url} failed in ${elapsed(started)}`);
    throw translateError(err, conn.server, undefined);
  }
  conn.trace(`GET ${url} ${response.status} in ${elapsed(started)}`);
  if (response.status !== 200) {
    const text = await response.text();
    let status: { reason?: string; message?: string; details?: unknown } = {};
    try {
      status = JSON.parse(text);
    } catch {
      status = { message: text.trim() };
    }
    const err = new KubeApiError({
      code: response.status,
      reason: status.reason ?? String(response.status),
      message: status.message || `GET ${path}: HTTP ${response.status}`,
      details: status.details,
    });
    throw translateError(err, conn.server, accessForRequest('GET', path, query), path);
  }
  if (!response.body) return Readable.from([]);
  return Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
}
