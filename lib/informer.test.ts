import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInformer, rewatchDelayMs, watchTimeoutSeconds } from './informer.ts';
import { KubeClient } from './kube-client.ts';

type Obj = { metadata: { name: string; namespace: string; resourceVersion: string }; spec?: { big?: string } };
const obj = (name: string, resourceVersion: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion } });

/**
 * The informer's side of the list and watch protocol, against an HTTP server that answers each
 * list and each watch from a script (the protocol's corner cases cannot be provoked on demand from
 * a real apiserver: the e2e suites run every informer against one).
 */
class ScriptedApiserver {
  readonly lists: Array<() => { code: number; body: unknown }> = [];
  /** Each watch: the lines to send, then whether to end the response or hold it open. */
  readonly watches: Array<{ lines: unknown[]; end: boolean } | { code: number; body: unknown }> = [];
  readonly requests: URL[] = [];
  private server?: http.Server;
  private readonly open = new Set<http.ServerResponse>();

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push(url);
      const json = (code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!url.searchParams.get('watch')) {
        const next = this.lists.shift();
        return next ? json(next().code, next().body) : json(500, { message: 'no list scripted' });
      }
      const next = this.watches.shift();
      if (!next) return void this.open.add(res.writeHead(200).flushHeaders() as unknown as http.ServerResponse);
      if ('code' in next) return json(next.code, next.body);
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const line of next.lines) res.write(`${JSON.stringify(line)}\n`);
      if (next.end) res.end();
      else this.open.add(res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop() {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
  watchQueries() {
    return this.requests.filter((u) => u.searchParams.get('watch')).map((u) => u.searchParams);
  }
}

const list = (resourceVersion: string, items: Obj[]) => () => ({ code: 200, body: { metadata: { resourceVersion }, items } });
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
};

describe('informer (list and watch)', function () {
  this.timeout(10_000);
  let api: ScriptedApiserver;
  let client: KubeClient;
  let informers: Array<{ stop(): Promise<void> }> = [];
  const informerFor = (options: Omit<Parameters<typeof createInformer<Obj>>[0], 'client'>) => {
    const informer = createInformer<Obj>({ client, ...options });
    informers.push(informer);
    return informer;
  };
  beforeEach(async () => {
    api = new ScriptedApiserver();
    const server = await api.start();
    client = await KubeClient.create({ server, tls: {}, authHeaders: async () => ({ authorization: 'Bearer t' }) });
  });
  afterEach(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    informers = [];
    await client.close();
    await api.stop();
  });

  it('lists, resolves start, then watches from the list version with bookmarks and the selectors', async () => {
    api.lists.push(list('10', [obj('a', '9')]));
    api.watches.push({ lines: [{ type: 'ADDED', object: obj('b', '11') }], end: false });
    const informer = informerFor({ path: '/api/v1/x', labelSelector: 'k=v', fieldSelector: 'f=1' });
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    await informer.start();
    assert.deepEqual(informer.list().map((o) => o.metadata.name), ['a']);
    await until(() => seen.length === 2, 'the watched add');
    assert.deepEqual(seen, ['add a', 'add b']);
    const [q] = api.watchQueries();
    assert.deepEqual(
      [q.get('resourceVersion'), q.get('allowWatchBookmarks'), q.get('labelSelector'), q.get('fieldSelector')],
      ['10', 'true', 'k=v', 'f=1'],
    );
    assert.ok(Number(q.get('timeoutSeconds')) >= 300 && Number(q.get('timeoutSeconds')) < 600);
    await informer.stop();
  });

  it('watches again from the last version seen (a bookmark included) when the apiserver ends a watch', async () => {
    api.lists.push(list('10', []));
    api.watches.push({
      lines: [
        { type: 'ADDED', object: obj('a', '11') },
        { type: 'MODIFIED', object: obj('a', '12') },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } },
      ],
      end: true,
    });
    api.watches.push({ lines: [{ type: 'DELETED', object: obj('a', '16') }], end: false });
    const informer = informerFor({ path: '/api/v1/x' });
    const seen: string[] = [];
    for (const type of ['add', 'update', 'delete'] as const) informer.on(type, (o) => seen.push(`${type} ${o.metadata.resourceVersion}`));
    await informer.start();
    await until(() => seen.length === 3, 'three events');
    assert.deepEqual(seen, ['add 11', 'update 12', 'delete 16']);
    assert.deepEqual(api.watchQueries().map((q) => q.get('resourceVersion')), ['10', '15']);
    assert.equal(api.requests.filter((u) => !u.searchParams.get('watch')).length, 1, 'no second list');
    await informer.stop();
  });

  it('lists again when the version is gone (410), deleting what the new list lacks', async () => {
    api.lists.push(list('10', [obj('a', '5'), obj('b', '6')]));
    api.watches.push({ lines: [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (20)' } }], end: false });
    api.lists.push(list('30', [obj('b', '25'), obj('c', '26')]));
    api.watches.push({ lines: [], end: false });
    const informer = informerFor({ path: '/api/v1/x' });
    const seen: string[] = [];
    for (const type of ['add', 'update', 'delete'] as const) informer.on(type, (o) => seen.push(`${type} ${o.metadata.name}`));
    await informer.start();
    await until(() => api.watchQueries().length === 2, 'the second watch');
    assert.deepEqual(seen, ['add a', 'add b', 'delete a', 'update b', 'add c']);
    assert.deepEqual(api.watchQueries().map((q) => q.get('resourceVersion')), ['10', '30']);
    await informer.stop();
  });

  it('a refused list is retried and start resolves once one succeeds; a refused watch resumes from its version', async () => {
    api.lists.push(() => ({ code: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden', message: 'forbidden' } }));
    api.lists.push(list('10', [obj('a', '9')]));
    api.watches.push({ code: 500, body: { message: 'etcd unavailable' } });
    api.watches.push({ lines: [{ type: 'ADDED', object: obj('b', '11') }], end: false });
    const informer = informerFor({ path: '/api/v1/x' });
    const started = Date.now();
    await informer.start();
    assert.ok(Date.now() - started >= 900, 'waited a second after the refused list');
    assert.deepEqual(informer.list().map((o) => o.metadata.name), ['a']);
    await until(() => informer.get('b', 'ns') !== undefined, 'the watch after the failure');
    assert.deepEqual(api.watchQueries().map((q) => q.get('resourceVersion')), ['10', '10']);
    await informer.stop();
  });

  it('keeps what the transform returns, and one failing handler does not stop the others or the watch', async () => {
    api.lists.push(list('10', [{ ...obj('a', '9'), spec: { big: 'x'.repeat(100) } }]));
    api.watches.push({ lines: [{ type: 'ADDED', object: { ...obj('b', '11'), spec: { big: 'y' } } }], end: false });
    const informer = informerFor({ path: '/api/v1/x', transform: (o: Obj) => ({ metadata: o.metadata }) });
    const seen: string[] = [];
    informer.on('add', () => {
      throw new Error('handler bug');
    });
    informer.on('add', (o) => seen.push(`${o.metadata.name} ${JSON.stringify(o.spec)}`));
    await informer.start();
    await until(() => seen.length === 2, 'both adds');
    assert.deepEqual(seen, ['a undefined', 'b undefined']);
    assert.equal(informer.get('b', 'ns')?.spec, undefined);
    await informer.stop();
  });

  it('stop ends the watch; a stopped informer started again watches from where it was', async () => {
    api.lists.push(list('10', [obj('a', '9')]));
    api.watches.push({ lines: [{ type: 'MODIFIED', object: obj('a', '12') }], end: false });
    const informer = informerFor({ path: '/api/v1/x' });
    await informer.start();
    await until(() => informer.get('a', 'ns')?.metadata.resourceVersion === '12', 'the update');
    await informer.stop();
    api.watches.push({ lines: [], end: false });
    await informer.start();
    await until(() => api.watchQueries().length === 2, 'the second watch');
    assert.equal(api.watchQueries()[1].get('resourceVersion'), '12');
    await informer.stop();
  });

  it('spreads watch timeouts over 5-10 minutes and backs off 1 s doubling to 30 s', () => {
    assert.deepEqual([0, 0.5, 0.999].map((r) => watchTimeoutSeconds(() => r)), [300, 450, 599]);
    assert.deepEqual([0, 1, 2, 3, 5, 6, 20].map(rewatchDelayMs), [0, 1000, 2000, 4000, 16000, 30000, 30000]);
  });
});
