import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRepositoryUrl, cloneInto, redact } from './git-source.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...args], { cwd, encoding: 'utf8' }).trim();

describe('git source', () => {
  let root: string;
  let repo: string;
  let first: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'krt-git-'));
    repo = path.join(root, 'repo');
    mkdirSync(path.join(repo, 'tools'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'run.sh'), 'echo v1\n');
    writeFileSync(path.join(repo, 'tools/t.sh'), 'echo tool\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'one');
    first = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(path.join(repo, 'run.sh'), 'echo v2\n');
    git(repo, 'commit', '-q', '-am', 'two');
    git(repo, 'branch', 'old', first);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const workspace = () => {
    const dir = mkdtempSync(path.join(root, 'ws-'));
    mkdirSync(path.join(dir, '.krt'));
    return dir;
  };

  it('accepts https, ssh and file URLs only', () => {
    for (const ok of ['https://h/r.git', 'ssh://git@h/r.git', 'git@github.com:o/r.git', 'file:///srv/r.git'])
      assert.equal(checkRepositoryUrl(ok), undefined, ok);
    for (const bad of ['http://h/r.git', 'git://h/r.git', 'ext::sh -c touch% /tmp/x', '/srv/r.git'])
      assert.match(checkRepositoryUrl(bad)!, /is not supported: use an https:\/\/, ssh:\/\/ \(or user@host:path\) or file:\/\/ URL$/);
    assert.equal(redact('https://user:token@h/r.git'), 'https://***@h/r.git');
  });

  it('clones the default branch, a ref, and a commit into the workspace next to .krt', async () => {
    const a = workspace();
    await cloneInto(a, { repository: `file://${repo}` }, { scratch: path.join(a, '.krt/clone') });
    assert.equal(readFileSync(path.join(a, 'run.sh'), 'utf8'), 'echo v2\n');
    assert.ok(existsSync(path.join(a, '.krt')));
    assert.equal(existsSync(path.join(a, '.krt/clone')), false);
    const b = workspace();
    await cloneInto(b, { repository: `file://${repo}`, ref: 'old' }, { scratch: path.join(b, '.krt/clone') });
    assert.equal(readFileSync(path.join(b, 'run.sh'), 'utf8'), 'echo v1\n');
    const c = workspace();
    await cloneInto(c, { repository: `file://${repo}`, commit: first }, { scratch: path.join(c, '.krt/clone') });
    assert.equal(readFileSync(path.join(c, 'run.sh'), 'utf8'), 'echo v1\n');
  });

  it('makes subPath the workspace', async () => {
    const d = workspace();
    await cloneInto(d, { repository: `file://${repo}`, subPath: 'tools' }, { scratch: path.join(d, '.krt/clone') });
    assert.equal(readFileSync(path.join(d, 't.sh'), 'utf8'), 'echo tool\n');
    assert.equal(existsSync(path.join(d, 'run.sh')), false);
    const e = workspace();
    await assert.rejects(
      cloneInto(e, { repository: `file://${repo}`, subPath: 'nope' }, { scratch: path.join(e, '.krt/clone') }),
      { message: 'spec.source.git.subPath nope does not exist in the repository' },
    );
  });

  it("fails with git's message for an unknown ref and a missing repository", async () => {
    const w = workspace();
    await assert.rejects(
      cloneInto(w, { repository: `file://${repo}`, ref: 'nope' }, { scratch: path.join(w, '.krt/clone') }),
      (err: Error) => err.name === 'GitSourceError' && /^git clone file:\/\/.* failed: .*nope/s.test(err.message),
    );
    await assert.rejects(
      cloneInto(w, { repository: `file://${root}/missing` }, { scratch: path.join(w, '.krt/clone') }),
      /failed: fatal: .*(does not appear to be a git repository|not found)/s,
    );
  });

  it('stops a clone beyond the size limit', async () => {
    const w = workspace();
    await assert.rejects(
      cloneInto(w, { repository: `file://${repo}` }, { scratch: path.join(w, '.krt/clone'), limits: { timeoutMs: 60_000, maxBytes: 10 } }),
      /failed: the repository (is larger than 10 bytes|took longer)/,
    );
  });
});
