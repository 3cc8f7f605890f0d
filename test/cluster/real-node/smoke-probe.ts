// Run by smoke.ts inside the smoke check's network namespace (`ip netns exec … node smoke-probe.ts
// <address>`): talks to a bash Runtime Server started from the built image under containerd/runc —
// Health, then one Execute of a script that reports the user it runs as — and prints the result as
// JSON on stdout. Exits non-zero when the server never answers.
import { RuntimeServerClient } from '../../../lib/runtime-client.ts';

const address = process.argv[2] ?? '127.0.0.1:19091';
const client = new RuntimeServerClient({ address, callTimeoutMs: 2000 });
const deadline = Date.now() + 30_000;
try {
  let health;
  for (;;) {
    try {
      health = await client.health();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await client.execute({ id: 'smoke', args: ['echo "uid=$(id -u) gid=$(id -g) user=$(id -un) bash=${BASH_VERSION}"'], workingDir: '/tmp' });
  const done = await client.waitFor('smoke');
  process.stdout.write(`${JSON.stringify({ health, state: done.state, exitCode: done.exitCode, stdout: done.stdout, stderr: done.stderr })}\n`);
} finally {
  client.close();
}
