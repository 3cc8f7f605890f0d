// Bad input at runtimed's HTTP door (port 19092, which the workload also reaches on 127.0.0.1):
// fast-check throws random request targets, Run UIDs, Run and artifact names, query parameters,
// methods and headers at the real handler (http-server.ts with the log and artifact routes, a
// LogStore on a temp dir, a filesystem artifact store, a fake API client). Properties: runtimed
// never crashes or answers 5xx, a refusal is a 4xx with a JSON message, nothing outside the log
// directory and the store is opened, a canary file beside them never appears in an answer, and the
// API is only ever asked for a Run of runtimed's namespace by a valid name.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Run } from '../lib/api.ts';
import { storeEnvironment, StoreEnv } from '../lib/artifact-store/open-store.ts';
import { KubeApiError, type KubeClient } from '../lib/kube-client.ts';
import { createLogger } from '../lib/log.ts';
import { outside, spyOnFs } from '../test/support/fs-spy.ts';
import { artifactRoutes } from './artifacts/artifact-server.ts';
import { runtimedHttpHandler } from './http-server.ts';
import { logRoutes } from './log-server.ts';
import { LogStore } from './log-store.ts';

const quiet = createLogger({}, () => {});
const NS = 'team';
const RUN = 'good-run';
const UID = '0b8c6c1e-5a7e-4f0e-9d3a-3c1f2a4b5c6d';
const CANARY = 'CANARY-7f3e-not-for-your-eyes';
const NUM_RUNS = 1000;

interface Answer {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

/** A chunked body's data. */
function unchunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol === -1) return out;
    const size = parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** One request as bytes on a socket: the target and headers exactly as generated, no client in between. */
function rawRequest(port: number, method: string, target: string, headers: Array<[string, string]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const head = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.on('connect', () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: runtimed\r\n${head}Connection: close\r\n\r\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${method} ${JSON.stringify(target)}`)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!match) return reject(new Error(`not an HTTP answer to ${method} ${JSON.stringify(target)}: ${JSON.stringify(text.slice(0, 200))}`));
      const end = text.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, end).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const raw = text.slice(end + 4);
      resolve({ status: Number(match[1]), headers, body: headers['transfer-encoding'] === 'chunked' ? unchunk(raw) : raw });
    });
  });
}

// Characters that break paths and parsers: separators, dots, percent, query and fragment marks,
// brackets and colons (URL authority), backslash, control characters, non-ASCII.
const nasty = fc.constantFrom('/', '.', '..', '%', '%2F', '%2e%2e', '%00', '%zz', '?', '#', '[', ']', ':', '@', '\\', '\t', '\u0000', 'é', '💥', '&', '=', '+', ';');
const word = fc.stringMatching(/^[a-zA-Z0-9._~-]{0,12}$/);
const segment = fc.oneof(
  word,
  fc.array(fc.oneof(word, nasty), { maxLength: 8 }).map((parts) => parts.join('')),
  fc.constantFrom(UID, RUN, NS, '..', '.', '', '%2e%2e%2f%2e%2e%2fsecret', '..%2F..%2Fapi%2Fv1%2Fnamespaces%2Fteam%2Fpods%2Fp'),
  fc.integer({ min: 254, max: 20_000 }).map((n) => 'a'.repeat(n)),
);
const queryValue = fc.oneof(
  fc.constantFrom('stdout', 'stderr', 'all', 'true', 'false', '0', '5', '-1', '1e9', '99999999999999999', 'raw', 'ndjson', '2025-01-02T03:04:05Z', '2025-13-45T99:99:99Z', ''),
  segment,
);
const query = fc
  .array(fc.tuple(fc.constantFrom('stream', 'follow', 'tailLines', 'sinceTime', 'format', 'x', ''), queryValue), { maxLength: 6 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
const target = fc.oneof(
  fc.tuple(segment, query).map(([uid, q]) => `/v1/runs/${uid}/log${q}`),
  fc.tuple(fc.oneof(fc.constant(NS), segment), fc.oneof(fc.constant(RUN), segment), fc.option(fc.oneof(fc.constantFrom('a.txt', 'evil', 'b'), segment)), query).map(
    ([ns, name, artifact, q]) => `/v1/namespaces/${ns}/runs/${name}/artifacts${artifact === null ? '' : `/${artifact}`}${q}`,
  ),
  fc.array(fc.oneof(segment, nasty), { maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
  fc.constantFrom('*', '//x', 'http://[', 'http://a:99999/', 'http://%zz/', 'http://runtimed/v1/runs/x/log', '/healthz', '/readyz', '/metrics', '/v1/runs//log'),
).map((t) => t.replace(/[\r\n ]/g, '_')); // one request line: CR, LF and space would end it
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND');
const headers = fc.array(
  fc.tuple(
    fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.constantFrom('Range', 'Accept', 'Accept-Encoding', 'If-None-Match', 'Content-Length', 'Transfer-Encoding', 'Expect')),
    fc.oneof(fc.stringMatching(/^[\x20-\x7e]{0,40}$/), fc.constantFrom('bytes=0-1', 'chunked', '100-continue', '-1', '0', 'x'.repeat(20_000))),
  ),
  { maxLength: 4 },
);

describe('runtimed HTTP: bad input at every door (fast-check)', function () {
  this.timeout(60_000);
  let root: string;
  let logDir: string;
  let storeDir: string;
  let store: LogStore;
  let server: http.Server;
  let port: number;
  let apiPaths: string[];

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'krt-http-bad-input-'));
    logDir = path.join(root, 'logs');
    storeDir = path.join(root, 'store');
    // The canary sits beside and above both directories, where a traversal would land.
    writeFileSync(path.join(root, 'secret'), CANARY);
    writeFileSync(path.join(root, 'secret.log'), CANARY);
    mkdirSync(path.join(storeDir, 'namespaces', NS, 'runs', UID), { recursive: true });
    writeFileSync(path.join(storeDir, 'namespaces', NS, 'runs', UID, 'a.txt'), 'artifact body');
    store = await LogStore.open({ dir: logDir, logger: quiet });
    const writer = store.create(UID);
    writer.append('stdout', Buffer.from('hello\n'), 1_700_000_000_000_000);
    await writer.close();
    const run: Run = {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { name: RUN, namespace: NS, uid: UID },
      spec: { runtime: 'bash' },
      status: {
        artifactStore: { filesystem: { claimName: 'artifacts' } },
        artifactRefs: [
          { name: 'a.txt', key: `namespaces/${NS}/runs/${UID}/a.txt`, size: 13, digest: `sha256:${createHash('sha256').update('artifact body').digest('hex')}` },
          // A ref that points out of the store: the store refuses it (never written by runtimed).
          { name: 'evil', key: '../secret', size: 1, digest: 'sha256:0' },
        ],
      },
    } as unknown as Run;
    const client = {
      get: async (p: string) => {
        apiPaths.push(p);
        if (p === `/apis/kruntimes.io/v1alpha1/namespaces/${NS}/runs/${RUN}`) return structuredClone(run);
        throw new KubeApiError({ code: 404, reason: 'NotFound', message: 'runs.kruntimes.io not found' });
      },
    } as unknown as KubeClient;
    const routes = [
      logRoutes({ store, podName: 'runtime-bash-abc', logger: quiet }),
      artifactRoutes({ client, namespace: NS, env: storeEnvironment({ [StoreEnv.Spec]: JSON.stringify({ filesystem: { claimName: 'artifacts' } }), [StoreEnv.Mount]: storeDir }), logger: quiet }),
    ];
    server = http.createServer(runtimedHttpHandler({ routes, ready: () => true, metrics: async () => ({ contentType: 'text/plain', text: '' }) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => {
    apiPaths = [];
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.drain(1000);
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the known log and artifact (the fixture works, and the spy sees the reads)', async () => {
    const spy = spyOnFs();
    assert.equal((await rawRequest(port, 'GET', `/v1/runs/${UID}/log`, [])).body, 'hello\n');
    assert.ok(spy.stop().some((e) => e.path === path.join(logDir, `${UID}.log`)), 'the spy saw the log file opened');
    assert.equal((await rawRequest(port, 'GET', `/v1/namespaces/${NS}/runs/${RUN}/artifacts/a.txt`, [])).body, 'artifact body');
  });

  it('a Run that does not exist is 404', async () => {
    const answer = await rawRequest(port, 'GET', `/v1/namespaces/${NS}/runs/${UID}/artifacts`, []);
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), { message: `run ${UID} not found in namespace ${NS}` });
  });

  it('regression: a request target that is not a URL answers 400, not a crash', async () => {
    // new URL() threw from inside the request listener: one request took runtimed down.
    for (const t of ['http://[', 'http://a:99999/', 'http://%zz/']) {
      const answer = await rawRequest(port, 'GET', t, []);
      assert.equal(answer.status, 400, t);
      assert.deepEqual(JSON.parse(answer.body), { message: 'malformed request target' });
    }
  });

  it('regression: a Run name with ".." or "/" never reaches the API (400)', async () => {
    // (A bare `..` or `%2e%2e` segment is normalized away by URL parsing: 404, no route.)
    for (const name of ['..%2F..%2Fapi%2Fv1%2Fnamespaces%2Fteam%2Fpods%2Fp', 'a%2Fstatus', 'A', 'x%3Fwatch%3D1']) {
      const answer = await rawRequest(port, 'GET', `/v1/namespaces/${NS}/runs/${name}/artifacts`, []);
      assert.equal(answer.status, 400, name);
      assert.match(JSON.parse(answer.body).message, /^invalid Run name .*: not a Kubernetes object name$/);
    }
    assert.deepEqual(apiPaths, []);
  });

  it('an artifact ref pointing out of the store is not served', async () => {
    const answer = await rawRequest(port, 'GET', `/v1/namespaces/${NS}/runs/${RUN}/artifacts/evil`, []);
    assert.ok(answer.status >= 400 && answer.status !== 500, `${answer.status} ${answer.body}`);
    assert.ok(!answer.body.includes(CANARY));
  });

  it('any request: no crash, no 5xx but a store failure, 4xx with a message, nothing read outside, no canary', async () => {
    const spy = spyOnFs();
    let requests = 0;
    try {
      await fc.assert(
        fc.asyncProperty(method, target, headers, async (m, t, h) => {
          requests++;
          const answer = await rawRequest(port, m, t, h);
          // 502 is the store's refusal of the ref that points out of it.
          assert.ok(answer.status < 500 || (answer.status === 502 && /\/artifacts\/evil/.test(t)), `${m} ${JSON.stringify(t)} → ${answer.status} ${answer.body.slice(0, 300)}`);
          assert.ok(!answer.body.includes(CANARY), `${m} ${JSON.stringify(t)} leaked the canary`);
          if (answer.status >= 400 && m !== 'HEAD' && answer.headers['content-type'] === 'application/json') {
            // Our refusals carry {"message"}; Node's own (a malformed request line, 417, 431) and the
            // fallback 404 have an empty body.
            assert.equal(typeof JSON.parse(answer.body).message, 'string', `${m} ${JSON.stringify(t)}: ${answer.body}`);
          }
          if (answer.status >= 400) assert.ok(answer.headers['content-type'] === 'application/json' || answer.body === '', `${m} ${JSON.stringify(t)}: ${answer.status} ${answer.body}`);
          for (const p of apiPaths) assert.match(p, /^\/apis\/kruntimes\.io\/v1alpha1\/namespaces\/team\/runs\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
          apiPaths = [];
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      spy.stop();
    }
    assert.equal(requests >= NUM_RUNS, true);
    assert.deepEqual(outside(spy.events, [logDir, storeDir]), []);
    // runtimed still answers.
    assert.equal((await rawRequest(port, 'GET', '/healthz', [])).status, 200);
  });
});
