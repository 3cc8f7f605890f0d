import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionState } from '../../lib/runtime-proto.ts';
import { startTestRuntime, type TestRuntime } from '../kit/testing.ts';
import { pythonRuntime } from './command.ts';

describe('python runtime', function () {
  // The interpreter may sit behind a version-manager shim that takes a while to start.
  this.timeout(20_000);
  let rt: TestRuntime;
  before(async () => {
    rt = await startTestRuntime(pythonRuntime());
  });
  after(() => rt.close());

  it('runs an entrypoint with args, env and outputs', async () => {
    writeFileSync(
      join(rt.workDir, 'main.py'),
      [
        'import os, sys',
        'print("hello", os.environ["NAME"], sys.argv[1:])',
        'with open(os.environ["KRUNTIME_OUTPUTS"], "a") as f:',
        '    f.write("result=ok\\n")',
      ].join('\n'),
    );
    const status = await rt.run({ entrypoint: 'main.py', args: ['a', 'b c'], env: { NAME: 'py' } });
    assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
    assert.equal(status.stdout, "hello py ['a', 'b c']\n");
    assert.equal(readFileSync(join(rt.workDir, '.krt', 'outputs'), 'utf8'), 'result=ok\n');
  });

  it('runs args joined by spaces as a program without an entrypoint', async () => {
    const status = await rt.run({ args: ['import sys;', 'print(6 * 7)'] });
    assert.equal(status.stdout, '42\n');
  });

  it('fails with the exit code of sys.exit', async () => {
    const status = await rt.run({ args: ['import sys; sys.exit(3)'] });
    assert.equal(status.state, ExecutionState.Failed);
    assert.equal(status.exitCode, 3);
    assert.equal(status.errorMessage, 'exit code 3');
  });

  it('runs unbuffered, so Status shows output while the program runs', async () => {
    const id = await rt.start({ args: ['import time; print("started"); time.sleep(30)'] });
    const deadline = Date.now() + 10_000;
    while ((await rt.client.status(id)).stdout !== 'started\n') {
      assert.ok(Date.now() < deadline, 'no output while running');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await rt.client.cancel(id);
    assert.equal((await rt.client.waitFor(id)).errorMessage, 'cancelled');
  });

  it('calls a handler function of the entrypoint with the args, printing its result', async () => {
    writeFileSync(
      join(rt.workDir, 'handler.py'),
      'def main(name, greeting="hello"):\n    return {"greeting": greeting, "name": name}\n' +
        'if __name__ == "__main__":\n    print("not as a script")\n',
    );
    const status = await rt.run({ entrypoint: 'handler.py', handler: 'main', args: ['ada'] });
    assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
    assert.equal(status.stdout, '{"greeting": "hello", "name": "ada"}\n');
  });

  it('calls a module:function handler importable from the working directory', async () => {
    writeFileSync(join(rt.workDir, 'tools.py'), 'def shout(*words):\n    return " ".join(words).upper()\n');
    const status = await rt.run({ handler: 'tools:shout', args: ['a', 'b'] });
    assert.equal(status.stdout, 'A B\n', status.stderr);
  });

  it('fails clearly for a handler that is malformed, has no module to look in, or does not exist', async () => {
    assert.equal(
      (await rt.run({ handler: 'not valid!' })).errorMessage,
      'handler "not valid!" must be "function" or "module:function"',
    );
    assert.equal(
      (await rt.run({ handler: 'main' })).errorMessage,
      'handler "main" names no module, so it needs an entrypoint',
    );
    writeFileSync(join(rt.workDir, 'empty.py'), '');
    const missing = await rt.run({ handler: 'empty:nope' });
    assert.equal(missing.state, ExecutionState.Failed);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /empty has no function 'nope'/);
  });

  it('refuses an entrypoint that escapes the working directory', async () => {
    const status = await rt.run({ entrypoint: '../x.py' });
    assert.equal(status.errorMessage, 'entrypoint "../x.py" must not contain ".."');
  });
});
