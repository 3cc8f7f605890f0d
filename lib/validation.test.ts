import assert from 'node:assert/strict';
import { Limits, type RunSpec, type RuntimeSpec, type WorkflowTask } from './api.ts';
import {
  CelMessage,
  charLength,
  findDependencyCycle,
  isValidEnvName,
  validateEntrypoint,
  validateRunSpec,
  validateRunSpecUpdate,
  validateRuntimeSpec,
  validateWorkflowSpec,
} from './validation.ts';

const hello: RunSpec = { runtime: 'bash', source: { inline: 'echo hello\n' }, entrypoint: 'script' };

describe('validateEntrypoint', () => {
  for (const ok of ['script', 'dir/main.py', './run.sh', 'a/b/c', '..hidden', 'a..b/c', 'x/..y', '.../z']) {
    it(`accepts ${ok}`, () => assert.equal(validateEntrypoint(ok), undefined));
  }
  it('refuses absolute paths', () => {
    assert.equal(validateEntrypoint('/etc/passwd'), CelMessage.entrypointAbsolute);
    assert.equal(validateEntrypoint('/'), CelMessage.entrypointAbsolute);
  });
  for (const bad of ['..', '../x', 'a/../../x', 'a/..', 'a/../b', '../']) {
    it(`refuses the '..' segment in ${bad}`, () =>
      assert.equal(validateEntrypoint(bad), CelMessage.entrypointDotDot));
  }
  it('refuses NUL', () => assert.equal(validateEntrypoint('a\0b'), CelMessage.entrypointNul));
  it('refuses empty and overlong paths', () => {
    assert.match(validateEntrypoint('') ?? '', /must not be empty/);
    assert.equal(validateEntrypoint('a'.repeat(Limits.entrypointBytes)), undefined);
    assert.match(validateEntrypoint('a'.repeat(Limits.entrypointBytes + 1)) ?? '', /at most 1024 characters/);
  });
});

describe('isValidEnvName', () => {
  it('accepts shell variable names', () => {
    for (const name of ['A', '_', 'MESSAGE', 'a_b_9', '_X1']) assert.ok(isValidEnvName(name), name);
  });
  it('refuses anything else', () => {
    for (const name of ['', '1A', 'A-B', 'A B', 'A=B', 'É', 'A.B']) assert.ok(!isValidEnvName(name), name);
    assert.ok(isValidEnvName('A'.repeat(Limits.envNameBytes)));
    assert.ok(!isValidEnvName('A'.repeat(Limits.envNameBytes + 1)));
  });
});

describe('charLength', () => {
  it('counts code points as the apiserver counts maxLength', () => {
    assert.equal(charLength('abc'), 3);
    assert.equal(charLength('é'), 1);
    assert.equal(charLength('😀x'), 2);
    assert.equal(charLength('\ud800'), 1); // a lone surrogate still counts once
  });
});

describe('validateRunSpec', () => {
  it('accepts the Usage Guide examples', () => {
    assert.deepEqual(validateRunSpec(hello), []);
    assert.deepEqual(validateRunSpec({ ...hello, env: { MESSAGE: 'hello' } }), []);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', args: ['echo', 'hi'] }), []);
  });

  it('requires something to execute and an entrypoint for inline source', () => {
    assert.deepEqual(validateRunSpec({ runtime: 'bash' }), [CelMessage.nothingToRun]);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', source: { inline: 'x' } }), [
      CelMessage.inlineNeedsEntrypoint,
    ]);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', entrypoint: 'bin/run' }), []);
  });

  it('checks the runtime name', () => {
    assert.deepEqual(validateRunSpec({ ...hello, runtime: '' }), ['spec.runtime is required']);
    assert.equal(validateRunSpec({ ...hello, runtime: 'Bash' }).length, 1);
    assert.equal(validateRunSpec({ ...hello, runtime: 'a'.repeat(64) }).length, 1);
  });

  it('bounds args', () => {
    const args = Array.from({ length: Limits.args }, () => 'x');
    assert.deepEqual(validateRunSpec({ runtime: 'bash', args }), []);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', args: [...args, 'x'] }), [
      'spec.args must have at most 256 items',
    ]);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', args: ['x'.repeat(Limits.argBytes + 1)] }), [
      `spec.args[0] must be at most ${Limits.argBytes} characters`,
    ]);
  });

  it('bounds env and checks its names', () => {
    const env = Object.fromEntries(Array.from({ length: Limits.envEntries }, (_, i) => [`V${i}`, 'x']));
    assert.deepEqual(validateRunSpec({ ...hello, env }), []);
    assert.deepEqual(validateRunSpec({ ...hello, env: { ...env, EXTRA: 'x' } }), [
      'spec.env must have at most 256 entries',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, env: { 'A-B': 'x' } }), [CelMessage.envName]);
    assert.deepEqual(validateRunSpec({ ...hello, env: { A: 'x'.repeat(Limits.envValueBytes + 1) } }), [
      `spec.env.A must be at most ${Limits.envValueBytes} characters`,
    ]);
  });

  it('bounds inline source in characters', () => {
    const max = 'x'.repeat(Limits.inlineSourceBytes);
    assert.deepEqual(validateRunSpec({ ...hello, source: { inline: max } }), []);
    // Multi-byte characters count once each, as in the CRD.
    assert.deepEqual(
      validateRunSpec({ ...hello, source: { inline: 'é'.repeat(Limits.inlineSourceBytes) } }),
      [],
    );
    assert.deepEqual(validateRunSpec({ ...hello, source: { inline: `${max}x` } }), [
      'spec.source.inline must be at most 262144 characters',
    ]);
  });

  it('checks source', () => {
    const git = { repository: 'https://example.invalid/repo.git', commit: 'a'.repeat(40) };
    assert.deepEqual(validateRunSpec({ runtime: 'bash', source: { git }, entrypoint: 'main.sh' }), []);
    assert.deepEqual(validateRunSpec({ runtime: 'bash', source: {}, entrypoint: 'x' }), [
      CelMessage.sourceExactlyOne,
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, source: { inline: 'x', git } }), [
      CelMessage.sourceExactlyOne,
    ]);
    assert.deepEqual(
      validateRunSpec({
        runtime: 'bash',
        source: { git: { repository: '--upload-pack=x' } },
        entrypoint: 'x',
      }),
      [CelMessage.gitRepositoryDash],
    );
    assert.deepEqual(
      validateRunSpec({ runtime: 'bash', source: { git: { ...git, ref: '-b' } }, entrypoint: 'x' }),
      [CelMessage.gitRefDash],
    );
    assert.equal(
      validateRunSpec({ runtime: 'bash', source: { git: { ...git, commit: 'abc123' } }, entrypoint: 'x' })
        .length,
      1,
    );
  });

  it('checks numeric ranges', () => {
    assert.deepEqual(
      validateRunSpec({ ...hello, timeoutSeconds: 1, retryPolicy: { maxAttempts: 100, backoffSeconds: 0 } }),
      [],
    );
    assert.deepEqual(validateRunSpec({ ...hello, timeoutSeconds: 0 }), [
      'spec.timeoutSeconds must be at least 1',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, timeoutSeconds: 1.5 }), [
      'spec.timeoutSeconds must be an integer',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, timeoutSeconds: Limits.timeoutSecondsMax + 1 }), [
      `spec.timeoutSeconds must be at most ${Limits.timeoutSecondsMax}`,
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, retryPolicy: { maxAttempts: 0 } }), [
      'spec.retryPolicy.maxAttempts must be at least 1',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, retryPolicy: { backoffSeconds: 3601 } }), [
      'spec.retryPolicy.backoffSeconds must be at most 3600',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, ttlSecondsAfterFinished: -1 }), [
      'spec.ttlSecondsAfterFinished must be at least 0',
    ]);
  });

  it('checks retryOn against the retryable reasons', () => {
    assert.deepEqual(validateRunSpec({ ...hello, retryPolicy: { retryOn: ['Timeout', 'PodGone'] } } as RunSpec), []);
    assert.deepEqual(validateRunSpec({ ...hello, retryPolicy: { retryOn: ['Cancelled'] } } as unknown as RunSpec), [
      'spec.retryPolicy.retryOn[0]: Unsupported value: "Cancelled": supported values: "Failed", "Timeout", "PrepareSource", "RuntimeExecute", "RuntimeError", "ExecutionLost", "PodGone", "PodTerminating", "PodUnhealthy", "ArtifactUpload"',
    ]);
    assert.deepEqual(validateRunSpec({ ...hello, retryPolicy: { retryOn: ['Timeout', 'Timeout'] } } as RunSpec), [
      'spec.retryPolicy.retryOn[1]: Duplicate value: "Timeout"',
    ]);
  });

  it('checks resource requests: names, whole non-negative amounts, runs at least 1', () => {
    const req = (requests: Record<string, unknown>) =>
      validateRunSpec({ ...hello, resources: { requests: requests as Record<string, number> } });
    assert.deepEqual(req({ gpu: 1, runs: 2, 'licence.seat': 0 }), []);
    assert.deepEqual(req({ GPU: 1 }), [CelMessage.requestNames]);
    assert.deepEqual(req({ ['g'.repeat(Limits.resourceNameBytes + 1)]: 1 }), [CelMessage.requestNames]);
    assert.deepEqual(req({ gpu: 1.5 }), ['spec.resources.requests.gpu must be an integer']);
    assert.deepEqual(req({ gpu: '1' }), ['spec.resources.requests.gpu must be an integer']);
    assert.deepEqual(req({ gpu: -1 }), ['spec.resources.requests.gpu must be at least 0']);
    assert.deepEqual(req({ runs: 0 }), [CelMessage.requestRuns]);
    const many = Object.fromEntries(Array.from({ length: Limits.resourceNames + 1 }, (_, i) => [`r${i}`, 1]));
    assert.deepEqual(req(many), [`spec.resources.requests must have at most ${Limits.resourceNames} entries`]);
  });
  it('reports the entrypoint problem', () => {
    assert.deepEqual(validateRunSpec({ ...hello, entrypoint: '../x' }), [CelMessage.entrypointDotDot]);
  });
});

describe('validateRunSpecUpdate', () => {
  const stored: RunSpec = { ...hello, retryPolicy: { maxAttempts: 1, backoffSeconds: 1 } };

  it('allows cancelling and changing the TTL', () => {
    assert.deepEqual(
      validateRunSpecUpdate(stored, { ...stored, cancelRequested: true, ttlSecondsAfterFinished: 5 }),
      [],
    );
    assert.deepEqual(
      validateRunSpecUpdate({ ...stored, cancelRequested: false }, { ...stored, cancelRequested: true }),
      [],
    );
  });

  it('refuses changes of what defines the execution', () => {
    assert.deepEqual(validateRunSpecUpdate(stored, { ...stored, runtime: 'python' }), [
      CelMessage.runtimeImmutable,
    ]);
    assert.deepEqual(validateRunSpecUpdate(stored, { ...stored, args: ['x'] }), [CelMessage.argsImmutable]);
    assert.deepEqual(validateRunSpecUpdate(stored, { ...stored, source: { inline: 'other' } }), [
      CelMessage.sourceImmutable,
    ]);
    assert.deepEqual(validateRunSpecUpdate(stored, { ...stored, retryPolicy: undefined }), [
      CelMessage.retryPolicyImmutable,
    ]);
    assert.deepEqual(validateRunSpecUpdate({ ...stored, env: { A: '1' } }, { ...stored, env: { A: '2' } }), [
      CelMessage.envImmutable,
    ]);
    assert.deepEqual(validateRunSpecUpdate(stored, { ...stored, resources: { requests: { gpu: 1 } } }), [
      CelMessage.resourcesImmutable,
    ]);
    // Key order is not a change.
    assert.deepEqual(
      validateRunSpecUpdate({ ...stored, env: { A: '1', B: '2' } }, { ...stored, env: { B: '2', A: '1' } }),
      [],
    );
  });

  it('refuses withdrawing a cancellation', () => {
    const cancelled = { ...stored, cancelRequested: true };
    assert.deepEqual(validateRunSpecUpdate(cancelled, { ...stored, cancelRequested: false }), [
      CelMessage.cancelOneWay,
    ]);
    assert.deepEqual(validateRunSpecUpdate(cancelled, stored), [CelMessage.cancelOneWay]);
  });
});

describe('validateRuntimeSpec', () => {
  const spec: RuntimeSpec = {
    replicas: 2,
    capacity: { resources: { runs: 4 } },
    template: { spec: { containers: [{ name: 'runtime', image: 'kruntimes-bash-runtime:latest' }] } },
  };

  it('accepts the Usage Guide Runtime', () => assert.deepEqual(validateRuntimeSpec(spec, 'bash'), []));

  it('requires the first container to be runtime and keeps runtimed reserved', () => {
    const wrong = { ...spec, template: { spec: { containers: [{ name: 'main', image: 'x' }] } } };
    assert.deepEqual(validateRuntimeSpec(wrong), [CelMessage.firstContainer]);
    const sidecar = {
      ...spec,
      template: {
        spec: {
          containers: [
            { name: 'runtime', image: 'x' },
            { name: 'runtimed', image: 'y' },
          ],
        },
      },
    };
    assert.deepEqual(validateRuntimeSpec(sidecar), [CelMessage.runtimedReserved]);
  });

  it('checks capacity and the artifact store', () => {
    assert.deepEqual(validateRuntimeSpec({ ...spec, capacity: { resources: { runs: 0 } } }), [
      CelMessage.capacityRuns,
    ]);
    // A quoted number, as YAML may carry it: the CRD's int-or-string map lets it through the schema.
    const quoted = { resources: { runs: '4' as unknown as number } };
    assert.deepEqual(validateRuntimeSpec({ ...spec, capacity: quoted }), [CelMessage.capacityRuns]);
    assert.deepEqual(validateRuntimeSpec({ ...spec, capacity: { resources: { runs: 1, GPU: 1 } } }), [
      CelMessage.capacityNames,
    ]);
    assert.deepEqual(validateRuntimeSpec({ ...spec, capacity: { resources: { runs: 1, gpu: '2', seat: 0 } } }), []);
    for (const bad of [-1, 1.5, '1Gi', '500m'])
      assert.deepEqual(validateRuntimeSpec({ ...spec, capacity: { resources: { runs: 1, gpu: bad } } }), [
        CelMessage.capacityAmounts,
      ]);
    assert.deepEqual(
      validateRuntimeSpec({
        ...spec,
        artifactStore: { filesystem: { claimName: 'a' }, s3: { bucket: 'b', credentialsSecretRef: { name: 's' } } },
      }),
      [CelMessage.artifactStoreExactlyOne],
    );
    assert.deepEqual(
      validateRuntimeSpec({ ...spec, artifactStore: { filesystem: { claimName: 'a', subPath: 'x/../..' } } }),
      [CelMessage.artifactPathDotDot],
    );
  });

  it('checks the Runtime name', () => {
    assert.deepEqual(validateRuntimeSpec(spec, 'my.runtime'), [CelMessage.runtimeName]);
  });
});

describe('Workflow validation', () => {
  const echo: RunSpec = { runtime: 'bash', args: ['echo'] };
  const task = (name: string, dependsOn?: string[]): WorkflowTask => ({ name, dependsOn, run: echo });

  it('accepts a DAG', () => {
    assert.deepEqual(
      validateWorkflowSpec({ tasks: [task('a'), task('b', ['a']), task('c', ['a', 'b'])] }),
      [],
    );
  });

  it('names the offending task as the CRD does', () => {
    assert.deepEqual(validateWorkflowSpec({ tasks: [task('a', ['a'])] }), [
      CelMessage.taskSelfDependency('a'),
    ]);
    assert.deepEqual(validateWorkflowSpec({ tasks: [task('a'), task('b', ['nope'])] }), [
      CelMessage.taskUnknownDependency('b'),
    ]);
    assert.deepEqual(validateWorkflowSpec({ tasks: [task('a'), task('a')] }), [
      CelMessage.taskDuplicate('a'),
    ]);
    assert.deepEqual(validateWorkflowSpec({ tasks: [task('a', ['b']), task('b', ['a'])] }), [
      CelMessage.taskCycle('a'),
    ]);
  });

  it('finds longer cycles, which CEL cannot see', () => {
    const tasks = [task('a', ['c']), task('b', ['a']), task('c', ['b']), task('d')];
    assert.deepEqual(findDependencyCycle(tasks), ['a', 'c', 'b', 'a']);
    assert.deepEqual(validateWorkflowSpec({ tasks }), [
      'spec.tasks have a dependency cycle: a -> c -> b -> a',
    ]);
    assert.equal(findDependencyCycle([task('a'), task('b', ['a'])]), undefined);
  });

  it("checks each task's run", () => {
    assert.deepEqual(
      validateWorkflowSpec({ tasks: [{ name: 'a', run: { runtime: 'bash', entrypoint: '/x' } }] }),
      [`spec.tasks[0].run: ${CelMessage.entrypointAbsolute}`],
    );
  });
});
