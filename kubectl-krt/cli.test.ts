import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { editDistance, main, programName, splitCommand, suggestion } from './cli.ts';

async function runCli(argv: string[], stdinText = ''): Promise<{ code: number; out: string; err: string }> {
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
      stdin: Readable.from(stdinText ? [Buffer.from(stdinText)] : []),
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

const WORKFLOW = `apiVersion: kruntimes.io/v1alpha1
kind: Workflow
metadata: { generateName: etl- }
spec:
  params: [{ name: date }]
  tasks:
    - { name: extract, run: { runtime: bash, args: ["echo $(params.date)"] } }
`;

describe('the dispatcher: command groups (workflow)', () => {
  it('picks the verb after the group, global flags allowed before it', async () => {
    const r = await runCli(['wf', '-n', 'dev', 'run', '-f', '-', '-p', 'date=today', '--dry-run', '-o', 'json'], WORKFLOW);
    assert.equal(r.code, 0, r.err);
    const wf = JSON.parse(r.out);
    assert.deepEqual(wf.metadata, { generateName: 'etl-', namespace: 'dev' });
    assert.deepEqual(wf.spec.params, [{ name: 'date', value: 'today' }]);
  });
  it('prints the group help listing its commands, and each command its own', async () => {
    for (const argv of [['workflow'], ['workflow', '--help'], ['help', 'workflow']]) {
      const r = await runCli(argv);
      assert.equal(r.code, 0);
      assert.match(r.out, /^Commands:\n {2}run +create a Workflow/m, argv.join(' '));
    }
    const logs = await runCli(['workflow', 'logs', '--help']);
    assert.match(logs.out, /^ {2}kubectl krt workflow logs NAME/m);
    assert.match(logs.out, /^ {2}-f, --follow +keep streaming/m);
    assert.match((await runCli(['help', 'workflow', 'run'])).out, /^ {2}-p, --param NAME=VALUE/m);
  });
  it('reports an unknown verb and bad input as usage errors, sending nothing', async () => {
    const unknown = await runCli(['workflow', 'lgos', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown workflow command "lgos": did you mean "logs"\?/);
    const undeclared = await runCli(['workflow', 'run', '-n', 'dev', '-f', '-', '-p', 'day=1', '--dry-run'], WORKFLOW);
    assert.equal(undeclared.code, 2);
    assert.equal(
      undeclared.err,
      'error: -p day: the Workflow has no param "day"; its params are date\nSee \'kubectl krt workflow run --help\'.\n',
    );
    const missing = await runCli(['workflow', 'run', '-n', 'dev', '-f', '-'], WORKFLOW);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /the Workflow would be refused: spec\.params\[0\] \(date\) has no value: give one with -p date=VALUE/);
    assert.equal((await runCli(['workflow', 'run', '-n', 'dev', '-f', '-', '-p', 'date=1', '--timeout', '5m'], WORKFLOW)).code, 2);
    assert.equal((await runCli(['workflow', 'run', '-f', '-', '--follow', '-o', 'json'], WORKFLOW)).code, 2);
    assert.match((await runCli(['workflow', 'run', '-f', '/nonexistent/wf.yaml'])).err, /cannot read -f \/nonexistent\/wf\.yaml: ENOENT/);
  });
});
