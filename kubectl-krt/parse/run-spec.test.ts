import assert from 'node:assert/strict';
import { UsageError } from '../errors.ts';
import { buildRun, type RunFlags, sourceText } from './run-spec.ts';

const base: RunFlags = { runtime: 'bash', args: [], env: [], labels: [] };

describe('buildRun', () => {
  it('turns args after -- into a command Run named after the runtime', () => {
    const { run, warnings } = buildRun({ ...base, args: ['echo', 'hi'] }, 'dev', {});
    assert.deepEqual(run, {
      apiVersion: 'kruntimes.io/v1alpha1',
      kind: 'Run',
      metadata: { generateName: 'bash-', namespace: 'dev' },
      spec: { runtime: 'bash', args: ['echo', 'hi'] },
    });
    assert.deepEqual(warnings, []);
  });

  it('writes inline source to its file name as entrypoint, with every optional field', () => {
    const { run } = buildRun(
      {
        ...base,
        runtime: 'python',
        source: { inline: 'print(1)\n', entrypoint: 'main.py' },
        args: ['--fast'],
        env: ['A=1'],
        labels: ['team=data'],
        timeout: '30s',
        retries: '2',
        retryBackoff: '5s',
        ttl: '1h',
        name: 'job-1',
      },
      'default',
      {},
    );
    assert.deepEqual(run.metadata, { name: 'job-1', namespace: 'default', labels: { team: 'data' } });
    assert.deepEqual(run.spec, {
      runtime: 'python',
      args: ['--fast'],
      source: { inline: 'print(1)\n' },
      entrypoint: 'main.py',
      env: { A: '1' },
      timeoutSeconds: 30,
      retryPolicy: { maxAttempts: 3, backoffSeconds: 5 },
      ttlSecondsAfterFinished: 3600,
    });
  });

  it('lets --entrypoint rename the source file', () => {
    const { run } = buildRun(
      { ...base, source: { inline: 'echo', entrypoint: 'script' }, entrypoint: 'bin/run.sh' },
      'ns',
      {},
    );
    assert.equal(run.spec.entrypoint, 'bin/run.sh');
  });

  it('warns when an env name looks like a secret', () => {
    const { warnings } = buildRun(
      { ...base, args: ['env'], env: ['DB_PASSWORD=x', 'MESSAGE=hi'] },
      'team-a',
      {},
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /--env DB_PASSWORD looks like a secret: .* namespace team-a/);
  });

  it('refuses a Run with nothing to run, saying how to give it something', () => {
    assert.throws(
      () => buildRun(base, 'ns', {}),
      (err: unknown) => err instanceof UsageError && /--file PATH, -f - .* --inline TEXT/.test(err.message),
    );
  });

  it('refuses what the apiserver would refuse, with its message', () => {
    assert.throws(
      () => buildRun({ ...base, source: { inline: 'x', entrypoint: '..' } }, 'ns', {}),
      /the Run would be refused: spec.entrypoint must not contain a '..' path segment/,
    );
    assert.throws(
      () => buildRun({ ...base, runtime: 'Bash', args: ['x'] }, 'ns', {}),
      /spec.runtime must be/,
    );
  });

  it('checks names, durations and retries', () => {
    assert.throws(() => buildRun({ ...base, args: ['x'], name: 'Bad_Name' }, 'ns', {}), /--name "Bad_Name"/);
    assert.throws(
      () => buildRun({ ...base, args: ['x'], name: 'a', generateName: 'b-' }, 'ns', {}),
      /exclude each other/,
    );
    assert.throws(
      () => buildRun({ ...base, args: ['x'], timeout: '0s' }, 'ns', {}),
      /--timeout must be at least 1s/,
    );
    assert.throws(() => buildRun({ ...base, args: ['x'], timeout: '8d' }, 'ns', {}), /at most 604800s/);
    assert.throws(() => buildRun({ ...base, args: ['x'], retries: '-1' }, 'ns', {}), /whole number/);
    assert.throws(() => buildRun({ ...base, args: ['x'], retries: '100' }, 'ns', {}), /at most 99/);
    assert.equal(
      buildRun({ ...base, args: ['x'], retries: '0' }, 'ns', {}).run.spec.retryPolicy?.maxAttempts,
      1,
    );
  });

  it('takes --retry-on repeated or comma-separated, and refuses a reason that is never retried', () => {
    const { run } = buildRun({ ...base, args: ['x'], retries: '2', retryOn: ['Timeout,PodGone', 'Timeout'] }, 'ns', {});
    assert.deepEqual(run.spec.retryPolicy, { retryOn: ['Timeout', 'PodGone'], maxAttempts: 3 });
    assert.throws(
      () => buildRun({ ...base, args: ['x'], retryOn: ['Cancelled'] }, 'ns', {}),
      /--retry-on "Cancelled" is not a retryable reason: one of Failed, Timeout/,
    );
  });
});

describe('sourceText', () => {
  it('takes --request NAME=N repeated or comma-separated into spec.resources.requests', () => {
    const cmd = { ...base, args: ['nvidia-smi'] };
    assert.equal(buildRun(cmd, 'dev', {}).run.spec.resources, undefined);
    const { run } = buildRun({ ...cmd, requests: ['gpu=1', 'licence.seat=2, runs=3'] }, 'dev', {});
    assert.deepEqual(run.spec.resources, { requests: { gpu: 1, 'licence.seat': 2, runs: 3 } });
    const refused = (requests: string[], message: RegExp) =>
      assert.throws(() => buildRun({ ...cmd, requests }, 'dev', {}), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, message);
        return true;
      });
    refused(['gpu'], /^--request "gpu" must be NAME=AMOUNT, e\.g\. --request gpu=1$/);
    refused(['gpu=1.5'], /^--request "gpu=1\.5": the amount must be a whole number from 0 to 2147483647, got "1\.5"$/);
    refused(['gpu=-1'], /the amount must be a whole number/);
    refused(['gpu=one'], /the amount must be a whole number/);
    refused(['gpu=99999999999'], /the amount must be a whole number/);
    refused(['GPU=1'], /^--request "GPU=1": "GPU" is not a resource name: lowercase letters/);
    refused(['nvidia.com/gpu=1'], /is not a resource name/);
    refused(['gpu=1', 'gpu=2'], /^--request gpu is given more than once$/);
    refused(['runs=0'], /^the Run would be refused: spec\.resources\.requests\.runs must be at least 1$/);
  });

  it('decodes UTF-8 and refuses other bytes', () => {
    assert.equal(sourceText(Buffer.from('echo héllo\n'), 'x'), 'echo héllo\n');
    assert.throws(
      () => sourceText(Buffer.from([0xff, 0xfe]), '--file a.bin'),
      /--file a.bin is not UTF-8 text/,
    );
  });
});
