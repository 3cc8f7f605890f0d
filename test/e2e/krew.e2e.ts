// krew/krt.yaml as Krew itself sees it: Krew's validate-krew-manifest (the check the krew-index CI
// runs; its per-platform install step needs the release URLs, so -skip-install), then
// `kubectl krew install --manifest krew/krt.yaml --archive <linux-amd64 archive>` into a temporary
// KREW_ROOT and `kubectl krt version` through the link Krew made. Krew is built from the Go module
// proxy by krew/build-krew-tools.sh (cached in ~/.cache/kruntimes/krew-v<version>). No cluster needed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { PLUGIN_TARGETS } from '../../release/plugin-targets.ts';
import { cacheDir, KUBE_VERSION } from '../cluster/config.ts';
import { archivePath, ensurePluginDist, KREW_MANIFEST } from '../support/plugin-dist.ts';
import { REPO } from '../support/platform.ts';

const execFileAsync = promisify(execFile);
const KUBECTL_DIR = path.join(cacheDir(), `k8s-v${KUBE_VERSION}`, 'bin');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, cwd: tmpdir(), maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

describe('Krew manifest (krew/krt.yaml)', function () {
  this.timeout(900_000);
  let krewBin = '';
  let linuxArchive = '';
  let commit = '';
  const temp: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    temp.push(dir);
    return dir;
  };

  before(async () => {
    const [info, tools] = await Promise.all([
      ensurePluginDist(),
      execFileAsync('bash', [path.join(REPO, 'krew', 'build-krew-tools.sh')], { maxBuffer: 16 << 20, timeout: 840_000 }),
    ]);
    krewBin = tools.stdout.trim();
    linuxArchive = archivePath(info, 'linux-amd64');
    commit = info.build.commit;
  });

  after(() => {
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('every archive holds LICENSE and an executable of its platform with the SEA blob injected', async () => {
    const info = await ensurePluginDist();
    // Machine types: ELF e_machine, Mach-O cputype, PE machine.
    const expected: Record<string, { format: string; machine: number }> = {
      'linux-amd64': { format: 'elf', machine: 0x3e },
      'linux-arm64': { format: 'elf', machine: 0xb7 },
      'darwin-amd64': { format: 'macho', machine: 0x01000007 },
      'darwin-arm64': { format: 'macho', machine: 0x0100000c },
      'windows-amd64': { format: 'pe', machine: 0x8664 },
    };
    for (const target of PLUGIN_TARGETS) {
      const dir = tempDir(`krt-archive-${target.platform}-`);
      await execFileAsync('tar', ['-xzf', archivePath(info, target.platform), '-C', dir]);
      assert.deepEqual(readdirSync(dir).sort(), [target.binary, 'LICENSE'].sort(), target.platform);
      const exe = readFileSync(path.join(dir, target.binary));
      const want = expected[target.platform];
      if (want.format === 'elf') {
        assert.equal(exe.toString('latin1', 0, 4), '\x7fELF', target.platform);
        assert.equal(exe.readUInt16LE(18), want.machine, target.platform);
        assert.ok(statSync(path.join(dir, target.binary)).mode & 0o111, `${target.platform} is executable`);
      } else if (want.format === 'macho') {
        assert.equal(exe.readUInt32LE(0), 0xfeedfacf, target.platform);
        assert.equal(exe.readUInt32LE(4), want.machine, target.platform);
        // postject's Mach-O segment for the blob.
        assert.ok(exe.includes(Buffer.from('NODE_SEA\0\0\0\0\0\0\0\0')), `${target.platform} has the NODE_SEA segment`);
      } else {
        assert.equal(exe.toString('latin1', 0, 2), 'MZ', target.platform);
        const pe = exe.readUInt32LE(0x3c);
        assert.equal(exe.toString('latin1', pe, pe + 4), 'PE\0\0', target.platform);
        assert.equal(exe.readUInt16LE(pe + 4), want.machine, target.platform);
      }
      // postject flips Node's SEA fuse from :0 to :1 when it injects the blob.
      assert.ok(exe.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'), `${target.platform}: SEA blob injected`);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points every platform at the GitHub release of this version with the built archive\'s sha256', () => {
    const manifest = parse(readFileSync(KREW_MANIFEST, 'utf8'));
    assert.equal(manifest.spec.version, `v${pkg.version}`);
    const sums = readFileSync(path.join(REPO, 'dist', `kubectl-krt_v${pkg.version}_sha256sums.txt`), 'utf8');
    for (const p of manifest.spec.platforms as Array<{ uri: string; sha256: string }>) {
      const file = path.basename(p.uri);
      assert.equal(p.uri, `${pkg.homepage}/releases/download/v${pkg.version}/${file}`);
      assert.ok(sums.includes(`${p.sha256}  ${file}\n`), `${file} ${p.sha256} in the sha256 sums`);
    }
  });

  it('passes validate-krew-manifest, which refuses the same manifest with an uppercase sha256', async () => {
    const ok = await exec(path.join(krewBin, 'validate-krew-manifest'), ['-manifest', KREW_MANIFEST, '-skip-install'], process.env);
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
    assert.match(ok.stderr, /structural validation OK/);
    assert.match(ok.stderr, /all spec\.platform\[\] items are used/);
    assert.match(ok.stderr, /no overlapping spec\.platform\[\]\.selector/);
    const dir = tempDir('krt-krew-bad-');
    const bad = path.join(dir, 'krt.yaml');
    writeFileSync(bad, readFileSync(KREW_MANIFEST, 'utf8').replace(/sha256: ([a-f0-9]{64})/, (_, s: string) => `sha256: ${s.toUpperCase()}`));
    const refused = await exec(path.join(krewBin, 'validate-krew-manifest'), ['-manifest', bad, '-skip-install'], process.env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /sha256/i);
  });

  it('kubectl krew install --manifest --archive installs a kubectl krt that runs', async () => {
    const krewRoot = tempDir('krt-krew-root-');
    const env = { PATH: `${krewBin}:${KUBECTL_DIR}:/usr/bin:/bin`, HOME: krewRoot, KREW_ROOT: krewRoot };
    const install = await exec(path.join(KUBECTL_DIR, 'kubectl'), ['krew', 'install', `--manifest=${KREW_MANIFEST}`, `--archive=${linuxArchive}`], env);
    assert.equal(install.code, 0, `${install.stdout}\n${install.stderr}`);
    assert.match(install.stderr, /Installed plugin: krt/);
    assert.match(install.stderr, /kubectl krt install/, 'the caveats say how to install the platform');
    const link = path.join(krewRoot, 'bin', 'kubectl-krt');
    assert.match(readlinkSync(link), new RegExp(`/store/krt/v${pkg.version.replaceAll('.', '\\.')}/kubectl-krt$`));
    assert.ok(existsSync(path.join(krewRoot, 'store', 'krt', `v${pkg.version}`, 'LICENSE')));
    // Krew's bin directory first, and no Node anywhere on PATH.
    const version = await exec(path.join(KUBECTL_DIR, 'kubectl'), ['krt', 'version', '--client'], {
      PATH: `${path.join(krewRoot, 'bin')}:${KUBECTL_DIR}`,
      HOME: krewRoot,
    });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^Client Version: +${pkg.version.replaceAll('.', '\\.')}\\nClient Commit: +${commit}\\n`));
  });
});
