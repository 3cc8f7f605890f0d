// Each image's filesystem, assembled from its Dockerfile (images/dockerfile-assembler.ts: the
// COPY steps, the real `npm ci --omit=dev` of its dependency stage), and its entry point started
// from there with nothing of the repository around it: the operator prints its usage, runtimed its
// configuration error, the bash and python Runtime Servers answer Health and run a command over gRPC.
// No cluster is needed. The dependency stage is cached by its inputs in ~/.cache/kruntimes/image-stages.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AssembledImage, assembleImage } from '../../images/dockerfile-assembler.ts';
import { RuntimeServerClient } from '../../lib/runtime-client.ts';
import pkg from '../../package.json' with { type: 'json' };

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const CACHE = join(process.env.KRT_CACHE || join(homedir(), '.cache', 'kruntimes'), 'image-stages');
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

interface Started {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill: () => void;
}

/** Starts ENTRYPOINT + (args ?? CMD) in the image's WORKDIR with the image's ENV; `node` is the pinned Node. */
function start(image: AssembledImage, env: Record<string, string> = {}, args?: string[]): Started {
  const [cmd, ...rest] = [...image.entrypoint, ...(args ?? image.cmd)];
  assert.equal(cmd, 'node');
  const proc = spawn(process.execPath, rest, {
    cwd: join(image.root, image.workdir),
    // Node is not on PATH: the image's processes find only what a slim Debian base has.
    env: { ...image.env, PATH: SYSTEM_PATH, HOME: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => (out += c));
  proc.stderr.on('data', (c: Buffer) => (err += c));
  return {
    code: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
    stdout: () => out,
    stderr: () => err,
    kill: () => proc.kill('SIGKILL'),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function eventually(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('container images (assembled from their Dockerfiles)', function () {
  this.timeout(240_000);
  const work = mkdtempSync(join(tmpdir(), 'krt-images-'));
  const images = new Map<string, AssembledImage>();
  const assemble = async (name: string) => {
    if (!images.has(name)) {
      images.set(name, await assembleImage({
        dockerfile: join(ROOT, 'images', name, 'Dockerfile'),
        context: ROOT,
        buildArgs: { VERSION: pkg.version, REVISION: 'e2e' },
        cacheDir: CACHE,
        outDir: join(work, name),
        // RUN steps get the pinned Node and the machine's npm, as the base image has node and npm.
        path: `${dirname(process.execPath)}:${process.env.PATH}`,
      }));
    }
    return images.get(name)!;
  };

  after(() => rmSync(work, { recursive: true, force: true }));

  it('operator: production dependencies only, non-root, labelled; prints its usage for an unknown role', async () => {
    const image = await assemble('operator');
    const modules = join(image.root, 'app/node_modules');
    for (const dep of Object.keys(pkg.dependencies).filter((d) => d !== 'node')) assert.ok(existsSync(join(modules, dep)), dep);
    // package-lock.json marks the packages only development needs.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => p.dev && path.startsWith('node_modules/')).map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/typescript'));
    for (const dev of [...devOnly, 'node_modules/node']) assert.ok(!existsSync(join(image.root, 'app', dev)), `${dev} must not be in the image`);
    assert.ok(!existsSync(join(image.root, 'app/operator/main.test.ts')), '.dockerignore keeps tests out');
    assert.equal(image.user, '1000:1000');
    assert.equal(image.labels['org.opencontainers.image.version'], pkg.version);
    assert.equal(image.labels['org.opencontainers.image.source'], pkg.homepage);
    assert.deepEqual(image.baseImages, ['node:22.23.3-bookworm-slim', 'node:22.23.3-bookworm-slim']);
    assert.equal(readFileSync(join(image.root, 'app/LICENSE'), 'utf8'), readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    // ESM links every static import before the first line runs: the usage proves the whole graph is there.
    const p = start(image, {}, ['bogus']);
    assert.equal(await p.code, 2, p.stderr());
    assert.match(p.stderr(), /^usage: operator \[[a-z|]+\] \(got bogus\)\n$/);
  });

  it('runtimed: says which downward-API variables it needs', async () => {
    const image = await assemble('runtimed');
    // git sources need git, the CA bundle for https and the ssh client.
    assert.deepEqual(image.debianPackages, ['git', 'ca-certificates', 'openssh-client']);
    const p = start(image);
    assert.equal(await p.code, 1, p.stderr());
    assert.match(p.stderr(), /Error: runtimed needs POD_NAME, POD_NAMESPACE, POD_UID \(set through the downward API\)/);
  });

  for (const [name, runtime, program, expected] of [
    ['bash-runtime', 'bash', 'echo "$BASH_VERSION" | cut -d. -f1 >/dev/null && echo hello from bash', 'hello from bash\n'],
    ['python-runtime', 'python', 'import sys; print("hello from python", sys.version_info[0])', 'hello from python 3\n'],
  ] as const) {
    it(`${name}: answers Health and runs a command over gRPC`, async () => {
      const image = await assemble(name);
      if (runtime === 'python') assert.deepEqual(image.debianPackages, ['python3']);
      const port = await freePort();
      const p = start(image, { KRUNTIME_PORT: String(port), KRUNTIME_HOST: '127.0.0.1', KRUNTIME_SHUTDOWN_GRACE_SECONDS: '0' });
      const client = new RuntimeServerClient({ address: `127.0.0.1:${port}` });
      try {
        await eventually(() => p.stderr().includes('"server.listening"'), 15_000, p.stderr);
        assert.deepEqual(await client.health(), { healthy: true, message: 'ok' });
        const dir = mkdtempSync(join(work, 'ws-'));
        await client.execute({ id: 'hello', args: [program], workingDir: dir });
        const done = await client.waitFor('hello');
        assert.equal(done.exitCode, 0, done.stderr);
        assert.equal(done.stdout, expected);
      } finally {
        client.close();
        p.kill();
      }
    });
  }
});
