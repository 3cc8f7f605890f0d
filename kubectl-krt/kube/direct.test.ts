// The quick path of `run` and `run --wait`: which kubeconfigs it serves (the rest go to the full
// client), and, against a fake apiserver over TLS, that a Run is created and waited for over one
// connection without loading client-node or undici, and that a refused create is handed to the full
// client, which reports it as before.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ExitCode } from '../exit-codes.ts';
import { directTarget, kubeconfigFile } from './direct.ts';

const run = promisify(execFile);

function kubeconfig(cluster: object, user: object, context: object = {}): object {
  return {
    apiVersion: 'v1',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', ...context } }],
    'current-context': 'x',
  };
}

describe('the quick path', () => {
  let dir: string;
  const write = (config: object, name = 'config') => {
    const file = path.join(dir, name);
    writeFileSync(file, stringify(config));
    return file;
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krt-direct-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('directTarget', () => {
    it('reads a kubeconfig of certificates, files relative to it, or a token', () => {
      writeFileSync(path.join(dir, 'ca.crt'), 'CA');
      const file = write(kubeconfig({ 'certificate-authority': 'ca.crt' }, { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': 'S0VZ' }, { namespace: 'team' }));
      const t = directTarget({ kubeconfig: file }, {});
      assert.equal(t?.server, 'https://127.0.0.1:6443');
      assert.equal(t?.namespace, 'team');
      assert.deepEqual([t?.tls.ca?.toString(), t?.tls.cert?.toString(), t?.tls.key?.toString()], ['CA', 'CERT', 'KEY']);
      const token = directTarget({ kubeconfig: write(kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 'abc' })) }, {});
      assert.deepEqual(token?.headers, { authorization: 'Bearer abc' });
      assert.equal(token?.tls.rejectUnauthorized, false);
      assert.equal(token?.namespace, 'default');
    });

    it('leaves everything else to the full client', () => {
      const none = (config: object, options: { context?: string } = {}) =>
        directTarget({ kubeconfig: write(config), ...options }, {});
      assert.equal(none(kubeconfig({}, { exec: { command: 'aws' } })), undefined);
      assert.equal(none(kubeconfig({}, { 'auth-provider': { name: 'oidc' } })), undefined);
      assert.equal(none(kubeconfig({}, { 'token-file': '/t' })), undefined);
      assert.equal(none(kubeconfig({}, { username: 'a', password: 'b' })), undefined);
      assert.equal(none(kubeconfig({ 'proxy-url': 'http://proxy:3128' }, {})), undefined);
      assert.equal(none(kubeconfig({ server: 'http://127.0.0.1:8080' }, {})), undefined);
      assert.equal(none(kubeconfig({}, {}), { context: 'missing' }), undefined);
      assert.equal(none({ nonsense: true }), undefined);
      assert.equal(directTarget({ kubeconfig: path.join(dir, 'absent') }, {}), undefined);
    });

    it('takes the file client-node would read alone: --kubeconfig, a single $KUBECONFIG, ~/.kube/config', () => {
      assert.equal(kubeconfigFile('/a', { KUBECONFIG: '/b' }), '/a');
      assert.equal(kubeconfigFile(undefined, { KUBECONFIG: '/b' }), '/b');
      assert.equal(kubeconfigFile(undefined, { KUBECONFIG: `/b${path.delimiter}/c` }), undefined);
      if (process.platform !== 'win32') assert.equal(kubeconfigFile(undefined, { HOME: '/home/me' }), '/home/me/.kube/config');
    });
  });

  describe('run --wait against a fake apiserver', function () {
    this.timeout(60_000);
    let server: Server;
    let connections = 0;
    let refuse = false;
    let config: string;

    before(async function () {
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt')], { stdio: 'ignore' });
      } catch {
        this.skip();
      }
      server = createServer({ key: readFileSync(path.join(dir, 'tls.key')), cert: readFileSync(path.join(dir, 'tls.crt')) }, (req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          const runs = '/apis/kruntimes.io/v1alpha1/namespaces/team/runs';
          if (req.method === 'POST' && req.url === runs) {
            if (refuse) {
              res.writeHead(409, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'runs "r" already exists' }));
              return;
            }
            const created = { ...JSON.parse(body), metadata: { ...JSON.parse(body).metadata, name: 'bash-x1', namespace: 'team', resourceVersion: '10' } };
            res.writeHead(201, { 'content-type': 'application/json' });
            res.end(JSON.stringify(created));
            return;
          }
          if (req.method === 'GET' && req.url?.startsWith(`${runs}?`)) {
            const q = new URL(req.url, 'https://x').searchParams;
            assert.equal(q.get('resourceVersion'), '10');
            assert.equal(q.get('fieldSelector'), 'metadata.name=bash-x1');
            res.writeHead(200, { 'content-type': 'application/json' });
            const run = (phase: string, rv: string) => ({ metadata: { name: 'bash-x1', namespace: 'team', resourceVersion: rv }, spec: {}, status: { phase, exitCode: 0 } });
            res.write(`${JSON.stringify({ type: 'MODIFIED', object: run('Running', '11') })}\n`);
            setTimeout(() => res.end(`${JSON.stringify({ type: 'MODIFIED', object: run('Succeeded', '12') })}\n`), 20);
            return;
          }
          res.writeHead(404).end('{}');
        });
      });
      server.on('secureConnection', () => connections++);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      config = write(kubeconfig({ server: `https://127.0.0.1:${port}`, 'certificate-authority': 'tls.crt' }, { token: 't' }, { namespace: 'team' }), 'fake');
    });
    after(() => server?.close());

    // The plugin in a fresh Node whose resolve hook records the packages it loads.
    const SCRIPT = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = r.url.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/); if (m) loaded.add(m[1]); return r; } });
process.argv.splice(1, 0, 'kubectl-krt');
process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify([...loaded]) + '\\n'));
await import(new URL('../main.ts', process.env.KRT_DIR).href);
`;
    const krt = async (args: string[]) => {
      const r = await run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], {
        env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: config, KRT_DIR: new URL('./', import.meta.url).href, NO_COLOR: '1' },
      }).then((x) => ({ ...x, code: 0 }), (e: { stdout: string; stderr: string; code: number }) => e);
      const loaded = JSON.parse(/^LOADED (.*)$/m.exec(r.stderr)?.[1] ?? '[]') as string[];
      return { ...r, loaded };
    };

    it('creates the Run and waits for it over one TLS connection, loading neither client-node, undici nor the YAML printer', async () => {
      connections = 0;
      const r = await krt(['run', 'bash', '--wait', '--', 'true']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /run\.kruntimes\.io\/bash-x1 created; waiting for it to finish/);
      assert.match(r.stdout, /Succeeded/);
      assert.equal(connections, 1);
      assert.ok(!r.loaded.some((p) => ['@kubernetes/client-node', 'undici', 'yaml'].includes(p)), r.loaded.join(' '));
    });

    it('hands a refused create to the full client, which reports it as always', async () => {
      refuse = true;
      try {
        const r = await krt(['run', 'bash', '--wait', '--', 'true']);
        assert.equal(r.code, ExitCode.Error, r.stderr);
        assert.match(r.stderr, /error: the API server answered 409 AlreadyExists: runs "r" already exists/);
        assert.ok(r.loaded.includes('undici'), r.loaded.join(' '));
      } finally {
        refuse = false;
      }
    });
  });
});
