// The log client end to end against fakes of both sides it talks to: an apiserver that serves
// pods/portforward over WebSocket (v4.channel.k8s.io, as the kubelet does) and a runtimed log
// server implementing the contract in runtimed-log.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { type Connection, connect } from '../kube/connection.ts';
import { openPortForward, PortForwardError, PortForwardStream } from '../kube/port-forward.ts';
import type { LogChunk } from './chunk.ts';
import { fetchRunLog, NoRunLogError, parseLogLine, runLogPath } from './runtimed-log.ts';

interface FakeLog {
  chunks: LogChunk[];
  ended: boolean;
  truncated: boolean;
  waiters: Array<() => void>;
}

/** runtimed's log API as the contract describes it (ndjson only: the client asks for nothing else). */
function fakeRuntimed() {
  const logs = new Map<string, FakeLog>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://runtimed');
    const m = /^\/v1\/runs\/([^/]+)\/log$/.exec(url.pathname);
    const log = m ? logs.get(decodeURIComponent(m[1])) : undefined;
    if (!log) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'no log for this Run on this pod' }));
      return;
    }
    const stream = url.searchParams.get('stream') ?? 'all';
    const follow = url.searchParams.get('follow') === 'true';
    const since = url.searchParams.get('sinceTime');
    const tail = url.searchParams.get('tailLines');
    const selected = (c: LogChunk) =>
      (stream === 'all' || c.stream === stream) && (!since || Date.parse(c.ts) >= Date.parse(since));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const send = (c: LogChunk) =>
      res.write(`${JSON.stringify({ ts: c.ts, stream: c.stream, data: c.data.toString('base64') })}\n`);
    let sent = log.chunks.filter(selected);
    if (tail !== null) sent = sent.slice(-Number(tail));
    for (const c of sent) send(c);
    let next = log.chunks.length;
    const finish = () => res.end(`${JSON.stringify({ end: true, truncated: log.truncated })}\n`);
    if (!follow || log.ended) return finish();
    const onChange = () => {
      for (; next < log.chunks.length; next++) if (selected(log.chunks[next])) send(log.chunks[next]);
      if (log.ended) finish();
      else log.waiters.push(onChange);
    };
    log.waiters.push(onChange);
  });
  return {
    server,
    create(uid: string): FakeLog {
      const log: FakeLog = { chunks: [], ended: false, truncated: false, waiters: [] };
      logs.set(uid, log);
      return log;
    },
    append(log: FakeLog, stream: 'stdout' | 'stderr', data: Buffer | string, ts = new Date().toISOString()) {
      log.chunks.push({ ts, stream, data: Buffer.from(data) });
      for (const w of log.waiters.splice(0)) w();
    },
    end(log: FakeLog) {
      log.ended = true;
      for (const w of log.waiters.splice(0)) w();
    },
  };
}

/** pods/portforward as the apiserver proxies it to a kubelet speaking v4.channel.k8s.io. */
function fakeApiserver(targets: Record<string, number>) {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\?ports=(\d+)$/.exec(req.url ?? '');
    const pod = m?.[2] ?? '';
    const status = (code: number, message: string) => {
      const body = JSON.stringify({ kind: 'Status', code, message });
      socket.end(
        `HTTP/1.1 ${code} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    };
    if (pod === 'forbidden-pod')
      return status(
        403,
        'pods "forbidden-pod" is forbidden: User "u" cannot create resource "pods/portforward"',
      );
    if (!(pod in targets)) return status(404, `pods "${pod}" not found`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const port = Number(m?.[3]);
      const prefix = Buffer.from([port & 0xff, port >> 8]);
      ws.send(Buffer.concat([Buffer.from([0]), prefix]));
      ws.send(Buffer.concat([Buffer.from([1]), prefix]));
      const tcp = net.connect(targets[pod], '127.0.0.1');
      tcp.on('error', (err) => {
        ws.send(
          Buffer.concat([
            Buffer.from([1]),
            Buffer.from(`error forwarding port ${port} to pod ${pod}: ${err.message}`),
          ]),
        );
        ws.close();
      });
      tcp.on('data', (d) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      tcp.on('end', () => ws.close());
      ws.on('message', (d: Buffer) => {
        if (d[0] === 0) tcp.write(d.subarray(1));
      });
      ws.on('close', () => tcp.destroy());
    });
  });
  return server;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('runtimed log client over port-forward', () => {
  const runtimed = fakeRuntimed();
  let apiserver: http.Server;
  let conn: Connection;
  let closedPort: number;

  before(async () => {
    const logPort = await listen(runtimed.server);
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    apiserver = fakeApiserver({ 'runtime-bash-1': logPort, 'refusing-pod': closedPort });
    const apiPort = await listen(apiserver);
    const dir = mkdtempSync(path.join(tmpdir(), 'krt-log-test-'));
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: fake, context: { cluster: fake, user: u } }]
current-context: fake
`,
    );
    conn = await connect({ kubeconfig });
  });
  after(async () => {
    await conn.close();
    apiserver.closeAllConnections();
    runtimed.server.closeAllConnections();
    apiserver.close();
    runtimed.server.close();
  });

  async function fetchAll(uid: string, query: Partial<Parameters<typeof fetchRunLog>[1]> = {}) {
    const socket = await openPortForward(conn, 'ns', 'runtime-bash-1', 19092);
    const chunks: LogChunk[] = [];
    const end = await fetchRunLog(socket, { runUID: uid, stream: 'all', follow: false, ...query }, (c) =>
      chunks.push(c),
    );
    return { chunks, end, bytes: Buffer.concat(chunks.map((c) => c.data)) };
  }

  it('returns a finished Run output byte for byte, over 1 MiB and not UTF-8', async () => {
    const log = runtimed.create('uid-big');
    const data = Buffer.alloc(1_500_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff;
    for (let off = 0; off < data.length; off += 65536)
      runtimed.append(log, 'stdout', data.subarray(off, off + 65536));
    runtimed.end(log);
    const { bytes, end } = await fetchAll('uid-big');
    assert.ok(bytes.equals(data), `got ${bytes.length} bytes, want ${data.length}`);
    assert.deepEqual(end, { complete: true, truncated: false });
  });

  it('selects a stream and passes tail, since and truncation through', async () => {
    const log = runtimed.create('uid-mixed');
    runtimed.append(log, 'stdout', 'out 1\n', '2026-01-01T00:00:00.000001Z');
    runtimed.append(log, 'stderr', 'err 1\n', '2026-01-01T00:00:01.000001Z');
    runtimed.append(log, 'stdout', 'out 2\n', '2026-01-01T00:00:02.000001Z');
    log.truncated = true;
    runtimed.end(log);
    const all = await fetchAll('uid-mixed');
    assert.equal(all.bytes.toString(), 'out 1\nerr 1\nout 2\n');
    assert.deepEqual(
      all.chunks.map((c) => [c.stream, c.ts]),
      [
        ['stdout', '2026-01-01T00:00:00.000001Z'],
        ['stderr', '2026-01-01T00:00:01.000001Z'],
        ['stdout', '2026-01-01T00:00:02.000001Z'],
      ],
    );
    assert.equal(all.end.truncated, true);
    assert.equal((await fetchAll('uid-mixed', { stream: 'stderr' })).bytes.toString(), 'err 1\n');
    assert.equal((await fetchAll('uid-mixed', { tailLines: 1 })).bytes.toString(), 'out 2\n');
    assert.equal(
      (
        await fetchAll('uid-mixed', { sinceTime: '2026-01-01T00:00:00.5Z', stream: 'stdout' })
      ).bytes.toString(),
      'out 2\n',
    );
  });

  it('follows a running Run: chunks arrive as written, the response ends with the output', async () => {
    const log = runtimed.create('uid-live');
    runtimed.append(log, 'stdout', 'first\n');
    const socket = await openPortForward(conn, 'ns', 'runtime-bash-1', 19092);
    const seen: string[] = [];
    let resolveFirst: () => void = () => {};
    const first = new Promise<void>((r) => {
      resolveFirst = r;
    });
    const done = fetchRunLog(socket, { runUID: 'uid-live', stream: 'all', follow: true }, (c) => {
      seen.push(c.data.toString());
      resolveFirst();
    });
    await first;
    assert.deepEqual(seen, ['first\n'], 'the first line arrives before the Run ends');
    runtimed.append(log, 'stdout', 'second\n');
    runtimed.end(log);
    const end = await done;
    assert.deepEqual(seen, ['first\n', 'second\n']);
    assert.equal(end.complete, true);
  });

  it('reports a 404 from runtimed as NoRunLogError with its message', async () => {
    await assert.rejects(
      fetchAll('uid-unknown'),
      (err: unknown) => err instanceof NoRunLogError && /no log for this Run/.test(err.message),
    );
  });

  it('classifies port-forward failures', async () => {
    await assert.rejects(
      openPortForward(conn, 'ns', 'forbidden-pod', 19092),
      (err: unknown) =>
        err instanceof PortForwardError &&
        err.kind === 'forbidden' &&
        err.access.subresource === 'portforward',
    );
    await assert.rejects(
      openPortForward(conn, 'ns', 'gone-pod', 19092),
      (err: unknown) =>
        err instanceof PortForwardError && err.kind === 'pod-not-found' && /not found/.test(err.message),
    );
    const socket = await openPortForward(conn, 'ns', 'refusing-pod', 19092);
    assert.ok(socket instanceof PortForwardStream);
    await assert.rejects(
      fetchRunLog(socket, { runUID: 'x', stream: 'all', follow: false }, () => {}),
      (err: unknown) =>
        err instanceof PortForwardError &&
        err.kind === 'unreachable' &&
        /error forwarding port/.test(err.message),
    );
  });
});

describe('runtimed log API encoding', () => {
  it('asks for ndjson with the query parameters of the contract', () => {
    assert.equal(
      runLogPath({
        runUID: 'u-1',
        stream: 'stdout',
        follow: true,
        tailLines: 10,
        sinceTime: '2026-01-01T00:00:00Z',
      }),
      '/v1/runs/u-1/log?stream=stdout&follow=true&format=ndjson&tailLines=10&sinceTime=2026-01-01T00%3A00%3A00Z',
    );
  });
  it('parses chunks and the end line, ignoring what it does not know', () => {
    assert.deepEqual(parseLogLine('{"ts":"t","stream":"stderr","data":"/wA="}'), {
      ts: 't',
      stream: 'stderr',
      data: Buffer.from([0xff, 0x00]),
    });
    assert.deepEqual(parseLogLine('{"end":true,"truncated":true}'), { end: true, truncated: true });
    assert.equal(parseLogLine('{"stream":"video","data":""}'), undefined);
    assert.equal(parseLogLine('garbage'), undefined);
  });
});
