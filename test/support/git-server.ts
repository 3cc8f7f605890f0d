// Git repositories for the git-source tests: a bare repository on the host (reachable from pods
// through file://, as the node runs containers without a separate root filesystem) and a real
// smart-HTTP git server (git http-backend behind a small Node https server with a self-signed
// certificate) listening at the cluster gateway.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], { cwd, encoding: 'utf8' }).trim();

export interface GitFixture {
  dir: string;
  /** The bare repository: serve it, or use file://<bare>. */
  bare: string;
  /** The first commit (run.sh prints "v1") and the tip of main ("v2"). */
  first: string;
  main: string;
}

/** A bare repository with main (two commits), a branch `old` at the first, and tools/hello.sh. */
export function createRepository(): GitFixture {
  // Not below /tmp: runtimed (which clones file:// URLs) has its own /tmp, an emptyDir, which hides
  // the host's /tmp from it on the local node.
  const dir = mkdtempSync(path.join('/var/tmp', 'krt-git-'));
  const work = path.join(dir, 'work');
  mkdirSync(path.join(work, 'tools'), { recursive: true });
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(work, 'run.sh'), '#!/bin/bash\necho "v1 $(cat data.txt)"\n', { mode: 0o755 });
  writeFileSync(path.join(work, 'data.txt'), 'from git\n');
  writeFileSync(path.join(work, 'tools/hello.sh'), '#!/bin/bash\necho "hello from $(basename "$PWD")"\n', { mode: 0o755 });
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'v1');
  const first = git(work, 'rev-parse', 'HEAD');
  writeFileSync(path.join(work, 'run.sh'), '#!/bin/bash\necho "v2 $(cat data.txt)"\n', { mode: 0o755 });
  git(work, 'commit', '-q', '-am', 'v2');
  const main = git(work, 'rev-parse', 'HEAD');
  git(work, 'branch', 'old', first);
  const bare = path.join(dir, 'repo.git');
  git(dir, 'clone', '-q', '--bare', work, bare);
  git(bare, 'config', 'http.receivepack', 'false');
  return { dir, bare, first, main };
}

export function removeRepository(f: GitFixture): void {
  rmSync(f.dir, { recursive: true, force: true });
}

/** git http-backend over https at host:port, serving the bare repository's parent directory. */
export class GitHttpsServer {
  readonly url: string;
  /** The server's self-signed certificate (PEM): what a client must trust to clone from it. */
  readonly certificate: string;
  private readonly server: https.Server;

  private constructor(server: https.Server, url: string, certificate: string) {
    this.server = server;
    this.url = url;
    this.certificate = certificate;
  }

  static async start(options: { host: string; root: string; scratch: string }): Promise<GitHttpsServer> {
    const key = path.join(options.scratch, 'git-tls.key');
    const cert = path.join(options.scratch, 'git-tls.crt');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${options.host}`, '-addext', `subjectAltName=IP:${options.host}`, '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://git');
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: options.root,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          REMOTE_ADDR: req.socket.remoteAddress ?? '',
          ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        },
      });
      req.pipe(cgi.stdin);
      // CGI output: headers, a blank line, then the body.
      let head = Buffer.alloc(0);
      let headersDone = false;
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) return void res.write(chunk);
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        headersDone = true;
        let status = 200;
        for (const line of head.subarray(0, end).toString().split('\r\n')) {
          const i = line.indexOf(':');
          const name = line.slice(0, i).trim();
          const value = line.slice(i + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
          else res.setHeader(name, value);
        }
        res.writeHead(status);
        res.write(head.subarray(end + 4));
      });
      cgi.on('close', () => {
        if (!headersDone) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, options.host, resolve));
    const { port } = server.address() as AddressInfo;
    return new GitHttpsServer(server, `https://${options.host}:${port}`, readFileSync(cert, 'utf8'));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
