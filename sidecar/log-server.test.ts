import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../lib/log.ts';
import { logRoutes } from './log-server.ts';
import { LogStore } from './log-store.ts';
import { formatMicros, parseRfc3339Micros } from './log-time.ts';

const quiet = createLogger({}, () => {});
const T0 = 1_700_000_000_000_000;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface NdjsonLine {
  ts?: string;
  stream?: string;
  data?: string;
  end?: boolean;
  truncated?: boolean;
}

function parseNdjson(body: string): NdjsonLine[] {
  return body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as NdjsonLine);
}

async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('log server', () => {
  let dir: string;
  let store: LogStore;
  let server: http.Server;
  let base: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krt-log-server-'));
    store = await LogStore.open({ dir, logger: quiet });
    // Mounted as sidecar/main.ts does: next to the probes on one server.
    const serveLogs = logRoutes({ store, podName: 'runtime-bash-abc', logger: quiet });
    server = http.createServer((req, res) => {
      if (req.url === '/healthz') res.writeHead(200).end('ok');
      else if (!serveLogs(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.drain(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  async function finishedLog(uid: string): Promise<void> {
    const writer = store.create(uid);
    writer.append('stdout', Buffer.from('line 1\n'), T0);
    writer.append('stderr', Buffer.from([0xff, 0xfe, 0x0a]), T0 + 1);
    writer.append('stdout', Buffer.from('line 2\n'), T0 + 2);
    await writer.close();
  }

  it('answers raw bytes of the selected streams by default', async () => {
    await finishedLog('run-1');
    const all = await fetch(`${base}/v1/runs/run-1/log`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(
      Buffer.from(await all.arrayBuffer()),
      Buffer.concat([Buffer.from('line 1\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('line 2\n')]),
    );
    const stdout = await fetch(`${base}/v1/runs/run-1/log?stream=stdout&format=raw`);
    assert.equal(await stdout.text(), 'line 1\nline 2\n');
    const stderr = await fetch(`${base}/v1/runs/run-1/log?stream=stderr`);
    assert.deepEqual(Buffer.from(await stderr.arrayBuffer()), Buffer.from([0xff, 0xfe, 0x0a]));
  });

  it('answers ndjson: a line per chunk with µs timestamps and base64 data, then the end', async () => {
    await finishedLog('run-1');
    const response = await fetch(`${base}/v1/runs/run-1/log?format=ndjson`);
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    const lines = parseNdjson(await response.text());
    assert.deepEqual(lines, [
      {
        ts: '2023-11-14T22:13:20.000000Z',
        stream: 'stdout',
        data: Buffer.from('line 1\n').toString('base64'),
      },
      {
        ts: '2023-11-14T22:13:20.000001Z',
        stream: 'stderr',
        data: Buffer.from([0xff, 0xfe, 0x0a]).toString('base64'),
      },
      {
        ts: '2023-11-14T22:13:20.000002Z',
        stream: 'stdout',
        data: Buffer.from('line 2\n').toString('base64'),
      },
      { end: true, truncated: false },
    ]);
  });

  it('applies tailLines and sinceTime', async () => {
    await finishedLog('run-1');
    const tail = await fetch(`${base}/v1/runs/run-1/log?stream=stdout&tailLines=1`);
    assert.equal(await tail.text(), 'line 2\n');
    const since = await fetch(`${base}/v1/runs/run-1/log?format=ndjson&sinceTime=${formatMicros(T0 + 1)}`);
    assert.deepEqual(
      parseNdjson(await since.text()).map((line) => line.stream ?? 'end'),
      ['stderr', 'stdout', 'end'],
    );
    const sinceSeconds = await fetch(`${base}/v1/runs/run-1/log?sinceTime=2023-11-14T22:13:21Z`);
    assert.equal(await sinceSeconds.text(), '');
  });

  it('follows: keeps the response open and streams chunks appended later, until the end', async () => {
    const writer = store.create('run-1');
    writer.append('stdout', Buffer.from('first\n'), T0);
    const response = await fetch(`${base}/v1/runs/run-1/log?follow=true&format=ndjson`);
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    while (!received.includes('\n')) received += decoder.decode((await reader.read()).value);
    assert.equal(Buffer.from(parseNdjson(received)[0].data!, 'base64').toString(), 'first\n');
    writer.append('stdout', Buffer.from('second\n'), T0 + 1);
    await writer.flushed();
    while (received.split('\n').length < 3) received += decoder.decode((await reader.read()).value);
    assert.equal(Buffer.from(parseNdjson(received)[1].data!, 'base64').toString(), 'second\n');
    void writer.close();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      received += decoder.decode(chunk.value);
    }
    assert.deepEqual(parseNdjson(received).at(-1), { end: true, truncated: false });
  });

  it('stops following when the client disconnects', async () => {
    const writer = store.create('run-1');
    writer.append('stdout', Buffer.from('x'), T0);
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/runs/run-1/log?follow=true`, { signal: controller.signal });
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'x');
    await eventually(() => store.waitingReaders('run-1') === 1);
    controller.abort();
    await eventually(() => store.waitingReaders('run-1') === 0);
    await writer.close();
  });

  it('round-trips more than 1 MiB of binary output, raw and ndjson', async () => {
    const writer = store.create('run-1');
    const written: Buffer[] = [];
    for (let i = 0; i < 24; i++) {
      written.push(randomBytes(64 * 1024));
      writer.append('stdout', written[i], T0 + i);
    }
    await writer.close();
    const expected = sha256(Buffer.concat(written));
    const raw = Buffer.from(await (await fetch(`${base}/v1/runs/run-1/log?stream=stdout`)).arrayBuffer());
    assert.ok(raw.length > 1024 * 1024);
    assert.equal(sha256(raw), expected);
    const lines = parseNdjson(await (await fetch(`${base}/v1/runs/run-1/log?format=ndjson`)).text());
    const decoded = Buffer.concat(
      lines.filter((line) => line.data).map((line) => Buffer.from(line.data!, 'base64')),
    );
    assert.equal(sha256(decoded), expected);
  });

  it('answers 404 with a JSON message for an unknown Run', async () => {
    const response = await fetch(`${base}/v1/runs/nope/log`);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.deepEqual(await response.json(), { message: 'no log for run nope on pod runtime-bash-abc' });
  });

  it('answers 400 naming the bad parameter, and leaves other routes alone', async () => {
    for (const [query, message] of [
      ['stream=both', /stream must be one of stdout, stderr, all/],
      ['follow=yes', /follow must be true or false/],
      ['tailLines=-1', /tailLines must be a non-negative integer/],
      ['sinceTime=yesterday', /sinceTime must be an RFC 3339 time/],
      ['format=json', /format must be raw or ndjson/],
    ] as const) {
      const response = await fetch(`${base}/v1/runs/run-1/log?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(((await response.json()) as { message: string }).message, message);
    }
    assert.equal((await fetch(`${base}/v1/runs/%E0%A4%A/log`)).status, 400);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/v1/runs/run-1/other`)).status, 404);
  });
});

describe('log timestamps', () => {
  it('formats and parses RFC 3339 with microseconds', () => {
    assert.equal(formatMicros(T0 + 123_456), '2023-11-14T22:13:20.123456Z');
    assert.equal(formatMicros(T0 + 7), '2023-11-14T22:13:20.000007Z');
    assert.equal(parseRfc3339Micros('2023-11-14T22:13:20.123456Z'), T0 + 123_456);
    assert.equal(parseRfc3339Micros('2023-11-14T22:13:20Z'), T0);
    assert.equal(parseRfc3339Micros('2023-11-14T23:13:20.5+01:00'), T0 + 500_000);
    // Finer than a microsecond: the next microsecond is the first one at or after it.
    assert.equal(parseRfc3339Micros('2023-11-14T22:13:20.000000001Z'), T0 + 1);
    assert.equal(parseRfc3339Micros('2023-11-14 22:13:20Z'), undefined);
    assert.equal(parseRfc3339Micros('2023-13-14T22:13:20Z'), undefined);
  });
});
