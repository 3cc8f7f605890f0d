import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionState } from '../../../lib/runtime-proto.ts';
import { startTestRuntime, type TestRuntime } from '../../kit/testing.ts';
import { nodeRuntime } from './command.ts';

describe('example node runtime', () => {
  let rt: TestRuntime;
  before(async () => {
    rt = await startTestRuntime(nodeRuntime());
  });
  after(() => rt.close());

  it('runs an entrypoint with args and writes outputs', async () => {
    writeFileSync(
      join(rt.workDir, 'main.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        "console.log('hello', process.argv.slice(2).join(','));",
        "appendFileSync(process.env.KRUNTIME_OUTPUTS, 'answer=42\\n');",
      ].join('\n'),
    );
    const status = await rt.run({ entrypoint: 'main.mjs', args: ['a', 'b'] });
    assert.equal(status.state, ExecutionState.Succeeded, status.stderr);
    assert.equal(status.stdout, 'hello a,b\n');
  });

  it('evaluates args as a program without an entrypoint', async () => {
    const status = await rt.run({ args: ['console.log(6 *', '7)'] });
    assert.equal(status.stdout, '42\n');
  });

  it('fails with the exit code', async () => {
    const status = await rt.run({ args: ['process.exit(3)'] });
    assert.equal(status.exitCode, 3);
    assert.equal(status.errorMessage, 'exit code 3');
  });
});
