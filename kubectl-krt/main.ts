// kubectl-krt's process entry: real stdio, Ctrl-C, exit code. Everything else is in cli.ts.
import { supportsColor } from 'chalk';
import { main } from './cli.ts';
import { ExitCode } from './exit-codes.ts';

const interrupt = new AbortController();
process.on('SIGINT', () => {
  // The first Ctrl-C stops waiting (commands say what goes on in the cluster); a second one quits.
  if (interrupt.signal.aborted) process.exit(ExitCode.Interrupted);
  interrupt.abort();
});
// `kubectl krt logs RUN | head`: a closed pipe ends the command quietly, as with kubectl.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.Ok);
    throw err;
  });
}

// The launcher passes the name it was invoked by (kubectl-krt when kubectl runs us as a plugin).
const argv0 = process.env.KRT_ARGV0 || process.argv[1] || 'kubectl-krt';
// No top-level await: the packaged single executable is a CommonJS bundle, where it is not allowed.
void main(process.argv.slice(2), {
  argv0,
  signal: interrupt.signal,
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    // Created on first use: opening stdin costs a few ms at every start, and only -f - reads it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    colorLevel: supportsColor ? supportsColor.level : 0,
  },
}).then((code) => {
  // Let stdout drain (large logs into a pipe), then leave even if a socket lingers.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
});
