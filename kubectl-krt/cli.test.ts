import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { editDistance, main, programName, splitCommand, suggestion } from './cli.ts';

async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  const code = await main(argv, {
    argv0: '/usr/local/bin/kubectl-krt',
    signal: new AbortController().signal,
    io: {
      stdout,
      stderr,
      stdin: Readable.from([]),
      env: { KUBECONFIG: '/nonexistent' },
      stdoutIsTTY: false,
      colorLevel: 0,
    },
  });
  return { code, out, err };
}

describe('the dispatcher', () => {
  it('names itself kubectl krt when run as a plugin', () => {
    assert.equal(programName('/home/u/.krew/bin/kubectl-krt'), 'kubectl krt');
    assert.equal(programName('kubectl-krt.exe'), 'kubectl krt');
    assert.equal(programName('/usr/bin/krt'), 'krt');
  });
  it('lets global flags come before the command', () => {
    assert.deepEqual(splitCommand(['-n', 'team', '--no-color', 'logs', 'x', '-f']), {
      name: 'logs',
      rest: ['-n', 'team', '--no-color', 'x', '-f'],
    });
    assert.deepEqual(splitCommand(['--context=dev', 'list']), { name: 'list', rest: ['--context=dev'] });
    assert.deepEqual(splitCommand(['--bogus', 'list']), { name: '--bogus', rest: ['list'] });
  });
  it('suggests the command meant', () => {
    assert.equal(suggestion('lgos'), 'logs');
    assert.equal(suggestion('desc'), 'describe');
    assert.equal(suggestion('xyzzy'), undefined);
    assert.equal(editDistance('lgos', 'logs'), 1);
  });
  it('prints help on stdout with exit 0', async () => {
    const r = await runCli(['logs', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Usage:\n {2}kubectl krt logs RUN \[flags\]$/m);
    assert.match(r.out, /^ {2}-f, --follow +keep streaming/m);
    assert.equal(r.err, '');
    assert.match((await runCli([])).out, /^Commands:$/m);
    assert.match((await runCli(['help', 'run'])).out, /kubectl krt run RUNTIME/);
  });
  it('reports usage errors on stderr with exit 2 and a pointer to help', async () => {
    const r = await runCli(['run', 'bash', '--retries', 'many', '--', 'echo']);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.equal(
      r.err,
      'error: --retries must be a whole number, got "many"\nSee \'kubectl krt run --help\'.\n',
    );
    assert.equal((await runCli(['get', '-o', 'xml', 'x'])).code, 2);
    assert.match((await runCli(['version', '--', 'x'])).err, /takes no arguments after --/);
    assert.match((await runCli(['nope'])).err, /unknown command "nope" for "kubectl krt"/);
  });
  it('prints a dry-run Run without a cluster', async () => {
    const r = await runCli([
      'run',
      'bash',
      '-n',
      'dev',
      '--dry-run',
      '-o',
      'json',
      '--timeout',
      '1m',
      '--',
      'echo',
      'hi',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { generateName: 'bash-', namespace: 'dev' },
      spec: { runtime: 'bash', args: ['echo', 'hi'], timeoutSeconds: 60 },
    });
  });
  it('says when the kubeconfig cannot be read, with exit 5', async () => {
    const r = await runCli(['list', '--kubeconfig', '/nonexistent/config']);
    assert.equal(r.code, 5);
    assert.match(r.err, /^error: cannot read the kubeconfig \(.*\): check --kubeconfig or \$KUBECONFIG\n$/);
  });
});
