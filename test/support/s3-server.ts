// A real S3-compatible server for the artifact tests: versitygw (posix backend) built from the Go
// module proxy by build-s3-server.sh, started on the host so that pods reach it at the cluster
// gateway (10.244.0.1). Objects are plain files below `dir`/<bucket>, so tests can also look.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './platform.ts';

export const S3_ACCESS_KEY = 'krt-test-access';
export const S3_SECRET_KEY = 'krt-test-secret-0123456789';

export interface S3ServerOptions {
  /** Address to listen on: the cluster gateway so pods can reach it. */
  host: string;
  port?: number;
}

export class S3Server {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  private child?: ChildProcess;
  private readonly binary: string;

  private constructor(options: { host: string; port: number; dir: string; binary: string }) {
    this.host = options.host;
    this.port = options.port;
    this.dir = options.dir;
    this.binary = options.binary;
  }

  static async start(options: S3ServerOptions): Promise<S3Server> {
    const binary = execFileSync(path.join(REPO, 'test/support/build-s3-server.sh'), { encoding: 'utf8' }).trim();
    const port = options.port ?? (await freePort(options.host));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krt-s3-'));
    const server = new S3Server({ host: options.host, port, dir, binary });
    await server.up();
    return server;
  }

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  createBucket(name: string): void {
    // The posix backend's buckets are top-level directories.
    mkdirSync(path.join(this.dir, name), { recursive: true });
  }

  /** Every object key below `bucket`, from the backend's directory (not through the server). */
  objects(bucket: string): string[] {
    const root = path.join(this.dir, bucket);
    try {
      return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
        .filter((k) => !k.startsWith('.sgwtmp'))
        .sort();
    } catch {
      return [];
    }
  }

  async up(): Promise<void> {
    if (this.child) return;
    this.child = spawn(
      this.binary,
      ['--access', S3_ACCESS_KEY, '--secret', S3_SECRET_KEY, '--port', `${this.host}:${this.port}`, 'posix', this.dir],
      { stdio: 'ignore' },
    );
    // Never outlive the test process, even when it is killed between tests.
    const child = this.child;
    process.once('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 15_000;
    while (!(await reachable(this.host, this.port))) {
      if (Date.now() > deadline) throw new Error(`versitygw did not listen on ${this.host}:${this.port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the server (connections drop at once); `up()` brings it back with the same data. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
